#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "conn.hpp"
#include "deadline.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "socket.hpp"

namespace paperboy::itest {

/// What a TLS test client presents and trusts.
struct TlsClientFiles {
  std::string ca;    ///< verifies the server (SAN IP:127.0.0.1)
  std::string cert;  ///< client certificate for mTLS; empty: none
  std::string key;
};

/// A tiny PB1 client over TLS (OpenSSL, a non-blocking socket and poll, each step with a
/// deadline): frames are encoded and decoded by protocol/, as Conn does over plain TCP.
class TlsConn {
 public:
  /// Connects to 127.0.0.1:port and runs the handshake; handshake_error() says how it ended.
  TlsConn(std::uint16_t port, const TlsClientFiles& files, Duration timeout = default_timeout);
  ~TlsConn();
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  /// Empty when the handshake succeeded, else OpenSSL's reason.
  const std::string& handshake_error() const { return handshake_error_; }
  /// The TLS version agreed ("TLSv1.3").
  std::string version() const;

  /// Sends `message` whole (the test fails if it cannot within `timeout`).
  void send(const protocol::Message& message, Duration timeout = default_timeout);
  /// Sends `message` whole if the connection takes it; false when it is closed (or the
  /// handshake failed), for a client the daemon is expected to refuse.
  bool try_send(const protocol::Message& message, Duration timeout = default_timeout);
  /// HELLO, then WELCOME must follow.
  void hello(std::string_view name = "itest", std::string_view token = {});
  /// The next frame decoded, or the test fails (timeout, close, bad frame).
  Decoded<protocol::Message> expect_message(Duration timeout = default_timeout);
  void expect_ok(std::uint32_t req, Duration timeout = default_timeout);
  void expect_err(std::uint32_t req, std::uint16_t code, Duration timeout = default_timeout);
  /// True once the peer closed (EOF, reset or a TLS alert) with no frame before it, within
  /// `timeout`.
  bool closed_within(Duration timeout = default_timeout);

 private:
  /// The next frame body, or nullopt on timeout or close (closed_ set).
  std::optional<std::string> next_frame(Duration timeout);
  /// Waits until the socket is ready for what the last SSL call wants; false on timeout.
  bool wait_for(int ssl_error, const Deadline& deadline);

  Socket socket_;
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string handshake_error_;
  protocol::FrameBuffer buffer_{64 * 1024, client_max_body};
  bool closed_ = false;
  std::string close_reason_;
};

}  // namespace paperboy::itest
