#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "paperboy/client/options.hpp"

namespace paperboy::billing {

/// The brokers `--server` names: one or more `host:port` separated by commas (`[::1]:25000` for
/// an IPv6 address). Nothing when one is not `host:port` with a port from 1 to 65535.
std::optional<std::vector<client::Server>> parse_server_list(std::string_view text);

}  // namespace paperboy::billing
