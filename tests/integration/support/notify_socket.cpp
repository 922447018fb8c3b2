#include "notify_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace paperboy::itest {

NotifySocket::NotifySocket() {
  const std::string where = path();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (where.size() >= sizeof address.sun_path) {
    throw std::length_error("NotifySocket: temp dir path too long for a unix socket: " + where);
  }
  std::memcpy(address.sun_path, where.data(), where.size());
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket AF_UNIX");
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    ::close(fd_);
    throw std::system_error(error, std::generic_category(), "bind " + where);
  }
}

NotifySocket::~NotifySocket() {
  ::close(fd_);
}

std::optional<std::string> NotifySocket::receive(Duration wait) {
  const Deadline deadline(wait);
  std::array<char, 4096> buffer{};
  for (;;) {
    const auto n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n >= 0) return std::string(buffer.data(), static_cast<std::size_t>(n));
    if (errno != EAGAIN && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "recv notify socket");
    }
    if (deadline.expired()) return std::nullopt;
    pollfd readable{fd_, POLLIN, 0};
    ::poll(&readable, 1, deadline.poll_ms());
  }
}

std::optional<std::string> NotifySocket::receive_containing(const std::string& text,
                                                            Duration wait) {
  const Deadline deadline(wait);
  while (auto datagram = receive(deadline.remaining())) {
    if (datagram->find(text) != std::string::npos) return datagram;
  }
  return std::nullopt;
}

}  // namespace paperboy::itest
