#include "paperboy/client/client.hpp"

#include <algorithm>
#include <limits>
#include <random>
#include <utility>

#include "connection.hpp"
#include "errors.hpp"
#include "paperboy/protocol/errc.hpp"
#include "paperboy/protocol/headers.hpp"
#include "paperboy/protocol/messages.hpp"
#include "request_table.hpp"

namespace paperboy::client {
namespace {

using Clock = std::chrono::steady_clock;
using protocol::Op;

// How long a lost connection is read for the ERR that explains it.
constexpr auto explain_timeout = std::chrono::milliseconds(200);

constexpr std::size_t max_field_size = std::numeric_limits<std::uint16_t>::max();

// Every connection's private reply channel lives under this prefix; the broker routes a PUB to
// /topic/_reply/<id>/<anything> to the subscribers of /topic/_reply/<id>.
constexpr std::string_view reply_prefix = "/topic/_reply/";

// 128 bits from std::random_device, in hex. Whoever knows a connection's reply channel can
// subscribe to it and read its replies, so it must not be guessable from anything public
// (a counter, the time, the process id).
std::string random_reply_id() {
  constexpr char hex_digits[] = "0123456789abcdef";
  std::random_device device;
  std::string id;
  for (int word = 0; word < 4; ++word) {
    const auto bits = static_cast<std::uint32_t>(device());
    for (int shift = 28; shift >= 0; shift -= 4) id += hex_digits[(bits >> shift) & 0xFU];
  }
  return id;
}

Error request_not_in_flight(RequestToken token) {
  return Error(make_error_code(std::errc::invalid_argument),
               "request " + std::to_string(token.correlation) +
                   " is not in flight (its reply was taken, it was refused or cancelled, or it "
                   "was sent before the last connect())",
               false);
}

Clock::time_point deadline_after(Timeout timeout) {
  const auto now = Clock::now();
  if (timeout <= Timeout::zero()) return now;
  const auto room = std::chrono::duration_cast<Timeout>(Clock::time_point::max() - now);
  return timeout >= room ? Clock::time_point::max() : now + timeout;
}

// u16-prefixed fields that do not fit would corrupt the stream; refuse them before encoding.
void check_field(std::string_view value, std::string_view name, protocol::Errc code) {
  if (value.size() > max_field_size) {
    throw Error(protocol::make_error_code(code),
                std::string(name) + " of " + std::to_string(value.size()) +
                    " bytes is longer than the protocol allows (65535)",
                false);
  }
}

}  // namespace

Client::Client() : requests_(std::make_unique<RequestTable>()) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

void Client::connect(std::string_view host, std::uint16_t port, const ConnectOptions& options) {
  lose_connection();
  connection_.reset();
  pending_.clear();
  server_id_.clear();
  server_version_.clear();
  max_payload_ = 0;
  version_ = 0;
  awaited_req_ = 0;
  last_pong_.reset();
  blocked_on_.clear();
  reply_inbox_.clear();
  // A moved-from client gets a fresh table.
  if (requests_) {
    requests_->clear();
  } else {
    requests_ = std::make_unique<RequestTable>();
  }
  write_timeout_ = options.write_timeout;
  flow_control_handler_ = options.on_flow_control;
  check_field(options.client_name, "client name", protocol::Errc::protocol);
  check_field(options.token, "token", protocol::Errc::protocol);
  if (options.protocol_version < protocol::pb1_version ||
      options.protocol_version > newest_protocol_version) {
    throw Error(make_error_code(std::errc::invalid_argument),
                "PB1 version " + std::to_string(options.protocol_version) +
                    " is not one this client speaks (1 to " +
                    std::to_string(newest_protocol_version) + ")",
                true);
  }

  const auto deadline = deadline_after(options.connect_timeout);
  try {
    connection_ = handshake(host, port, options, options.protocol_version, deadline);
  } catch (const Error& error) {
    // A version-1 broker refuses any other version with ERR 9 and closes: ask again, once, in
    // the version it speaks.
    if (error.code() != protocol::Errc::unsupported_version ||
        options.protocol_version == protocol::pb1_version) {
      throw;
    }
    connection_ = handshake(host, port, options, protocol::pb1_version, deadline);
  }
}

std::unique_ptr<Connection> Client::handshake(std::string_view host, std::uint16_t port,
                                              const ConnectOptions& options, std::uint8_t version,
                                              Clock::time_point deadline) {
  const std::string peer = std::string(host) + ":" + std::to_string(port);
  auto connection = std::make_unique<Connection>();
  connection->connect(host, port, deadline);
  connection->append(protocol::Hello{version, options.client_name, options.token});
  // Nothing to read yet: the broker answers only once it has the whole HELLO.
  while (connection->flush(deadline)) {
  }

  // Until WELCOME nothing else may arrive; an ERR here (auth failed, too many connections,
  // unsupported version, shutting down) means we were not let in, whatever its code.
  std::optional<std::string_view> frame;
  try {
    while (!(frame = connection->read_frame(deadline))) {
      if (Clock::now() >= deadline) throw timeout_error("waiting for WELCOME from " + peer);
    }
  } catch (const Error& error) {
    // Something that is not a PB1 broker (an HTTP server, a PB0-only peer) says so with bytes
    // that parse as an absurd frame length.
    if (error.code() != protocol::Errc::frame_too_large) throw;
    throw protocol_error(peer + " did not answer HELLO with a PB1 frame (not a paperboyd?)");
  }
  const auto decoded = protocol::decode(*frame);
  if (!decoded) throw protocol_error("malformed frame from " + peer + " instead of WELCOME");
  if (const auto* err = std::get_if<protocol::Err>(&*decoded)) {
    const Error refused = server_error(*err);
    throw Error(refused.code(), refused.what(), true, err->req, refused.server_text());
  }
  const auto* welcome = std::get_if<protocol::Welcome>(&*decoded);
  if (welcome == nullptr) {
    throw protocol_error(std::string(protocol::op_name(protocol::op_of(*decoded))) + " from " +
                         peer + " instead of WELCOME");
  }
  // The broker answers in the newest version both speak, never a newer one than we asked for.
  if (welcome->version < protocol::pb1_version || welcome->version > version) {
    throw Error(protocol::make_error_code(protocol::Errc::unsupported_version),
                peer + " answered in PB1 version " + std::to_string(welcome->version) +
                    " to a HELLO in version " + std::to_string(version),
                true);
  }
  version_ = welcome->version;
  max_payload_ = welcome->max_payload;
  server_id_ = std::string(welcome->server_id);
  server_version_ = std::string(welcome->server_version);
  connection->set_version(version_);
  connection->set_max_payload(max_payload_);
  return connection;
}

bool Client::connected() const noexcept {
  return connection_ != nullptr && connection_->is_open();
}

void Client::subscribe(std::string_view channel, const SubscribeOptions& options, Timeout timeout) {
  auto& c = connection();
  check_field(channel, "channel name", protocol::Errc::bad_channel);
  const auto req = next_req();
  const std::uint8_t flags = options.manual_ack ? protocol::sub_flag_manual_ack : 0;
  c.append(protocol::Sub{req, flags, options.prefetch, channel});
  await_ok(req, deadline_after(timeout), "for the answer to SUB " + std::string(channel));
}

void Client::unsubscribe(std::string_view channel, Timeout timeout) {
  auto& c = connection();
  check_field(channel, "channel name", protocol::Errc::bad_channel);
  const auto req = next_req();
  c.append(protocol::Unsub{req, channel});
  await_ok(req, deadline_after(timeout), "for the answer to UNSUB " + std::string(channel));
}

void Client::publish(std::string_view channel, std::string_view payload,
                     std::string_view reply_to) {
  PublishOptions options;
  options.reply_to = reply_to;
  publish(channel, payload, options);
}

void Client::publish(std::string_view channel, std::string_view payload,
                     const PublishOptions& options) {
  append_pub(0, channel, payload, options);
  maybe_flush();
}

void Client::publish_confirmed(std::string_view channel, std::string_view payload,
                               std::string_view reply_to, Timeout timeout) {
  PublishOptions options;
  options.reply_to = reply_to;
  publish_confirmed(channel, payload, options, timeout);
}

void Client::publish_confirmed(std::string_view channel, std::string_view payload,
                               const PublishOptions& options, Timeout timeout) {
  const auto req = next_req();
  append_pub(req, channel, payload, options);
  await_ok(req, deadline_after(timeout), "for the confirmation of PUB " + std::string(channel));
}

void Client::flush(Timeout timeout) {
  connection();
  write_all(deadline_after(timeout));
}

std::optional<Event> Client::next(Timeout timeout) {
  // Deliveries that arrived before the connection was lost are still handed out.
  if (!pending_.empty()) return take_pending();
  connection();
  const auto deadline = deadline_after(timeout);
  for (;;) {
    const auto frame = read_frame(deadline);
    if (!frame) return std::nullopt;
    on_frame(*frame);
    if (!pending_.empty()) return take_pending();
  }
}

void Client::ack(std::uint64_t delivery) {
  if (delivery == 0) return;
  connection().append(protocol::Ack{delivery});
  maybe_flush();
}

void Client::nack(std::uint64_t delivery) {
  if (delivery == 0) return;
  connection().append(protocol::Nack{delivery});
  maybe_flush();
}

RequestToken Client::send_request(std::string_view channel, std::string_view payload,
                                  Timeout timeout) {
  return send_request_until(channel, payload, deadline_after(timeout));
}

RequestToken Client::send_request_until(std::string_view channel, std::string_view payload,
                                        Clock::time_point deadline) {
  connection();
  PublishOptions options;
  if (version_ >= protocol::pb1_version_2) {
    // Nobody to answer: refused at once. Nobody waiting for the answer any more: discarded by
    // the broker instead of handed to a worker later.
    options.require_subscriber = true;
    options.ttl = std::max(Timeout(1), std::chrono::ceil<Timeout>(deadline - Clock::now()));
  }
  if (reply_inbox_.empty()) {
    // Subscribed once per connection, and only set once the broker confirmed it: a SUB that
    // timed out is tried again, under a new id, by the next request.
    std::string inbox = std::string(reply_prefix) + random_reply_id();
    subscribe(inbox, {}, std::chrono::ceil<Timeout>(deadline - Clock::now()));
    reply_inbox_ = std::move(inbox);
  }
  // With a request id, so a refusal (ERR 3 for a bad channel, ERR 11 for no subscriber) names
  // the request it fails instead of leaving it to time out; nobody waits for the OK.
  const auto req = next_req();
  const RequestToken token = requests_->add(req);
  const std::string reply_to = reply_inbox_ + '/' + std::to_string(token.correlation);
  options.reply_to = reply_to;
  try {
    append_pub(req, channel, payload, options);
  } catch (...) {
    requests_->cancel(token);  // never sent: nothing may be left in flight
    throw;
  }
  maybe_flush();
  return token;
}

std::optional<Message> Client::wait_reply(RequestToken token, Timeout timeout) {
  return await_reply(token, deadline_after(timeout), true);
}

void Client::cancel_request(RequestToken token) noexcept {
  if (requests_) requests_->cancel(token);
}

std::size_t Client::requests_in_flight() const noexcept {
  return requests_ ? requests_->size() : 0;
}

Message Client::request(std::string_view channel, std::string_view payload, Timeout timeout) {
  const auto deadline = deadline_after(timeout);
  const auto token = send_request_until(channel, payload, deadline);
  std::optional<Message> reply;
  try {
    reply = await_reply(token, deadline, false);
  } catch (const Error& error) {
    if (!error.no_responders()) throw;
    throw Error(error.code(), "no responders on " + printable(channel), false, error.req(),
                error.server_text());
  }
  if (!reply) {
    cancel_request(token);
    throw timeout_error("waiting for a reply to the request on " + printable(channel));
  }
  return std::move(*reply);
}

void Client::reply(const Message& request, std::string_view payload) {
  if (request.reply_to.empty()) {
    throw Error(
        make_error_code(std::errc::invalid_argument),
        "cannot reply to the message on " + printable(request.channel) + ": it has no reply_to",
        false);
  }
  publish(request.reply_to, payload);
}

std::chrono::microseconds Client::ping(Timeout timeout) {
  const auto start = Clock::now();
  round_trip(deadline_after(timeout));
  const auto round_trip =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  throw_first_refusal();
  return round_trip;
}

void Client::sync(Timeout timeout) {
  const auto deadline = deadline_after(timeout);
  round_trip(deadline);
  // The broker answers the PING while earlier PUBs wait parked on a full queue; it says so with
  // BLOCKED, and UNBLOCKED comes once they were all taken (after their OKs).
  while (!blocked_on_.empty()) {
    receive(deadline, "for the broker to take the messages held back by the full queue " +
                          printable(blocked_on_.front()));
  }
  throw_first_refusal();
}

void Client::round_trip(Clock::time_point deadline) {
  auto& c = connection();
  const auto token = ++last_ping_token_;
  c.append(protocol::Ping{token});
  while (last_pong_ != token) receive(deadline, "for PONG");
}

void Client::throw_first_refusal() {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (const auto* refusal = std::get_if<Refusal>(&*it)) {
      const Error error = server_error(protocol::Err{refusal->req, refusal->code, refusal->text});
      pending_.erase(it);
      throw error;
    }
  }
}

