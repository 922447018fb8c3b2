#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

// The service manager's side channel, by the protocol sd_notify(3) documents as stable: each
// message is one datagram of newline-separated VAR=value lines sent to the unix datagram socket
// named by $NOTIFY_SOCKET ('@' first: the abstract namespace). Our own twenty lines rather than
// libsystemd: nothing more to install or link, and the same code runs where systemd is absent.
// Without NOTIFY_SOCKET every call is one getenv and returns.
namespace paperboy::broker::systemd {

/// Sends `state` (e.g. "READY=1\nSTATUS=...") as one datagram to $NOTIFY_SOCKET; false when the
/// variable is unset or the send failed (never throws: the daemon serves on without a manager).
bool notify(std::string_view state);

/// READY=1 and a first STATUS= line: every listener is bound and the daemon serves.
void notify_ready(std::string_view status);

/// STATUS=<status>: the line `systemctl status` shows.
void notify_status(std::string_view status);

/// STOPPING=1: shutdown has begun.
void notify_stopping();

/// WATCHDOG=1: the event loop is alive.
void notify_watchdog();

/// For SIGHUP: sends RELOADING=1 with MONOTONIC_USEC=<CLOCK_MONOTONIC now, in µs> (as
/// Type=notify-reload requires), runs `reload` (if given), then sends READY=1. Call it from the
/// event loop with the whole reload as `reload`, so systemd sees the reload start and end.
void notify_reloading(const std::function<void()>& reload = {});

/// Half of $WATCHDOG_USEC, how often WATCHDOG=1 is due; nothing when the watchdog is off, when
/// $WATCHDOG_PID names another process, or without $NOTIFY_SOCKET.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace paperboy::broker::systemd
