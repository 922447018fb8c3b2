#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace paperboy::client {

/// Why a client call failed: a refusal or connection-ending ERR from the server (the code is the
/// wire protocol::Errc, the text is the server's), a timeout (std::errc::timed_out), a closed or
/// broken connection (std::errc::connection_reset, or the socket's own error), or a request the
/// client refused to send (protocol::Errc::frame_too_large, std::errc::not_connected, ...).
class Error : public std::system_error {
 public:
  /// An error with its code, a one-line description (what()), whether the connection is gone,
  /// and, for server refusals, the request id the server named and the server's text.
  Error(std::error_code code, std::string message, bool connection_lost, std::uint32_t req = 0,
        std::string server_text = {});

  /// The one-line description, e.g. "ERR 3 bad_channel: channel must start with /topic/".
  const char* what() const noexcept override { return message_.c_str(); }

  /// True when the connection is closed and the client must connect() again; false when only
  /// this request failed (ERR 3, 4, 5, a timeout, a payload too large to send).
  bool connection_lost() const noexcept { return connection_lost_; }

  /// True when a deadline passed before the server answered.
  bool timed_out() const noexcept { return code() == std::errc::timed_out; }

  /// True when a publish found the client's buffer full (ConnectOptions::offline_buffer_bytes):
  /// the broker is gone or holds us back, and the message was not kept.
  bool buffer_full() const noexcept { return code() == std::errc::no_buffer_space; }

  /// True when the broker refused a message that required a subscriber because nothing would
  /// receive it (ERR 11 no_subscribers): a request() nobody serves, "no responders on /queue/x".
  bool no_responders() const noexcept;

  /// The request id of a server ERR: the failed request's, or 0 for a request sent without one
  /// (a plain publish, an ack) or for the connection as a whole. 0 for client-side errors.
  std::uint32_t req() const noexcept { return req_; }

  /// The text of a server ERR (untrusted UTF-8), empty when the error did not come from the server.
  const std::string& server_text() const noexcept { return server_text_; }

 private:
  std::string message_;
  std::string server_text_;
  std::uint32_t req_ = 0;
  bool connection_lost_ = false;
};

}  // namespace paperboy::client