void Client::close(Timeout timeout) {
  if (!connected()) return;
  try {
    write_all(deadline_after(timeout));
  } catch (...) {
    lose_connection();
    throw;
  }
  lose_connection();
}

Connection& Client::connection() {
  if (!connected()) throw not_connected_error();
  return *connection_;
}

std::uint32_t Client::next_req() noexcept {
  if (++last_req_ == 0) last_req_ = 1;  // 0 means "no answer wanted"
  return last_req_;
}

std::optional<Event> Client::take_pending() {
  Pending item = std::move(pending_.front());
  pending_.pop_front();
  if (const auto* refusal = std::get_if<Refusal>(&item)) {
    throw server_error(protocol::Err{refusal->req, refusal->code, refusal->text});
  }
  return std::get<Event>(std::move(item));
}

void Client::await_ok(std::uint32_t req, Clock::time_point deadline, std::string_view what) {
  awaited_req_ = req;
  awaited_ok_ = false;
  try {
    while (!awaited_ok_) receive(deadline, what);
  } catch (...) {
    awaited_req_ = 0;
    throw;
  }
  awaited_req_ = 0;
}

std::optional<Message> Client::await_reply(RequestToken token, Clock::time_point deadline,
                                           bool stop_on_signal) {
  for (;;) {
    if (!requests_->contains(token)) throw request_not_in_flight(token);
    if (auto outcome = requests_->take_outcome(token)) {
      if (auto* reply = std::get_if<Message>(&*outcome)) return std::move(*reply);
      throw std::get<Error>(*outcome);
    }
    connection();
    const auto frame = read_frame(deadline);
    if (frame) {
      on_frame(*frame);
    } else if (stop_on_signal || Clock::now() >= deadline) {
      return std::nullopt;
    }
  }
}

