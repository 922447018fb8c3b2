#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "ack_args.hpp"
#include "connect_args.hpp"

namespace paperboy::cli {

/// Arguments of `paperboy reply`.
struct ReplyArgs {
  ConnectArgs connect;
  AckArgs ack;
  std::string channel;
  std::string exec;         // empty: echo each request
  std::uint64_t count = 0;  // 0: until interrupted
};

/// Adds the `reply` subcommand, filling `args` when it is parsed.
CLI::App* add_reply_command(CLI::App& app, ReplyArgs& args);

/// Answers each request on the channel; the exit status.
int run_reply(const ReplyArgs& args);

}  // namespace paperboy::cli
