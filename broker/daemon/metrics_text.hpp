#pragma once

#include <string>

#include "paperboy/broker/snapshot.hpp"

namespace paperboy::daemon {

/// The snapshot as GET /metrics serves it: Prometheus text exposition format 0.0.4, with the
/// metric names of CONTRACT_stats.md (paperboy_connections, paperboy_queue_depth, ...).
std::string render_prometheus(const broker::ServerSnapshot& snapshot);

}  // namespace paperboy::daemon