bool Client::take_reply(Message& message) {
  if (reply_inbox_.empty() || !message.channel.starts_with(reply_inbox_)) return false;
  std::string_view suffix = std::string_view(message.channel).substr(reply_inbox_.size());
  if (!suffix.empty() && suffix.front() != '/') return false;  // another channel, same prefix
  // On our reply channel: a reply to a request in flight, or one to discard (its request was
  // answered or cancelled, or the suffix is not one of our correlations).
  if (!suffix.empty()) requests_->answer(suffix.substr(1), std::move(message));
  return true;
}

void Client::receive(Clock::time_point deadline, std::string_view what) {
  const auto frame = read_frame(deadline);
  if (frame) {
    on_frame(*frame);
  } else if (Clock::now() >= deadline) {
    throw timeout_error("waiting " + std::string(what));
  }
}

std::optional<std::string_view> Client::read_frame(Clock::time_point deadline) {
  try {
    return connection_->read_frame(deadline);
  } catch (const Error& error) {
    on_connection_error(error);
    throw;
  }
}

void Client::write_all(Clock::time_point deadline) {
  for (;;) {
    std::optional<std::string_view> frame;
    try {
      frame = connection_->flush(deadline);
    } catch (const Error& error) {
      on_connection_error(error);
      throw;
    }
    if (!frame) return;
    on_frame(*frame);
  }
}

