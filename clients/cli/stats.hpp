#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "admin_http.hpp"

namespace paperboy::cli {

/// Arguments of `paperboy stats`.
struct StatsArgs {
  HttpArgs http;
  bool watch = false;
  /// Between the two samples a view's rates come from, and between refreshes.
  std::chrono::milliseconds interval = std::chrono::seconds(1);
  std::uint64_t count = 0;  ///< refreshes before exiting; 0: until Ctrl-C (with --watch)
  bool json = false;
  std::size_t top = 10;
};

/// Adds the `stats` subcommand, filling `args` when it is parsed.
CLI::App* add_stats_command(CLI::App& app, StatsArgs& args);

/// Shows the daemon's state once, or until Ctrl-C or --count with --watch; the exit status.
int run_stats(const StatsArgs& args);

}  // namespace paperboy::cli
