#pragma once

#include <string>
#include <vector>

#include "child_process.hpp"
#include "deadline.hpp"
#include "temp_dir.hpp"

namespace paperboy::itest {

/// How long a command run to its end may take; generous for a loaded machine under sanitizers.
inline constexpr Duration command_timeout = std::chrono::seconds(20);

/// A program (one of ours: paperboyd, paperboy) run as a child process with its stdout and
/// stderr kept in a private directory, readable while it runs and after.
class Command {
 public:
  explicit Command(const std::vector<std::string>& argv);

  std::string out() const;
  std::string err() const;

  /// Waits for it to end and returns how it ended; the test fails if it still runs after
  /// `timeout`.
  ExitStatus finish(Duration timeout = command_timeout);
  /// finish(), and the test fails unless it exited by itself: its exit code.
  int exit_code(Duration timeout = command_timeout);

 private:
  std::string name_;
  TempDir dir_;
  ChildProcess process_;
};

/// A program run to its end: how it exited and what it wrote.
struct Run {
  ExitStatus status;
  std::string out;
  std::string err;
};

/// Runs `argv` as a Command to its end (the test fails if it outlives command_timeout).
Run run_to_end(const std::vector<std::string>& argv);

}  // namespace paperboy::itest