void Client::on_connection_error(const Error& error) {
  if (!error.connection_lost() || !connected()) return;
  // A read or write fails when the server has closed the connection, usually right after an ERR
  // that says why (slow consumer, shutting down, frame too large): that ERR is the better report,
  // so read what already arrived. on_frame throws it; anything else keeps the original error.
  if (error.code().category() != protocol::error_category()) {
    const auto deadline = Clock::now() + explain_timeout;
    try {
      while (Clock::now() < deadline) {
        const auto frame = connection_->read_frame(deadline);
        if (!frame) break;
        on_frame(*frame);
      }
    } catch (const Error& explanation) {
      if (explanation.code().category() == protocol::error_category()) {
        lose_connection();
        throw;
      }
    }
  }
  lose_connection();
}

void Client::on_frame(std::string_view body) {
  const auto decoded = protocol::decode(body, version_);
  if (!decoded) {
    lose_connection();
    throw protocol_error("malformed frame from the server");
  }
  const auto& message = *decoded;
  switch (protocol::op_of(message)) {
    case Op::msg: {
      const auto& msg = std::get<protocol::Msg>(message);
      Message delivered;
      delivered.channel = msg.channel;
      delivered.reply_to = msg.reply_to;
      delivered.payload = msg.payload;
      delivered.delivery = msg.delivery;
      delivered.redelivered = msg.redelivered();
      delivered.published_at = msg.published_at;
      for (const auto& header : protocol::HeaderBlock(msg.headers)) {
        delivered.headers.push_back({std::string(header.key), std::string(header.value)});
      }
      if (!take_reply(delivered)) pending_.emplace_back(Event{std::move(delivered)});
      return;
    }
    case Op::gap: {
      const auto& gap = std::get<protocol::Gap>(message);
      pending_.emplace_back(Event{Gap{std::string(gap.channel), gap.dropped}});
      return;
    }
    case Op::ok:
      // An OK for another id answers a call that already timed out: nobody waits for it.
      if (awaited_req_ != 0 && std::get<protocol::Ok>(message).req == awaited_req_) {
        awaited_ok_ = true;
      }
      return;
    case Op::err: {
      const auto& err = std::get<protocol::Err>(message);
      Error error = server_error(err);
      if (error.connection_lost()) {
        lose_connection();
        throw error;
      }
      if (err.req != 0 && err.req == awaited_req_) throw error;
      if (err.req != 0 && requests_->fail(err.req, error)) return;
      pending_.emplace_back(Refusal{err.req, err.code, std::string(err.text)});
      return;
    }
    case Op::ping:
      connection_->append(protocol::Pong{std::get<protocol::Ping>(message).token});
      return;
    case Op::pong: last_pong_ = std::get<protocol::Pong>(message).token; return;
    case Op::blocked: {
      std::string channel(std::get<protocol::Blocked>(message).channel);
      if (std::find(blocked_on_.begin(), blocked_on_.end(), channel) == blocked_on_.end()) {
        blocked_on_.push_back(channel);
      }
      notify_flow(Blocked{std::move(channel)});
      return;
    }
    case Op::unblocked: {
      std::string channel(std::get<protocol::Unblocked>(message).channel);
      std::erase(blocked_on_, channel);
      notify_flow(Unblocked{std::move(channel)});
      return;
    }
    case Op::hello:
    case Op::welcome:
    case Op::sub:
    case Op::unsub:
    case Op::pub:
    case Op::ack:
    case Op::nack: break;
  }
  lose_connection();
  throw protocol_error("unexpected " + std::string(protocol::op_name(protocol::op_of(message))) +
                       " from the server");
}

