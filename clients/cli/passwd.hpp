#pragma once

#include <CLI/CLI.hpp>

namespace paperboy::cli {

/// Adds the `passwd` subcommand: it takes no options.
CLI::App* add_passwd_command(CLI::App& app);

/// Reads a token on stdin and prints its Argon2id hash, for a users file's token_hash; the exit
/// status.
int run_passwd();

}  // namespace paperboy::cli
