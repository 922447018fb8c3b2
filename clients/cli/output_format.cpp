#include "output_format.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "paperboy/protocol/utf8.hpp"

namespace paperboy::cli {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + 2 * bytes.size());
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += hex_digits[byte >> 4];
    out += hex_digits[byte & 0x0F];
  }
}

// Only '"', '\\' and control characters need escaping in a JSON string; the input is valid UTF-8.
void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += hex_digits[static_cast<unsigned char>(c) >> 4];
          out += hex_digits[static_cast<unsigned char>(c) & 0x0F];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// A JSON string cannot carry arbitrary bytes: a field that is not UTF-8 becomes "<key>_hex".
void append_json_field(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  if (protocol::valid_utf8(value)) {
    out += "\":";
    append_json_string(out, value);
  } else {
    out += "_hex\":\"";
    append_hex(out, value);
    out += '"';
  }
}

// RFC 3339 in UTC with nanoseconds: exact, sortable as text, and readable.
void append_timestamp(std::string& out, std::uint64_t unix_nanoseconds) {
  constexpr std::uint64_t per_second = 1'000'000'000;
  const auto seconds = static_cast<std::time_t>(unix_nanoseconds / per_second);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const auto date_length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + date_length, sizeof text - date_length, ".%09lluZ",
                static_cast<unsigned long long>(unix_nanoseconds % per_second));
  out += text;
}

void append_json_headers(std::string& out, const client::Headers& headers) {
  out += "\"headers\":[";
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0) out += ',';
    out += '{';
    append_json_field(out, "key", headers[i].key);
    out += ',';
    append_json_field(out, "value", headers[i].value);
    out += '}';
  }
  out += ']';
}

}  // namespace

std::string format_timestamp(std::uint64_t unix_nanoseconds) {
  std::string out;
  append_timestamp(out, unix_nanoseconds);
  return out;
}

std::optional<OutputFormat> parse_output_format(std::string_view name) {
  if (name == "text") return OutputFormat::text;
  if (name == "raw") return OutputFormat::raw;
  if (name == "hex") return OutputFormat::hex;
  if (name == "json") return OutputFormat::json;
  return std::nullopt;
}

void append_message(std::string& out, const client::Message& message, OutputFormat format,
                    bool show_channel) {
  if (show_channel && (format == OutputFormat::text || format == OutputFormat::hex)) {
    out += message.channel;
    out += ' ';
  }
  switch (format) {
    case OutputFormat::text:
      out += message.payload;
      out += '\n';
      return;
    case OutputFormat::raw: out += message.payload; return;
    case OutputFormat::hex:
      append_hex(out, message.payload);
      out += '\n';
      return;
    case OutputFormat::json:
      out += '{';
      append_json_field(out, "channel", message.channel);
      out += ',';
      append_json_field(out, "reply_to", message.reply_to);
      out += ',';
      append_json_field(out, "payload", message.payload);
      // Only when set, so every other line keeps the three fields it always had.
      if (message.redelivered) out += ",\"redelivered\":true";
      // Version 2 only: a version 1 connection has no timestamp (0) and no headers.
      if (message.published_at != 0) {
        out += ",\"published_at\":\"";
        append_timestamp(out, message.published_at);
        out += '"';
      }
      if (!message.headers.empty()) {
        out += ',';
        append_json_headers(out, message.headers);
      }
      out += "}\n";
      return;
  }
}

void write_stdout(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() ||
      std::fflush(stdout) != 0) {
    throw std::runtime_error("cannot write to stdout");
  }
}

}  // namespace paperboy::cli
