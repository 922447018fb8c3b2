#pragma once

#include <spdlog/formatter.h>

#include <memory>

namespace paperboy::daemon {

/// Writes each log record as one JSON object on one line, for journald and log shippers:
/// {"ts":"2026-12-07T12:00:00.123Z","level":"info","event":"server.listening","msg":"..."}.
/// `event` is the message's first word (our lines are `event key=value ...`); `msg` is the whole
/// message, escaped, with bytes that are not UTF-8 replaced by U+FFFD so every line parses.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace paperboy::daemon
