#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "admin_http.hpp"

namespace paperboy::cli {

/// Arguments of `paperboy queues`.
struct QueuesArgs {
  HttpArgs http;
  bool json = false;
};

/// Arguments of `paperboy queue purge`.
struct PurgeArgs {
  HttpArgs http;
  std::string channel;
  bool yes = false;
  /// An admin user's name and token, for a broker with users.
  std::string name;
  std::string token;
};

/// Adds the `queues` subcommand, filling `args` when it is parsed.
CLI::App* add_queues_command(CLI::App& app, QueuesArgs& args);

/// Adds the `queue` subcommand with its `purge` subcommand; returns `purge`.
CLI::App* add_queue_command(CLI::App& app, PurgeArgs& purge);

/// Lists the queue channels; the exit status.
int run_queues(const QueuesArgs& args);

/// Purges a queue channel after asking (unless --yes); the exit status.
int run_purge(const PurgeArgs& args);

}  // namespace paperboy::cli
