#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "deadline.hpp"
#include "frame_stream.hpp"

namespace paperboy::itest {

/// A PB0 (legacy prototype protocol) test client: raw length-prefixed frames. Its first frame
/// is the channel it subscribes to; after that it publishes pairs frame(channel) frame(data),
/// and an empty channel frame ends the session. It receives frame(data), no channel.
class Pb0Conn {
 public:
  /// Connects and sends the subscription frame (`channel`, which must not be empty).
  Pb0Conn(std::uint16_t port, std::string_view channel, std::string name = "pb0",
          SocketOptions options = {});

  const std::string& name() const { return stream_.name(); }
  FrameStream& stream() { return stream_; }

  /// Publishes one message: frame(channel) frame(data).
  void publish(std::string_view channel, std::string_view data);
  /// The empty channel frame that ends the session.
  void end_session();
  void send_raw(std::string_view bytes) { stream_.send_raw(bytes); }

  /// The next data frame within `timeout`, or nullopt.
  std::optional<std::string> next_data(Duration timeout) { return stream_.next_frame(timeout); }
  /// The next data frame, or the test fails.
  std::string expect_data(Duration timeout = default_timeout);
  /// The next data frame must be exactly `data`.
  void expect_data_eq(std::string_view data, Duration timeout = default_timeout);
  void expect_nothing(Duration quiet = quiet_period) { stream_.expect_nothing(quiet); }
  void expect_closed(Duration timeout = default_timeout) { stream_.expect_closed(timeout); }

 private:
  FrameStream stream_;
};

}  // namespace paperboy::itest
