#pragma once

#include <string>

#include "paperboy/broker/snapshot.hpp"

namespace paperboy::daemon {

/// The snapshot as GET /stats serves it: the JSON document of CONTRACT_stats.md ("server",
/// "channels", "connections"), which `paperboy stats` and scripts read.
std::string render_stats_json(const broker::ServerSnapshot& snapshot);

}  // namespace paperboy::daemon
