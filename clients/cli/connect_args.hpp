#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "paperboy/client/client.hpp"

namespace paperboy::cli {

/// Where the broker is and how to introduce ourselves: the options every command shares.
struct ConnectArgs {
  std::string host = "127.0.0.1";
  std::uint16_t port = 25000;
  std::string name;
  std::string token;
  client::Timeout timeout = std::chrono::seconds(5);
  /// TLS: on with --tls, or implied by any of --ca, --cert, --key.
  bool tls = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  /// Connect again when the connection is lost (listen and reply; see add_reconnect_option).
  bool reconnect = false;
};

/// Adds --host, --port, --name, --token, --timeout, --tls, --ca, --cert and --key to a command.
void add_connect_options(CLI::App& command, ConnectArgs& args);

/// Adds --no-reconnect to a long-running command, which reconnects by default.
void add_reconnect_option(CLI::App& command, ConnectArgs& args);

/// The timeout for connecting and for each answer the command waits for.
client::Timeout timeout_of(const ConnectArgs& args);

/// Connects a client as `args` say (HELLO/WELCOME included), handing BLOCKED/UNBLOCKED to
/// `on_flow_control` when given (ConnectOptions::on_flow_control); throws client::Error.
client::Client connect(const ConnectArgs& args,
                       std::function<void(const client::Event&)> on_flow_control = {});

}  // namespace paperboy::cli
