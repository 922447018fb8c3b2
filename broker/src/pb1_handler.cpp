// Session's PB1 dialect: one handler per op (each frame is specified in protocol/PROTOCOL.md).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "paperboy/broker/server.hpp"
#include "paperboy/protocol/channel.hpp"
#include "session.hpp"
#include "traffic.hpp"

namespace paperboy::broker {

using protocol::Errc;

namespace {

constexpr std::string_view server_version = PAPERBOY_VERSION;

}  // namespace

void Session::on_pb1_first_frame(std::string_view body) {
  auto decoded = protocol::decode(body);
  if (!decoded || protocol::op_of(*decoded) != protocol::Op::hello) {
    return fail(Errc::protocol, "the first frame must be HELLO");
  }
  on_hello(std::get<protocol::Hello>(*decoded));
}

void Session::refuse() {
  // The server logged the refusal (a line a second for a flood) and counted it.
  begin_close(Queued::give_back);
  if (speaks_pb1()) {
    outbox_.push(control_frame(
        protocol::Err{0, static_cast<std::uint16_t>(Errc::too_many_connections), refusal_}));
  }
}

void Session::on_pb1_frame(std::string_view body) {
  const std::uint8_t version = pb1_version();
  if (auto pub = protocol::decode_pub(body, version)) return on_pub(*pub);  // the common case
  auto decoded = protocol::decode(body, version);
  if (!decoded) {
    const auto op = static_cast<unsigned>(static_cast<unsigned char>(body.empty() ? 0 : body[0]));
    return fail(Errc::protocol, body.empty() ? std::string("empty frame")
                                             : fmt::format("malformed frame (op 0x{:02x})", op));
  }
  switch (protocol::op_of(*decoded)) {
    case protocol::Op::sub: return on_sub(std::get<protocol::Sub>(*decoded));
    case protocol::Op::unsub: return on_unsub(std::get<protocol::Unsub>(*decoded));
    case protocol::Op::pub: return on_pub(std::get<protocol::Pub>(*decoded));
    case protocol::Op::ack: return on_ack(std::get<protocol::Ack>(*decoded));
    case protocol::Op::nack: return on_nack(std::get<protocol::Nack>(*decoded));
    case protocol::Op::ping: return on_ping(std::get<protocol::Ping>(*decoded));
    case protocol::Op::pong: return;  // to our probe of a parked publisher, or unsolicited
    case protocol::Op::hello: return fail(Errc::protocol, "HELLO was already sent");
    case protocol::Op::welcome:
    case protocol::Op::msg:
    case protocol::Op::ok:
    case protocol::Op::err:
    case protocol::Op::gap:
    case protocol::Op::blocked:
    case protocol::Op::unblocked:
      return fail(Errc::protocol, fmt::format("op 0x{:02x} is sent by the server only",
                                              static_cast<unsigned>(protocol::op_of(*decoded))));
  }
}

void Session::on_hello(const protocol::Hello& hello) {
  // A newer client is answered in the newest version both speak; --max-protocol-version 1 makes
  // the broker answer as version-1 brokers do, which refuse anything else.
  const auto newest = static_cast<std::uint8_t>(config_.max_protocol_version);
  const bool understood = newest == protocol::pb1_version ? hello.version == protocol::pb1_version
                                                          : hello.version >= protocol::pb1_version;
  if (!understood) {
    return fail(Errc::unsupported_version,
                fmt::format("version {} is not supported; this broker speaks versions 1 to {}",
                            hello.version, newest));
  }
  if (refusing()) return refuse();
  client_name_.assign(hello.client_name.substr(0, 64));
  const std::uint8_t version = std::min(hello.version, newest);
  Authenticator* authenticator = server_.authenticator();
  if (!authenticator) return welcome(version);
  // The next frames wait (input_blocked) until the verdict, which may come from the worker.
  hello_version_ = version;
  authenticating_ = true;
  // --tls-map-user: a client certificate verified against --tls-ca names the user; a TLS
  // client without one, and a plain one, authenticate with a token as usual.
  if (config_.tls_map_user) {
    if (const std::string subject = transport_->verified_subject_name(); !subject.empty()) {
      return on_authenticated(authenticator->check_certificate(subject, hello.client_name));
    }
  }
  authenticator->check(hello.client_name, hello.token, peer_address(), transport_->executor(),
                       [weak = weak_from_this()](const Authenticator::Verdict& verdict) {
                         if (auto self = weak.lock()) self->on_authenticated(verdict);
                       });
}

void Session::welcome(std::uint8_t version) {
  spdlog::info("session.hello sid={} dialect=pb1 version={} name={:?}{}", id_, version,
               client_name_, user_ ? fmt::format(" user={:?}", user_->name) : std::string());
  outbox_.push(control_frame(
      protocol::Welcome{version, config_.max_payload, config_.server_id, server_version}, version));
  // From here on every frame to this peer is in the negotiated version.
  outbox_.set_dialect(version == protocol::pb1_version ? Dialect::pb1_v1 : Dialect::pb1_v2);
}

void Session::on_sub(const protocol::Sub& sub) {
  const auto kind = protocol::check_subscription(sub.channel);
  if (!kind) {
    return reply_err(sub.req, Errc::bad_channel,
                     protocol::has_wildcard_segment(sub.channel)
                         ? "bad channel name: wildcards are for /topic (not replies), '>' only last"
                         : "bad channel name");
  }
  if (user_ && !may_subscribe(sub.channel)) {
    return reply_err(sub.req, Errc::not_authorized,
                     sub.channel.starts_with(protocol::reply_prefix)
                         ? "not authorized: the reply inbox belongs to another connection"
                         : "not authorized to subscribe to this channel");
  }
  if (subscriptions_.size() >= config_.max_subscriptions && !subscribed(sub.channel)) {
    return reply_err(sub.req, Errc::not_authorized,
                     fmt::format("subscription limit of {} reached", config_.max_subscriptions));
  }
  if (*kind == protocol::ChannelKind::queue && !router_.queue_allowed(sub.channel)) {
    return reply_err(sub.req, Errc::not_authorized,
                     fmt::format("queue channel limit of {} reached", config_.max_queues));
  }
  // OK first: the backlog a queue SUB is handed must arrive after its confirmation.
  reply_ok(sub.req);
  // The manual-ack flag means nothing on a topic: fan-out has no one to redeliver to.
  subscribe(sub.channel, sub.manual_ack() && *kind == protocol::ChannelKind::queue, sub.prefetch);
}

void Session::on_unsub(const protocol::Unsub& unsub) {
  if (!protocol::check_channel(unsub.channel)) {
    return reply_err(unsub.req, Errc::bad_channel, "bad channel name");
  }
  unsubscribe(unsub.channel);
  reply_ok(unsub.req);
}

void Session::on_pub(const protocol::Pub& pub) {
  // The channel of the last PUB was valid then and is valid now: skip the UTF-8 scan.
  const bool known = gate_.routed_last(pub.channel);
  if (!known && !protocol::check_publish_channel(pub.channel)) {
    return reply_err(pub.req, Errc::bad_channel,
                     protocol::has_wildcard_segment(pub.channel)
                         ? "bad channel name: a message is published to one channel, no wildcards"
                         : "bad channel name");
  }
  if (user_ && !may_publish(pub.channel)) {
    return reply_err(pub.req, Errc::not_authorized, "not authorized to publish to this channel");
  }
  if (!pub.reply_to.empty() && !protocol::check_channel(pub.reply_to)) {
    return reply_err(pub.req, Errc::bad_channel, "bad reply-to channel name");
  }
  // Headers count against the payload limit: together they are what a subscriber must hold.
  if (pub.headers.size() + pub.payload.size() > config_.max_payload) {
    return fail(Errc::frame_too_large,
                fmt::format("payload of {} bytes exceeds the limit of {}",
                            pub.headers.size() + pub.payload.size(), config_.max_payload),
                Ending::in_order, pub.req);
  }
  const Acceptance& taken = accepted();
  publish(Publication(pub.channel, pub.reply_to, pub.payload, taken.unix_ns,
                      taken.expiry(pub.ttl_ms), pub.headers),
          pub.req, pub.require_subscriber());
}

void Session::on_ack(const protocol::Ack& ack) {
  auto [unacked, consumer] = settle(ack.delivery, "ACK");
  if (unacked) router_.store().settled(unacked->stored);
  if (consumer) consumer->channel().pump();  // its credit is back
}

void Session::on_nack(const protocol::Nack& nack) {
  auto [unacked, consumer] = settle(nack.delivery, "NACK");
  if (!consumer) return;
  // Back to the head, for someone else if anyone else has credit; a failed delivery counts.
  std::vector<QueuedMessage> back;
  back.push_back({std::move(unacked->message), unacked->failures + 1, unacked->consumer, false,
                  unacked->expires, unacked->stored});
  consumer->channel().give_back(std::move(back));
}

Session::Settled Session::settle(std::uint64_t delivery, std::string_view op) {
  const bool was_at_bound = at_unacked_bound();
  auto unacked = ledger_.take(delivery);
  if (!unacked) {
    reply_err(0, Errc::unknown_delivery,
              fmt::format("{} of delivery {}: not an outstanding delivery of this connection", op,
                          delivery));
    return {};
  }
  // An outstanding delivery's consumer is still subscribed: leaving takes its deliveries along.
  QueueConsumer* consumer = router_.find(unacked->consumer);
  if (consumer) consumer->settled();
  // Every manual-ack subscription of this connection waited on the bound, not just this one.
  if (was_at_bound && !at_unacked_bound()) on_room();
  return {std::move(unacked), consumer};
}

bool Session::at_unacked_bound() const noexcept {
  return ledger_.bytes() >= config_.max_unacked_bytes;
}

void Session::on_ping(const protocol::Ping& ping) {
  outbox_.push(control_frame(protocol::Pong{ping.token}));
}

void Session::reply_err(std::uint32_t req, Errc code, std::string_view text) {
  server_.traffic().count_refusal(static_cast<std::uint16_t>(code));
  refusal_log_("session.refused sid={} req={} code={} reason={:?}", id_, req,
               static_cast<unsigned>(code), text);
  outbox_.push(control_frame(protocol::Err{req, static_cast<std::uint16_t>(code), text}));
}

}  // namespace paperboy::broker
