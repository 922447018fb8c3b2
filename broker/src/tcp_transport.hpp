#pragma once

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "transport.hpp"

namespace paperboy::broker {

// TCP keepalive on every accepted socket: a peer whose host vanished without a FIN (power cut,
// cable, NAT forgetting the flow) is found in about 30 + 6 x 10 = 90 s of silence, even a PB0
// one (no PING) or a publisher we do not read; Linux's own default would take over two hours.
// A live idle peer costs one probe and its ACK every 30 s.
inline constexpr int keepalive_idle_seconds = 30;
inline constexpr int keepalive_interval_seconds = 10;
inline constexpr int keepalive_probes = 6;

/// Turns on TCP keepalive on `fd` with the probes above.
void enable_keepalive(int fd) noexcept;

/// Opens, binds and listens on `bind_address`:`port`; throws std::system_error naming the step
/// and the address after `label` (`TLS bind 127.0.0.1:25001: Address already in use`).
void listen_on(asio::ip::tcp::acceptor& acceptor, const std::string& bind_address,
               std::uint16_t port, std::string_view label);
/// What every accepted socket gets, plain or TLS: TCP_NODELAY, keepalive, non-blocking mode.
void prepare_accepted(asio::ip::tcp::socket& socket) noexcept;
/// "127.0.0.1:5123", or "unknown" once the peer is gone.
std::string peer_name_of(const asio::ip::tcp::socket& socket);
/// Looks at a socket's peer without reading (poll with POLLRDHUP).
Transport::Peer probe_socket(int fd) noexcept;

/// Transport over a plain TCP socket: non-blocking reads, sendmsg with up to IOV_MAX spans,
/// and a poll(POLLRDHUP) probe of the peer.
class TcpTransport final : public Transport {
 public:
  /// Sets TCP_NODELAY, keepalive and non-blocking mode on `socket`.
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
