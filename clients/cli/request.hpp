#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "connect_args.hpp"

namespace paperboy::cli {

/// Arguments of `paperboy request`.
struct RequestArgs {
  ConnectArgs connect;
  std::string channel;
  std::string data;
  bool data_given = false;  // false: the request is all of stdin
  std::string format = "text";
};

/// Adds the `request` subcommand, filling `args` when it is parsed.
CLI::App* add_request_command(CLI::App& app, RequestArgs& args);

/// Sends one request and prints its reply; the exit status.
int run_request(const RequestArgs& args);

}  // namespace paperboy::cli
