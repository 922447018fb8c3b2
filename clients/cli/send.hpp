#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "connect_args.hpp"

namespace paperboy::cli {

/// Arguments of `paperboy send`.
struct SendArgs {
  enum class Source { stdin_lines, data, generated };

  ConnectArgs connect;
  std::string channel;
  Source source = Source::stdin_lines;
  std::string data;
  std::uint64_t count = 0;
  std::size_t size = 16;
  double interval_seconds = 0;
  bool confirm = false;
  client::Headers headers;
  std::chrono::milliseconds ttl{0};  // 0: no expiry
};

/// Adds the `send` subcommand, filling `args` when it is parsed.
CLI::App* add_send_command(CLI::App& app, SendArgs& args);

/// Publishes what `args` say; the exit status.
int run_send(const SendArgs& args);

}  // namespace paperboy::cli
