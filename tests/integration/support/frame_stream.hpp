#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deadline.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "socket.hpp"

namespace paperboy::itest {

/// `body` as one length-prefixed frame, to send raw (malformed bodies included).
inline std::string frame_of(std::string_view body) {
  std::string out;
  protocol::append_raw_frame(out, body);
  return out;
}

/// Largest frame body a test client accepts from the daemon (far above any test's payloads).
inline constexpr std::uint32_t client_max_body = protocol::max_frame_body(16 * 1024 * 1024);

/// A named connection that sends bytes and receives length-prefixed frames, each with a
/// deadline, failing the test with the connection's name and a description of what did arrive
/// when the expectation is not met. PB1 and PB0 connections differ only in how they describe
/// a frame and what they send, so both are built on this.
class FrameStream {
 public:
  using Describer = std::string (*)(std::string_view body);
  /// True for a frame the daemon may send at any time that no expectation is about.
  using Unsolicited = bool (*)(std::string_view body);

  FrameStream(std::uint16_t port, std::string name, Describer describer, SocketOptions options,
              Unsolicited unsolicited = nullptr);

  const std::string& name() const { return name_; }
  Socket& socket() { return socket_; }

  /// Sends all bytes within `timeout` or fails the test.
  void send_raw(std::string_view bytes, Duration timeout = default_timeout);
  /// Sends frame(body): the u32 length prefix, then the body.
  void send_frame(std::string_view body, Duration timeout = default_timeout);

  /// The next frame body within `timeout`, past unsolicited ones (counted); nullopt on timeout
  /// or once the peer has closed (closed() tells which).
  std::optional<std::string> next_frame(Duration timeout);

  /// The next frame body, or the test fails (timeout or close) saying it waited for `what`.
  std::string expect_frame(std::string_view what, Duration timeout = default_timeout);

  /// Fails if a frame arrives or the peer closes within `quiet`.
  void expect_nothing(Duration quiet = quiet_period);

  /// Fails unless the peer closes (EOF or reset) within `timeout` with no frame before it.
  void expect_closed(Duration timeout = default_timeout);

  /// Every frame that arrives until the peer closes; fails if it does not close in `timeout`.
  std::vector<std::string> read_until_closed(Duration timeout = default_timeout);

  /// Unsolicited frames received and passed over so far.
  std::size_t unsolicited_seen() const { return unsolicited_seen_; }

  /// True once the peer closed or reset the connection (frames may still be buffered).
  bool closed() const { return closed_; }
  /// Bytes of an incomplete frame that are buffered (e.g. what was left when the peer closed).
  std::size_t partial_bytes() const { return buffer_.buffered(); }

  /// The bytes of that incomplete frame, length prefix included.
  std::string partial_frame();

  /// How frames are described from now on (a PB1 connection's layout changes with its version).
  void set_describer(Describer describer) { describe_ = describer; }

  /// Describes a frame body the way this connection's dialect reads it.
  std::string describe(std::string_view body) const { return describe_(body); }

 private:
  Socket socket_;
  std::string name_;
  Describer describe_;
  Unsolicited unsolicited_;
  std::size_t unsolicited_seen_ = 0;
  protocol::FrameBuffer buffer_;
  bool closed_ = false;
  bool reset_ = false;
};

}  // namespace paperboy::itest
