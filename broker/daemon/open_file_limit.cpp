#include "open_file_limit.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

namespace paperboy::daemon {
namespace {

// Descriptors that are not client connections: the listener, stdio, the event loop's own, and
// the connections kept open past --max-connections just long enough to be told ERR 7.
constexpr rlim_t reserved_descriptors = 96;

}  // namespace

bool fit_connections_to_open_file_limit(broker::Config& config) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return true;  // nothing known: trust the flag
  if (limit.rlim_cur < limit.rlim_max) {
    const rlimit raised{limit.rlim_max, limit.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return true;
  if (limit.rlim_cur <= reserved_descriptors) {
    spdlog::critical("server.failed reason=\"open-file limit too low\" open_file_limit={} needs={}",
                     limit.rlim_cur, reserved_descriptors + 1);
    return false;
  }
  const auto room = static_cast<std::size_t>(limit.rlim_cur - reserved_descriptors);
  if (config.max_connections > room) {
    spdlog::warn(
        "server.max_connections_lowered requested={} allowed={} open_file_limit={} "
        "reason=\"each connection needs a file descriptor; raise the limit (ulimit -n, "
        "LimitNOFILE=) to allow more\"",
        config.max_connections, room, limit.rlim_cur);
    config.max_connections = room;
  }
  return true;
}

}  // namespace paperboy::daemon
