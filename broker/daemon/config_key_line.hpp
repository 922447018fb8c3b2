#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace paperboy::daemon {

/// The 1-based line of a config file where `key` (dotted as CLI11 names it: `section.key` inside
/// a `[section]`) is set, or nullopt. CLI11 reports an unknown key without its line; this finds
/// it by scanning for the key, so it reads only keys, section headers and comments.
std::optional<std::size_t> config_key_line(const std::string& path, const std::string& key);

}  // namespace paperboy::daemon
