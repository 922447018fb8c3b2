#pragma once

#include <optional>
#include <string>

#include "deadline.hpp"
#include "temp_dir.hpp"

namespace paperboy::itest {

/// A stand-in for systemd's notification socket: a unix datagram socket in a private temp dir
/// that a daemon started with NOTIFY_SOCKET=<path()> sends its READY=1, STATUS=, WATCHDOG=1 ...
/// datagrams to.
class NotifySocket {
 public:
  NotifySocket();
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  std::string path() const { return (dir_.path() / "notify").string(); }
  /// "NOTIFY_SOCKET=<path>", for ChildOptions::environment.
  std::string environment_entry() const { return "NOTIFY_SOCKET=" + path(); }

  /// The next datagram, waiting at most `wait`; nothing if none came.
  std::optional<std::string> receive(Duration wait = default_timeout);

  /// Receives until a datagram containing `text` arrives (skipping others) or `wait` passes.
  std::optional<std::string> receive_containing(const std::string& text,
                                                Duration wait = default_timeout);

 private:
  TempDir dir_;
  int fd_ = -1;
};

}  // namespace paperboy::itest
