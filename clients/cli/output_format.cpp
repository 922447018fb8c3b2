#include "output_format.hpp"

#include <cstddef>

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
  if (valid_utf8(value)) {
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
      out += "}\n";
      return;
  }
}

bool valid_utf8(std::string_view bytes) noexcept {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (std::size_t i = 0; i < bytes.size();) {
    const unsigned char lead = at(i);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80;  // bounds of the second byte, narrowed to exclude overlongs,
    unsigned char hi = 0xBF;  // surrogates and code points above U+10FFFF
    if (lead >= 0xC2 && lead <= 0xDF) {
      n = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      n = 3;
      if (lead == 0xE0) lo = 0xA0;
      if (lead == 0xED) hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      n = 4;
      if (lead == 0xF0) lo = 0x90;
      if (lead == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (bytes.size() - i < n || at(i + 1) < lo || at(i + 1) > hi) return false;
    for (std::size_t k = 2; k < n; ++k) {
      if (at(i + k) < 0x80 || at(i + k) > 0xBF) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace paperboy::cli
