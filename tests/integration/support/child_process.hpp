#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "deadline.hpp"

namespace paperboy::itest {

/// How a child process ended: a waitpid() status.
struct ExitStatus {
  int raw = 0;

  bool exited() const;
  int code() const;
  bool signaled() const;
  int signal() const;
  /// Exited by itself with status 0.
  bool clean() const { return exited() && code() == 0; }
  /// "exit 0", "exit 23", "signal 9 (Killed)".
  std::string describe() const;
};

/// What a child gets beyond its arguments.
struct ChildOptions {
  /// NAME=value entries added to (or replacing those of) the test process's environment; a bare
  /// NAME removes that variable.
  std::vector<std::string> environment;
  /// A descriptor handed over as fd 3 with LISTEN_FDS=1 and LISTEN_PID=<the child's pid>, as
  /// systemd's socket activation passes a listening socket; -1: none.
  int listen_fd = -1;
  /// Non-zero: the child's soft RLIMIT_FSIZE (its hard limit stays), with SIGXFSZ ignored, so a
  /// write past it fails with EFBIG as on a full disk; prlimit() on the pid can raise it again.
  std::uint64_t file_size_limit = 0;
};

/// A program run as a child process, with stdin from /dev/null and stdout/stderr written to
/// files. The child dies with the test process (PR_SET_PDEATHSIG), and the destructor kills and
/// reaps it, so no process outlives its test.
class ChildProcess {
 public:
  /// Starts argv (argv[0] is looked up in PATH unless it contains a '/').
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& stdout_path,
               const std::filesystem::path& stderr_path, const ChildOptions& options = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  /// True until the child has exited (reaps it when it has).
  bool running();

  /// Sends a signal if the child still runs.
  void signal(int sig);

  /// Waits up to `timeout` for the child to exit; its status, or nullopt while it still runs.
  std::optional<ExitStatus> wait_for(Duration timeout);

  /// SIGKILL, then reap; the status it ended with (also when it had ended before).
  ExitStatus kill();

  /// The status once the child has been reaped.
  const std::optional<ExitStatus>& status() const { return status_; }

 private:
  bool reap(int flags);

  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
};

}  // namespace paperboy::itest
