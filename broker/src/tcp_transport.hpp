#pragma once

#include <asio/ip/tcp.hpp>

#include "transport.hpp"

namespace paperboy::broker {

/// Transport over a plain TCP socket: non-blocking reads, sendmsg with up to IOV_MAX spans,
/// and a poll(POLLRDHUP) probe of the peer.
class TcpTransport final : public Transport {
 public:
  /// Sets TCP_NODELAY and non-blocking mode on `socket`.
  explicit TcpTransport(asio::ip::tcp::socket socket);

  asio::any_io_executor executor() override;
  std::string peer_name() const override;
  IoResult read_some(char* data, std::size_t size) noexcept override;
  IoResult write_gathered(const SendQueue& queue, std::size_t front_offset) noexcept override;
  asio::awaitable<std::error_code> wait(Ready ready) override;
  Peer probe_peer() noexcept override;
  void shutdown_send() noexcept override;
  void close() noexcept override;

 private:
  asio::ip::tcp::socket socket_;
};

}  // namespace paperboy::broker
