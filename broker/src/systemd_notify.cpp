#include "paperboy/broker/systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "env_number.hpp"

namespace paperboy::broker::systemd {

bool notify(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@')) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::size_t length = std::strlen(path);
  if (length >= sizeof address.sun_path) return false;
  std::memcpy(address.sun_path, path, length);
  // An abstract name starts with a NUL byte and its length counts, not a terminator.
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';
  const auto address_length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);

  // A socket per message, as sd_notify() does: a few a second at most, and nothing held open
  // that a forked child could inherit.
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const auto sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&address), address_length);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

void notify_ready(std::string_view status) {
  notify("READY=1\nSTATUS=" + std::string(status));
}

void notify_status(std::string_view status) {
  notify("STATUS=" + std::string(status));
}

void notify_stopping() {
  notify("STOPPING=1");
}

void notify_watchdog() {
  notify("WATCHDOG=1");
}

void notify_reloading(const std::function<void()>& reload) {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto micros = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000 +
                      static_cast<std::uint64_t>(now.tv_nsec) / 1000;
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(micros));
  if (reload) reload();
  notify("READY=1");
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  if (std::getenv("NOTIFY_SOCKET") == nullptr) return std::nullopt;  // nobody to ping
  const auto usec = env_number("WATCHDOG_USEC");
  if (!usec || *usec == 0) return std::nullopt;
  const auto pid = env_number("WATCHDOG_PID");
  if (pid && *pid != static_cast<std::uint64_t>(::getpid())) return std::nullopt;
  return std::chrono::microseconds(*usec / 2);
}

}  // namespace paperboy::broker::systemd
