#include "tcp_transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <climits>

#include "endpoint_format.hpp"
#include "gather_write.hpp"
#include "use_nothrow.hpp"

namespace paperboy::broker {

void enable_keepalive(int fd) noexcept {
  // Best effort: a socket that refuses an option keeps the kernel's default for it.
  const auto set = [fd](int level, int option, int value) {
    ::setsockopt(fd, level, option, &value, sizeof value);
  };
  set(SOL_SOCKET, SO_KEEPALIVE, 1);
  set(IPPROTO_TCP, TCP_KEEPIDLE, keepalive_idle_seconds);
  set(IPPROTO_TCP, TCP_KEEPINTVL, keepalive_interval_seconds);
  set(IPPROTO_TCP, TCP_KEEPCNT, keepalive_probes);
}

void listen_on(asio::ip::tcp::acceptor& acceptor, const std::string& bind_address,
               std::uint16_t port, std::string_view label) {
  // Each failure names the step and the address, e.g. `bind 127.0.0.1:25000: Address already in
  // use`: the operator's first question.
  std::error_code ec;
  const auto address = asio::ip::make_address(bind_address, ec);
  if (ec) throw std::system_error(ec, fmt::format("{}bind address {:?}", label, bind_address));
  const asio::ip::tcp::endpoint endpoint(address, port);
  auto check = [&](std::string_view step) {
    if (ec) throw std::system_error(ec, fmt::format("{}{} {}", label, step, endpoint));
  };
  acceptor.open(endpoint.protocol(), ec);
  check("socket");
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  check("setsockopt SO_REUSEADDR");
  acceptor.bind(endpoint, ec);
  check("bind");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  check("listen");
}

void prepare_accepted(asio::ip::tcp::socket& socket) noexcept {
  std::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  socket.non_blocking(true, ignored);
  enable_keepalive(socket.native_handle());
}

std::string peer_name_of(const asio::ip::tcp::socket& socket) {
  std::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : fmt::format("{}", endpoint);
}

Transport::Peer probe_socket(int fd) noexcept {
  // A reset shows as an error or hang-up. A FIN only as "read hang-up": the peer may have just
  // half-closed and still be reading its OKs, which is why a finished peer gets the closing
  // grace (refreshed while its PUBs move) rather than being cut at once. A peer that closed
  // fully cannot be told from that without writing to it.
  pollfd probe{fd, POLLRDHUP, 0};
  if (::poll(&probe, 1, 0) != 1) return Transport::Peer::sending;
  if ((probe.revents & (POLLERR | POLLHUP)) != 0) return Transport::Peer::gone;
  return (probe.revents & POLLRDHUP) != 0 ? Transport::Peer::finished : Transport::Peer::sending;
}

TcpTransport::TcpTransport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  prepare_accepted(socket_);
}

asio::any_io_executor TcpTransport::executor() {
  return socket_.get_executor();
}

std::string TcpTransport::peer_name() const {
  return peer_name_of(socket_);
}

IoResult TcpTransport::read_some(char* data, std::size_t size) noexcept {
  IoResult result;
  result.bytes = socket_.read_some(asio::buffer(data, size), result.error);
  return result;
}

IoResult TcpTransport::write_gathered(const SendQueue& queue, std::size_t front_offset) noexcept {
  std::array<iovec, IOV_MAX> spans;
  msghdr message{};
  message.msg_iov = spans.data();
  message.msg_iovlen = gather_spans(queue, front_offset, spans);
  for (;;) {
    const ssize_t n = ::sendmsg(socket_.native_handle(), &message, MSG_NOSIGNAL);
    if (n >= 0) return {static_cast<std::size_t>(n), {}};
    if (errno == EINTR) continue;
    return {0, std::error_code(errno, std::system_category())};
  }
}

asio::awaitable<std::error_code> TcpTransport::wait(Ready ready) {
  const auto what =
      ready == Ready::readable ? asio::socket_base::wait_read : asio::socket_base::wait_write;
  auto [ec] = co_await socket_.async_wait(what, use_nothrow);
  co_return ec;
}

Transport::Peer TcpTransport::probe_peer() noexcept {
  return probe_socket(socket_.native_handle());
}

void TcpTransport::shutdown_send() noexcept {
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_send, ignored);
}

void TcpTransport::close() noexcept {
  std::error_code ignored;
  socket_.close(ignored);
}

}  // namespace paperboy::broker
