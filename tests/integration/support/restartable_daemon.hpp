#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon.hpp"

namespace paperboy::itest {

/// A paperboyd that a test kills (SIGKILL, SIGTERM), freezes (SIGSTOP) and starts again on the
/// same port, as a deploy or a crash does under long-lived clients. Each start is a fresh process
/// with an empty state; the logs of the earlier ones are kept for failure messages. The
/// destructor thaws a frozen daemon before stopping it.
class RestartableDaemon {
 public:
  explicit RestartableDaemon(std::vector<std::string> flags = {});
  ~RestartableDaemon();
  RestartableDaemon(const RestartableDaemon&) = delete;
  RestartableDaemon& operator=(const RestartableDaemon&) = delete;

  std::uint16_t port() const { return port_; }
  /// The process started last (running or not).
  Daemon& current() { return *generations_.back(); }
  bool running() { return current().running(); }

  /// SIGKILL; returns once the process is reaped.
  void kill();
  /// SIGTERM; the daemon must exit by itself with status 0.
  void terminate();
  /// SIGSTOP: the process keeps its sockets open but answers nothing.
  void freeze();
  /// SIGCONT after freeze().
  void thaw();
  /// Starts a new process on the same port; the previous one must have exited.
  void start();

  /// The tail of every process's log, oldest first.
  std::string log_tail(std::size_t lines = 30) const;

 private:
  std::vector<std::string> flags_;
  std::vector<std::unique_ptr<Daemon>> generations_;
  std::uint16_t port_ = 0;
  bool frozen_ = false;
};

}  // namespace paperboy::itest
