// Session's users and permissions (with --users): the verdict on HELLO, the checks of SUB and
// PUB, and a reload of the users file. Without users none of this runs.
#include <spdlog/spdlog.h>

#include <asio/error.hpp>

#include "paperboy/broker/server.hpp"
#include "paperboy/protocol/channel.hpp"
#include "reply_owners.hpp"
#include "session.hpp"

namespace paperboy::broker {

using protocol::Errc;
using Kind = Authenticator::Verdict::Kind;

void Session::on_authenticated(const Authenticator::Verdict& verdict) {
  if (state_ >= State::finishing) return;  // closed while its token was being checked
  if (verdict.kind == Kind::accepted) {
    user_ = verdict.user;
    authenticating_ = false;
    outbox_.remember_reply_tos(&reply_tos_);
    welcome(hello_version_);
    return unblock_input();
  }
  // The same answer whatever went wrong, so a guesser learns nothing from it. Failures are
  // logged each (the failure budget bounds them per address); refusals past it at most a second.
  if (verdict.kind == Kind::refused) {
    server_.auth_refusal_log()("auth.refused sid={} peer={} name={:?} reason={:?} hashes={}", id_,
                               peer_, client_name_, verdict.reason,
                               server_.authenticator()->hashes());
    return fail(Errc::auth_failed, "authentication failed");
  }
  spdlog::warn("auth.failed sid={} peer={} name={:?} reason={:?} hashed={} hashes={}", id_, peer_,
               client_name_, verdict.reason, verdict.hashed, server_.authenticator()->hashes());
  auth_delay_.expires_after(config_.auth_failure_delay);
  auth_delay_.async_wait([weak = weak_from_this()](std::error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    if (auto self = weak.lock()) self->fail(Errc::auth_failed, "authentication failed");
  });
}

bool Session::may_subscribe(std::string_view channel) const {
  // A reply inbox is nobody's to list in the file: it is its first subscriber's.
  if (channel.starts_with(protocol::reply_prefix)) {
    return server_.reply_owners().may_take(ReplyOwners::inbox_of(channel), id_);
  }
  return user_->subscribe.permits(channel);
}

bool Session::may_publish(std::string_view channel) {
  if (channel == last_permitted_pub_) return true;
  // An answer to a request this connection was handed is allowed (nats' allow_responses).
  const bool permitted =
      user_->publish.permits(channel) ||
      (channel.starts_with(protocol::reply_prefix) && reply_tos_.contains(channel));
  if (permitted) last_permitted_pub_.assign(channel);
  return permitted;
}

std::string Session::peer_address() const {
  // "1.2.3.4:5678" or "[::1]:5678": the part before the port, without brackets.
  std::string_view address = peer_;
  if (const auto colon = address.rfind(':'); colon != std::string_view::npos) {
    address = address.substr(0, colon);
  }
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  return std::string(address);
}

void Session::on_users_reloaded() {
  if (!user_ || state_ >= State::finishing) return;
  std::shared_ptr<const User> next = server_.authenticator()->users().find(user_->name);
  if (!next || next->token_hash != user_->token_hash) {
    return fail(Errc::auth_failed, "the user was removed or its token changed",
                speaks_pb1() ? Ending::in_order : Ending::at_once);
  }
  user_ = std::move(next);
  last_permitted_pub_.clear();
  std::vector<std::string> revoked;
  for (const auto& [channel, consumer] : subscriptions_) {
    if (!channel.starts_with(protocol::reply_prefix) && !user_->subscribe.permits(channel)) {
      revoked.push_back(channel);
    }
  }
  if (revoked.empty()) return;
  if (!speaks_pb1()) {
    return fail(Errc::not_authorized, "its subscription is no longer permitted", Ending::at_once);
  }
  for (const std::string& channel : revoked) {
    spdlog::info("session.subscription_revoked sid={} user={:?} channel={:?}", id_, user_->name,
                 channel);
    unsubscribe(channel);
    reply_err(0, Errc::not_authorized,
              fmt::format("subscription to {} revoked: no longer permitted", channel));
  }
}

}  // namespace paperboy::broker
