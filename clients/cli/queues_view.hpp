#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

// `paperboy queues` and `paperboy queue purge` without I/O, from a /stats document
// (CONTRACT_stats.md).
namespace paperboy::cli {

/// The queue channels of a /stats document, in its order (by name), as a JSON array.
nlohmann::json queue_channels(const nlohmann::json& stats);

/// The queue channel named `name` in a /stats document, if it has one.
std::optional<nlohmann::json> find_queue(const nlohmann::json& stats, const std::string& name);

/// A table of the queue channels: name, depth, bytes, consumers, unacked, blocked publishers and
/// the age of the oldest message; a line saying there are none when there are none.
std::string render_queues(const nlohmann::json& stats);

/// True for an answer that means yes to `[y/N]`: "y" or "yes", in any case, spaces around.
bool is_yes(std::string answer);

}  // namespace paperboy::cli
