// Session's PB0 dialect, the prototype's: the first frame names the one channel it subscribes
// to; after it come frame(channel) frame(data) pairs, each a publish, and an empty channel frame
// ends the session. PB0 has no way to say no: bad input ends the connection at once.
#include <spdlog/spdlog.h>

#include "paperboy/broker/server.hpp"
#include "paperboy/protocol/channel.hpp"
#include "session.hpp"

namespace paperboy::broker {

using protocol::Errc;

void Session::on_pb0_first_frame(std::string_view channel) {
  if (refusing()) return stop("refused: " + refusal_);  // PB0 has no ERR
  if (Authenticator* authenticator = server_.authenticator()) {
    // PB0 has no HELLO to authenticate with: it gets --pb0-user's permissions, or nothing.
    user_ = config_.pb0_user.empty() ? nullptr : authenticator->users().find(config_.pb0_user);
    if (!user_) {
      return fail(Errc::auth_failed,
                  config_.pb0_user.empty()
                      ? "PB0 cannot authenticate and users are configured (see --pb0-user)"
                      : "the --pb0-user is not in the users file",
                  Ending::at_once);
    }
  }
  if (!protocol::valid_pb0_channel(channel)) {
    return fail(Errc::bad_channel,
                fmt::format("bad subscription channel of {} bytes", channel.size()),
                Ending::at_once);
  }
  // A wildcard segment makes a /topic pattern, as in PB1; anywhere else it is refused.
  if (protocol::has_wildcard_segment(channel) &&
      (!protocol::is_pattern(channel) || channel.starts_with(protocol::reply_prefix))) {
    return fail(Errc::bad_channel, "bad subscription channel: wildcards are for /topic",
                Ending::at_once);
  }
  if (protocol::channel_kind(channel) == protocol::ChannelKind::queue &&
      !router_.queue_allowed(channel)) {
    return fail(Errc::not_authorized, "queue channel limit reached", Ending::at_once);
  }
  if (user_ && !may_subscribe(channel)) {
    return fail(Errc::not_authorized, "not authorized to subscribe to this channel",
                Ending::at_once);
  }
  spdlog::info("session.hello sid={} dialect=pb0 channel={:?}{}", id_, channel,
               user_ ? fmt::format(" user={:?}", user_->name) : std::string());
  subscribe(channel);
}

void Session::on_pb0_frame(std::string_view body) {
  if (!pb0_data_due_) {
    if (body.empty()) return peer_finished();  // the prototype's way to say goodbye
    if (!protocol::valid_pb0_channel(body)) {
      return fail(Errc::bad_channel, fmt::format("bad channel of {} bytes", body.size()),
                  Ending::at_once);
    }
    if (protocol::has_wildcard_segment(body)) {
      return fail(Errc::bad_channel, "a message is published to one channel, no wildcards",
                  Ending::at_once);
    }
    if (user_ && !may_publish(body)) {
      return fail(Errc::not_authorized, "not authorized to publish to this channel",
                  Ending::at_once);
    }
    pb0_channel_.assign(body);
    pb0_data_due_ = true;
    return;
  }
  pb0_data_due_ = false;
  if (body.size() > config_.max_payload) {
    return fail(Errc::frame_too_large,
                fmt::format("payload of {} bytes exceeds the limit of {}", body.size(),
                            config_.max_payload),
                Ending::at_once);
  }
  publish(Publication(pb0_channel_, {}, body, accepted().unix_ns), 0);
}

}  // namespace paperboy::broker
