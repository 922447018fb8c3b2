#pragma once

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
  json,  ///< one JSON object per line: channel, reply_to, payload (or payload_hex), and
         ///< "redelivered":true for a message the broker handed out before
};

/// The format named `name` ("text", "raw", "hex", "json"), if there is one.
std::optional<OutputFormat> parse_output_format(std::string_view name);

/// Appends `message` rendered in `format` to `out`.
void append_message(std::string& out, const client::Message& message, OutputFormat format);

/// Writes `bytes` to stdout and flushes, so a pipeline sees each message at once; throws
/// std::runtime_error when stdout is gone.
void write_stdout(std::string_view bytes);

}  // namespace paperboy::cli
