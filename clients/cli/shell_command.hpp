#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace paperboy::cli {

/// What a shell command did.
struct CommandResult {
  int status = 0;          ///< its exit status, or 128 + the signal's number when one killed it
  std::string output;      ///< its stdout, at most the max_output bytes asked for
  bool truncated = false;  ///< it wrote more than max_output bytes
  bool took_input = true;  ///< it read all of its stdin (false: it closed stdin early)
};

/// Runs `command` with /bin/sh -c, with `input` on its stdin and its stdout collected (its
/// stderr is ours), and waits for it to exit. It inherits no other file descriptor of ours and
/// runs in a process group of its own: when interrupted() turns true meanwhile, that group is
/// sent SIGTERM (a Ctrl-C at the terminal reaches it only that way). The caller must ignore SIGPIPE
/// (the command may stop reading its stdin); the command gets the default action back.
/// Throws std::system_error when it cannot be started.
CommandResult run_shell_command(const std::string& command, std::string_view input,
                                std::size_t max_output);

}  // namespace paperboy::cli
