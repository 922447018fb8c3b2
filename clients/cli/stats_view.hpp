#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

// `paperboy stats` without I/O: rates from two /stats documents (CONTRACT_stats.md) and the
// block of text that shows them.
namespace paperboy::cli {

/// One channel's traffic per second over an interval.
struct ChannelRates {
  std::string name;
  double published_per_second = 0;
  double delivered_per_second = 0;
};

/// What changed per second between two /stats documents of a daemon.
struct StatsRates {
  double interval_seconds = 0;
  double messages_in_per_second = 0;
  double messages_out_per_second = 0;
  double bytes_in_per_second = 0;
  double bytes_out_per_second = 0;
  /// Every channel of the later document, busiest first: by messages published per second, then
  /// delivered per second, then name.
  std::vector<ChannelRates> channels;
};

/// The rates from `before` to `after`. The interval is the difference of the daemon's uptimes
/// (both were taken on its event loop), or `measured_seconds` when that is not positive. A
/// counter that went down started again from zero (a channel that was gone and came back), so
/// its later value is what it counted; a daemon whose uptime went down was restarted, so
/// `after` is measured from its start.
StatsRates rates_between(const nlohmann::json& before, const nlohmann::json& after,
                         double measured_seconds);

/// The `paperboy stats` view of `now`: server, traffic, flow control and refusals, the `top`
/// busiest channels, and the connections that are slow or blocked (at most `top`).
std::string render_stats(const nlohmann::json& now, const StatsRates& rates, std::size_t top);

/// A number of the document: `object[key]` when it is a number, else 0.
std::uint64_t count_of(const nlohmann::json& object, const char* key);

}  // namespace paperboy::cli
