#include "socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

namespace paperboy::itest {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Waits for `events` on fd for at most `wait`; true when they are (or an error is) pending.
bool wait_for(int fd, short events, Duration wait) {
  const Deadline deadline(wait);
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, deadline.poll_ms());
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) throw_errno("poll");
  }
}

}  // namespace

Socket::Socket(std::uint16_t port, SocketOptions options) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw_errno("socket");
  if (options.receive_buffer > 0 &&
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer,
                   sizeof options.receive_buffer) != 0) {
    throw_errno("setsockopt SO_RCVBUF");
  }
  // Small frames must leave at once: Nagle plus delayed ACKs would add 40 ms stalls.
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Loopback connects complete (or are refused) immediately, so a blocking connect is bounded.
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int saved = errno;
    ::close(fd_);
    fd_ = -1;
    errno = saved;
    throw_errno("connect 127.0.0.1:" + std::to_string(port));
  }
  if (::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK) != 0) throw_errno("fcntl");
}

Socket::~Socket() {
  close();
}

Socket::Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

std::size_t Socket::send_some(std::string_view bytes, Duration wait, int& error) {
  error = 0;
  std::size_t sent = 0;
  const Deadline deadline(wait);
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {  // EWOULDBLOCK is EAGAIN on Linux
      error = errno;
      break;
    }
    if (deadline.expired() || !wait_for(fd_, POLLOUT, deadline.remaining())) break;
  }
  return sent;
}

RecvStatus Socket::recv_some(char* out, std::size_t size, Duration wait, std::size_t& received) {
  received = 0;
  const Deadline deadline(wait);
  for (;;) {
    const ssize_t n = ::recv(fd_, out, size, 0);
    if (n > 0) {
      received = static_cast<std::size_t>(n);
      return RecvStatus::data;
    }
    if (n == 0) return RecvStatus::closed;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return RecvStatus::reset;  // EWOULDBLOCK is EAGAIN on Linux
    if (deadline.expired() || !wait_for(fd_, POLLIN, deadline.remaining())) {
      return RecvStatus::timeout;
    }
  }
}

void Socket::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void Socket::abort() {
  if (fd_ < 0) return;
  const linger hard{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  close();
}

void Socket::close() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

}  // namespace paperboy::itest
