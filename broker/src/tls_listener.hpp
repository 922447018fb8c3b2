#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "rate_limited_log.hpp"
#include "tls_context.hpp"

namespace paperboy::broker {

class Server;
class TlsTransport;

/// The --tls-port listener: accepts, runs each TLS handshake under --handshake-timeout, and
/// hands the connection to Server::admit, which takes it through the same limits as a plain
/// one. A session is made only for a finished handshake, so sessions never see one half-done.
class TlsListener {
 public:
  /// Handshakes in progress at once; past it a new connection is closed at once (counted as a
  /// failed handshake), so a flood of silent connects holds a bounded number of descriptors.
  static constexpr std::size_t max_handshaking = 1024;

  /// Loads the certificate and key (throws std::runtime_error naming the file) and binds and
  /// listens on the server's bind address and --tls-port (throws std::system_error).
  TlsListener(asio::io_context& io, Server& server);
  ~TlsListener();

  std::uint16_t port() const noexcept { return port_; }
  /// Starts accepting.
  void start();
  /// Stops accepting and ends the handshakes in progress.
  void close();

 private:
  struct Handshaking;
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> handshake(asio::ip::tcp::socket socket);

  asio::io_context& io_;
  Server& server_;
  TlsContext context_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::unordered_map<std::uint64_t, Handshaking*> handshaking_;
  std::uint64_t next_handshake_ = 1;
  RateLimitedLog failure_log_{spdlog::level::info};
};

}  // namespace paperboy::broker
