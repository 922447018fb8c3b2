#include "socket_activation.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include "env_number.hpp"

namespace paperboy::broker {

namespace {

constexpr int listen_fds_start = 3;  // SD_LISTEN_FDS_START

}  // namespace

std::optional<int> activated_listener() {
  // LISTEN_PID guards against variables inherited by a process they were not meant for.
  const auto pid = env_number("LISTEN_PID");
  const auto count = env_number("LISTEN_FDS");
  if (!pid || *pid != static_cast<std::uint64_t>(::getpid()) || !count || *count < 1) {
    return std::nullopt;
  }
  const int fd = listen_fds_start;
  int accepting = 0;
  socklen_t length = sizeof accepting;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) != 0) {
    throw std::system_error(errno, std::generic_category(), "LISTEN_FDS: fd 3");
  }
  if (accepting == 0) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "LISTEN_FDS: fd 3 is not a listening socket");
  }
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

}  // namespace paperboy::broker
