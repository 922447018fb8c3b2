#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "paperboy/client/event.hpp"

namespace paperboy::cli {

/// How `paperboy listen` prints a message.
enum class OutputFormat {
  text,  ///< the payload, then a newline
  raw,   ///< the payload bytes exactly, no separator
  hex,   ///< the payload in lowercase hex, then a newline
  json,  ///< one JSON object per line: channel, reply_to, payload (or payload_hex),
         ///< "redelivered":true for a message the broker handed out before, and in PB1
         ///< version 2 "published_at" (RFC 3339, UTC, ns) and "headers" (when it has any)
};

/// The format named `name` ("text", "raw", "hex", "json"), if there is one.
std::optional<OutputFormat> parse_output_format(std::string_view name);

/// Appends `message` rendered in `format` to `out`; with `show_channel`, text and hex lines start
/// with the message's channel and a space (json always has it, raw never).
void append_message(std::string& out, const client::Message& message, OutputFormat format,
                    bool show_channel = false);

/// Unix time in nanoseconds as RFC 3339 in UTC with nine decimals: 2026-12-07T02:00:00.123456789Z.
std::string format_timestamp(std::uint64_t unix_nanoseconds);

/// Writes `bytes` to stdout and flushes, so a pipeline sees each message at once; throws
/// std::runtime_error when stdout is gone.
void write_stdout(std::string_view bytes);

}  // namespace paperboy::cli
