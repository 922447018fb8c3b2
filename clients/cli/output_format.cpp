#include "output_format.hpp"

#include <cstddef>
#include <cstdio>
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

}  // namespace

std::optional<OutputFormat> parse_output_format(std::string_view name) {
  if (name == "text") return OutputFormat::text;
  if (name == "raw") return OutputFormat::raw;
  if (name == "hex") return OutputFormat::hex;
  if (name == "json") return OutputFormat::json;
  return std::nullopt;
}

void append_message(std::string& out, const client::Message& message, OutputFormat format) {
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