void Client::notify_flow(Event event) {
  if (flow_control_handler_) {
    flow_control_handler_(event);
  } else {
    pending_.emplace_back(std::move(event));
  }
}

void Client::maybe_flush() {
  if (connection_->unsent() >= publish_buffer_bytes) write_all(deadline_after(write_timeout_));
}

void Client::append_pub(std::uint32_t req, std::string_view channel, std::string_view payload,
                        const PublishOptions& options) {
  auto& c = connection();
  check_field(channel, "channel name", protocol::Errc::bad_channel);
  check_field(options.reply_to, "reply-to channel name", protocol::Errc::bad_channel);
  const bool needs_v2 =
      !options.headers.empty() || options.ttl > Timeout::zero() || options.require_subscriber;
  if (needs_v2 && version_ < protocol::pb1_version_2) {
    throw Error(protocol::make_error_code(protocol::Errc::unsupported_version),
                "not published to " + printable(channel) +
                    ": the broker speaks PB1 version 1, which has no headers, TTL or "
                    "require-a-subscriber",
                false);
  }
  protocol::HeaderBuilder headers;
  for (const auto& header : options.headers) {
    if (!headers.add(header.key, header.value)) {
      throw Error(make_error_code(std::errc::invalid_argument),
                  protocol::valid_header_key(header.key)
                      ? "headers of more than 65535 bytes (at header " + printable(header.key) + ")"
                      : "bad header key \"" + printable(header.key) +
                            "\": 1 to 255 bytes of printable ASCII without space or ':'",
                  false);
    }
  }
  // The broker would answer a larger message with ERR 2 and close the connection.
  const auto size = payload.size() + headers.bytes().size();
  if (size > max_payload_) {
    throw Error(protocol::make_error_code(protocol::Errc::frame_too_large),
                (headers.bytes().empty() ? "payload of " : "payload and headers of ") +
                    std::to_string(size) + " bytes exceed the server's max_payload of " +
                    std::to_string(max_payload_),
                false);
  }
  constexpr auto max_ttl = Timeout(std::numeric_limits<std::uint32_t>::max());
  const auto ttl = std::clamp(options.ttl, Timeout::zero(), max_ttl);
  const std::uint8_t flags = options.require_subscriber ? protocol::pub_flag_require_subscriber : 0;
  c.append(protocol::Pub{req, channel, options.reply_to, payload, flags,
                         static_cast<std::uint32_t>(ttl.count()), headers.bytes()});
}

void Client::lose_connection() noexcept {
  if (connection_) connection_->close();
}

}  // namespace paperboy::client
