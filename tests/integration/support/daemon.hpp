#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "child_process.hpp"
#include "command.hpp"
#include "deadline.hpp"
#include "temp_dir.hpp"

namespace paperboy::itest {

/// How long paperboyd may take to log that it listens (slow under sanitizers).
inline constexpr Duration daemon_start_timeout = std::chrono::seconds(15);

/// The `--shutdown-grace` a test daemon gets unless its test names one. Most tests end with SIGTERM
/// while their clients are still connected, and each such client holds the daemon for the whole
/// grace (it is told ERR 6 and drained until it closes); 2 s of that per test was most of the
/// suite's time. Tests about flushing within the grace pass their own.
inline constexpr std::string_view test_shutdown_grace = "0.25";

/// The real paperboyd (PAPERBOYD_PATH) on 127.0.0.1 and a port the kernel picks, with its
/// stderr (the log) and stdout in a private temp directory. The constructor returns once the
/// daemon logged `server.listening ... port=N`, and fails the test otherwise. The destructor
/// stops it: SIGTERM, then SIGKILL after a deadline, so no daemon outlives its test.
class Daemon {
 public:
  /// Starts paperboyd with `--port <port> --bind 127.0.0.1` followed by `flags` (and
  /// `--shutdown-grace test_shutdown_grace` when `flags` sets no grace). Port 0 lets the kernel
  /// pick; a given port is how a test starts a broker again where its clients expect it.
  /// `options` adds environment variables or a socket-activation listener (see ChildOptions).
  explicit Daemon(std::vector<std::string> flags = {}, std::uint16_t port = 0,
                  const ChildOptions& options = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return process_.pid(); }

  /// Everything the daemon logged so far.
  std::string log() const;
  /// How many times `text` occurs in the log so far.
  std::size_t log_count(std::string_view text) const;
  /// The last `lines` lines of the log, for failure messages.
  std::string log_tail(std::size_t lines = 40) const;
  /// Everything the daemon wrote to stdout (it should write nothing there).
  std::string stdout_text() const;

  /// Open file descriptors of the daemon process right now (from /proc).
  std::size_t open_fds() const;

  bool running() { return process_.running(); }

  /// Sends a signal (if the daemon still runs).
  void signal(int sig) { process_.signal(sig); }
  /// Waits up to `timeout` for the daemon to exit: its status, or nullopt if it still runs.
  std::optional<ExitStatus> wait_exit(Duration timeout = default_timeout) {
    return process_.wait_for(timeout);
  }
  /// signal(sig), then wait_exit(timeout); the destructor kills a daemon that did not exit.
  std::optional<ExitStatus> stop(int sig, Duration timeout = default_timeout);
  /// stop(SIGTERM).
  std::optional<ExitStatus> terminate(Duration timeout = default_timeout);

 private:
  TempDir dir_;
  ChildProcess process_;
  std::uint16_t port_ = 0;
};

/// The port of the first log line matching `line` (a regex with the port as its first group,
/// e.g. `http\.listening[^\n]*\bport=(\d+)`), once the daemon logged it; the test fails if
/// it does not within the start-up timeout.
std::uint16_t logged_port(const Daemon& daemon, const std::regex& line);

/// paperboyd run to its end with `flags` and nothing added (for start-up errors, --help,
/// --check-config).
Run run_paperboyd(std::vector<std::string> flags);

}  // namespace paperboy::itest
