#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "deadline.hpp"
#include "describe.hpp"
#include "frame_stream.hpp"
#include "paperboy/protocol/messages.hpp"

namespace paperboy::itest {

/// True when `text` contains `number` in decimal as a whole number (not inside a longer one).
bool names_number(std::string_view text, std::uint64_t number);

/// A decoded frame together with the bytes its string_views point into. The body lives on the
/// heap, so moving a Decoded keeps the views valid.
template <class T>
class Decoded {
 public:
  Decoded(std::unique_ptr<const std::string> body, T value)
      : body_(std::move(body)), value_(std::move(value)) {}

  const T& operator*() const { return value_; }
  const T* operator->() const { return &value_; }
  const std::string& body() const { return *body_; }

  /// For a Decoded<Message>: the alternative U, keeping the same body.
  template <class U>
  Decoded<U> take() && {
    U value = std::get<U>(value_);
    return Decoded<U>(std::move(body_), value);
  }

 private:
  std::unique_ptr<const std::string> body_;
  T value_;
};

/// A PB1 test client in the style of nats-server's test helpers: send a request, then state
/// exactly which frame must come next. Every expectation has a deadline and fails the test with
/// the connection's name and the frame that arrived instead.
class Conn {
 public:
  /// Connects to 127.0.0.1:port; sends nothing yet.
  explicit Conn(std::uint16_t port, std::string name = "client", SocketOptions options = {});

  const std::string& name() const { return stream_.name(); }
  FrameStream& stream() { return stream_; }
  /// The PB1 version frames are written and read in: 1 until a WELCOME says otherwise.
  std::uint8_t version() const { return version_; }
  Socket& socket() { return stream_.socket(); }

  // Sending. Nothing here waits for an answer.
  void send_raw(std::string_view bytes, Duration timeout = default_timeout);
  void send_frame(std::string_view body, Duration timeout = default_timeout);
  /// Sends a message in the negotiated version's layout.
  void send(const protocol::Message& message);
  void send_hello(std::string_view client_name = "itest",
                  std::uint8_t version = protocol::pb1_version, std::string_view token = {});
  void sub(std::string_view channel, std::uint32_t req, std::uint8_t flags = 0,
           std::uint16_t prefetch = 0);
  void unsub(std::string_view channel, std::uint32_t req);
  void pub(std::string_view channel, std::string_view payload, std::uint32_t req = 0,
           std::string_view reply_to = {});
  void ping(std::uint64_t token);
  void ack(std::uint64_t delivery);
  void nack(std::uint64_t delivery);

  // Requests with their answer.
  /// HELLO asking for `version`, then WELCOME must follow; from then on this connection speaks
  /// the version the WELCOME names.
  Decoded<protocol::Welcome> hello(std::string_view client_name = "itest",
                                   std::uint8_t version = protocol::pb1_version);
  /// SUB with a fresh request id, then OK(req) must follow.
  void subscribe(std::string_view channel, std::uint8_t flags = 0, std::uint16_t prefetch = 0);
  /// subscribe() with the manual-ack flag and a prefetch (0: the daemon's default).
  void subscribe_manual(std::string_view channel, std::uint16_t prefetch) {
    subscribe(channel, protocol::sub_flag_manual_ack, prefetch);
  }
  /// UNSUB with a fresh request id, then OK(req) must follow.
  void unsubscribe(std::string_view channel);
  /// PUB with a fresh request id, then OK(req) must follow. Not for a channel this connection
  /// is subscribed to (its own MSG may come before the OK).
  void publish(std::string_view channel, std::string_view payload, std::string_view reply_to = {});
  /// PING, then its PONG must be the very next frame: proves that nothing the daemon queued for
  /// this connection before it read the PING is still on its way.
  void ping_pong();
  /// A request id not used before on this connection.
  std::uint32_t next_req() { return ++last_req_; }

  // Receiving.
  /// The next frame decoded as a PB1 message of any type in the negotiated version (a WELCOME
  /// sets that version for the frames after it).
  Decoded<protocol::Message> expect_message(Duration timeout = default_timeout);
  /// The next frame if one arrives within `timeout`, else nullopt; fails if the daemon closes
  /// the connection or sends something that does not decode.
  std::optional<Decoded<protocol::Message>> poll_message(Duration timeout);
  /// BLOCKED(channel) must come next.
  void expect_blocked(std::string_view channel, Duration timeout = default_timeout);
  /// The next frame, which must be a T.
  template <class T>
  Decoded<T> expect(Duration timeout = default_timeout);
  void expect_ok(std::uint32_t req, Duration timeout = default_timeout);
  Decoded<protocol::Err> expect_err(std::uint32_t req, std::uint16_t code,
                                    Duration timeout = default_timeout);
  /// ERR(req, code) must come next, and then the daemon must close the connection.
  void expect_err_and_close(std::uint32_t req, std::uint16_t code,
                            Duration timeout = default_timeout);
  /// ERR(0, 5 unknown delivery) must come next, and its text must name `delivery` in decimal.
  Decoded<protocol::Err> expect_delivery_err(std::uint64_t delivery,
                                             Duration timeout = default_timeout);
  /// The next frame must be a MSG on `channel` with `payload` (delivery and reply-to unchecked).
  Decoded<protocol::Msg> expect_msg(std::string_view channel, std::string_view payload,
                                    Duration timeout = default_timeout);
  /// expect_msg() for a manual-ack delivery: its delivery id must be non-zero and its
  /// redelivered flag must be `redelivered`.
  Decoded<protocol::Msg> expect_delivery(std::string_view channel, std::string_view payload,
                                         bool redelivered, Duration timeout = default_timeout);
  void expect_nothing(Duration quiet = quiet_period) { stream_.expect_nothing(quiet); }
  /// PINGs from the daemon passed over so far (it probes a publisher it has stopped reading);
  /// no expectation sees them.
  std::size_t probes_seen() const { return stream_.unsolicited_seen(); }
  void expect_closed(Duration timeout = default_timeout) { stream_.expect_closed(timeout); }
  /// The frames that arrive before the daemon closes the connection.
  std::vector<std::string> read_until_closed(Duration timeout = default_timeout) {
    return stream_.read_until_closed(timeout);
  }

 private:
  /// Decodes a frame body in the negotiated version and adopts the version of a WELCOME.
  Decoded<protocol::Message> decode_owned(std::string body);

  FrameStream stream_;
  std::uint8_t version_ = protocol::pb1_version;
  std::uint32_t last_req_ = 0;
  std::uint64_t last_ping_ = 0;
};

template <class T>
Decoded<T> Conn::expect(Duration timeout) {
  const std::string_view wanted = protocol::op_name(protocol::op_of(protocol::Message{T{}}));
  auto frame = expect_message(timeout);
  if (!std::holds_alternative<T>(*frame)) {
    FAIL(name() << ": expected " << wanted << ", got " << describe(*frame));
  }
  return std::move(frame).template take<T>();
}

}  // namespace paperboy::itest
