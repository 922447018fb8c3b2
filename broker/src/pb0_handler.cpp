// Session's PB0 dialect, the prototype's: the first frame names the one channel it subscribes
// to; after it come frame(channel) frame(data) pairs, each a publish, and an empty channel frame
// ends the session. PB0 has no way to say no: bad input ends the connection at once.
#include <spdlog/spdlog.h>

#include "paperboy/protocol/channel.hpp"
#include "session.hpp"

namespace paperboy::broker {

using protocol::Errc;

void Session::on_pb0_first_frame(std::string_view channel) {
  if (refusing()) return stop("refused: " + refusal_);  // PB0 has no ERR
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
  spdlog::info("session.hello sid={} dialect=pb0 channel={:?}", id_, channel);
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
