#include "conn.hpp"

namespace paperboy::itest {

namespace p = protocol;

bool names_number(std::string_view text, std::uint64_t number) {
  const std::string digits = std::to_string(number);
  const auto is_digit = [](char ch) { return ch >= '0' && ch <= '9'; };
  for (auto at = text.find(digits); at != std::string_view::npos; at = text.find(digits, at + 1)) {
    const bool starts = at == 0 || !is_digit(text[at - 1]);
    const bool ends = at + digits.size() == text.size() || !is_digit(text[at + digits.size()]);
    if (starts && ends) return true;
  }
  return false;
}

namespace {

// The daemon PINGs a publisher it has stopped reading, to learn whether its peer is still there
// (a closed socket answers with a reset). A real client answers PONG, which the daemon ignores;
// a test looks past them.
bool is_probe(std::string_view body) {
  return !body.empty() &&
         static_cast<std::uint8_t>(body[0]) == static_cast<std::uint8_t>(p::Op::ping);
}

}  // namespace

Conn::Conn(std::uint16_t port, std::string name, SocketOptions options)
    : stream_(port, std::move(name), &describe_pb1_frame, options, &is_probe) {}

void Conn::send_raw(std::string_view bytes, Duration timeout) {
  stream_.send_raw(bytes, timeout);
}

void Conn::send_frame(std::string_view body, Duration timeout) {
  stream_.send_frame(body, timeout);
}

void Conn::send(const p::Message& message) {
  send_raw(p::encode_frame(message, version_));
}

void Conn::send_hello(std::string_view client_name, std::uint8_t version, std::string_view token) {
  send(p::Hello{version, client_name, token});
}

void Conn::sub(std::string_view channel, std::uint32_t req, std::uint8_t flags,
               std::uint16_t prefetch) {
  send(p::Sub{req, flags, prefetch, channel});
}

void Conn::unsub(std::string_view channel, std::uint32_t req) {
  send(p::Unsub{req, channel});
}

void Conn::pub(std::string_view channel, std::string_view payload, std::uint32_t req,
               std::string_view reply_to) {
  send(p::Pub{req, channel, reply_to, payload});
}

void Conn::ping(std::uint64_t token) {
  send(p::Ping{token});
}
void Conn::ack(std::uint64_t delivery) {
  send(p::Ack{delivery});
}
void Conn::nack(std::uint64_t delivery) {
  send(p::Nack{delivery});
}

Decoded<p::Welcome> Conn::hello(std::string_view client_name, std::uint8_t version) {
  send_hello(client_name, version);
  return expect<p::Welcome>();
}

void Conn::subscribe(std::string_view channel, std::uint8_t flags, std::uint16_t prefetch) {
  const auto req = next_req();
  sub(channel, req, flags, prefetch);
  expect_ok(req);
}

void Conn::unsubscribe(std::string_view channel) {
  const auto req = next_req();
  unsub(channel, req);
  expect_ok(req);
}

void Conn::publish(std::string_view channel, std::string_view payload, std::string_view reply_to) {
  const auto req = next_req();
  pub(channel, payload, req, reply_to);
  expect_ok(req);
}

void Conn::ping_pong() {
  const std::uint64_t token = 0x7e570000'00000000ULL + ++last_ping_;
  ping(token);
  const auto pong = expect<p::Pong>();
  if (pong->token != token) {
    FAIL(name() << ": PONG echoed token " << pong->token << ", sent " << token);
  }
}

Decoded<p::Message> Conn::decode_owned(std::string body) {
  auto owned = std::make_unique<const std::string>(std::move(body));
  auto decoded = p::decode(*owned, version_);
  if (!decoded) FAIL(name() << ": received an " << describe_pb1_frame(*owned, version_));
  p::Message message = *decoded;
  if (const auto* welcome = std::get_if<p::Welcome>(&message)) {
    version_ = welcome->version;
    const FrameStream::Describer v1 = &describe_pb1_frame;
    stream_.set_describer(version_ >= p::pb1_version_2 ? &describe_pb1_v2_frame : v1);
  }
  return Decoded<p::Message>(std::move(owned), message);
}

Decoded<p::Message> Conn::expect_message(Duration timeout) {
  return decode_owned(stream_.expect_frame("a PB1 frame", timeout));
}

std::optional<Decoded<p::Message>> Conn::poll_message(Duration timeout) {
  auto body = stream_.next_frame(timeout);
  if (!body) {
    if (stream_.closed()) FAIL(name() << ": the daemon closed the connection");
    return std::nullopt;
  }
  return decode_owned(std::move(*body));
}

void Conn::expect_blocked(std::string_view channel, Duration timeout) {
  const auto blocked = expect<p::Blocked>(timeout);
  if (blocked->channel != channel) {
    FAIL(name() << ": expected BLOCKED(" << printable(channel) << "), got " << describe(*blocked));
  }
}

void Conn::expect_ok(std::uint32_t req, Duration timeout) {
  const auto ok = expect<p::Ok>(timeout);
  if (ok->req != req) FAIL(name() << ": expected OK(req=" << req << "), got " << describe(*ok));
}

Decoded<p::Err> Conn::expect_err(std::uint32_t req, std::uint16_t code, Duration timeout) {
  auto frame = expect_message(timeout);
  const auto* err = std::get_if<p::Err>(&*frame);
  if (err == nullptr || err->req != req || err->code != code) {
    FAIL(name() << ": expected ERR(req=" << req << " code=" << code << ' ' << p::errc_name(code)
                << "), got " << describe(*frame));
  }
  return std::move(frame).take<p::Err>();
}

void Conn::expect_err_and_close(std::uint32_t req, std::uint16_t code, Duration timeout) {
  expect_err(req, code, timeout);
  expect_closed(timeout);
}

Decoded<p::Err> Conn::expect_delivery_err(std::uint64_t delivery, Duration timeout) {
  auto err = expect_err(0, static_cast<std::uint16_t>(p::Errc::unknown_delivery), timeout);
  if (!names_number(err->text, delivery)) {
    FAIL(name() << ": ERR for delivery " << delivery << " does not name it: " << describe(*err));
  }
  return err;
}

Decoded<p::Msg> Conn::expect_delivery(std::string_view channel, std::string_view payload,
                                      bool redelivered, Duration timeout) {
  auto msg = expect_msg(channel, payload, timeout);
  if (msg->delivery == 0 || msg->redelivered() != redelivered) {
    FAIL(name() << ": expected a manual-ack delivery" << (redelivered ? " flagged" : " not flagged")
                << " redelivered, got " << describe(*msg));
  }
  return msg;
}

Decoded<p::Msg> Conn::expect_msg(std::string_view channel, std::string_view payload,
                                 Duration timeout) {
  auto frame = expect_message(timeout);
  const auto* msg = std::get_if<p::Msg>(&*frame);
  if (msg == nullptr || msg->channel != channel || msg->payload != payload) {
    FAIL(name() << ": expected MSG(channel=" << printable(channel)
                << " payload=" << printable(payload) << "), got " << describe(*frame));
  }
  return std::move(frame).take<p::Msg>();
}

}  // namespace paperboy::itest
