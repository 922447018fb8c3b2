#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "paperboy/client/client.hpp"

namespace paperboy::cli {

/// How a consuming command acknowledges what it receives: the options `listen` and `reply` share.
struct AckArgs {
  std::string ack = "auto";
  std::uint16_t prefetch = 0;  // 0: the broker's default
};

/// Adds --ack and --prefetch to a command; --prefetch without --ack manual is a usage error.
void add_ack_options(CLI::App& command, AckArgs& args);

/// The subscription `args` describe.
client::SubscribeOptions subscribe_options(const AckArgs& args);

}  // namespace paperboy::cli
