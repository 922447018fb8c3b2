#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "ack_args.hpp"
#include "connect_args.hpp"

namespace paperboy::cli {

/// Arguments of `paperboy listen`.
struct ListenArgs {
  ConnectArgs connect;
  AckArgs ack;
  std::vector<std::string> channels;
  std::string format = "text";
  std::uint64_t count = 0;  // 0: until interrupted
  bool show_channel = false;
};

/// Adds the `listen` subcommand, filling `args` when it is parsed.
CLI::App* add_listen_command(CLI::App& app, ListenArgs& args);

/// Subscribes and prints each message as it arrives; the exit status.
int run_listen(const ListenArgs& args);

}  // namespace paperboy::cli
