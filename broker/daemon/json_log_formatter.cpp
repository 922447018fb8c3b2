#include "json_log_formatter.hpp"

#include <spdlog/fmt/chrono.h>
#include <spdlog/fmt/fmt.h>

#include <chrono>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace paperboy::daemon {
namespace {

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

// The length of the well-formed UTF-8 sequence starting text[0], or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  std::size_t length = 0;
  std::uint32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  std::uint32_t code = lead & (0x7Fu >> length);
  for (std::size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[i]);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3Fu);
  }
  const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  return code >= min && code <= 0x10FFFF && !surrogate ? length : 0;
}

// A JSON string body: quotes, backslashes and control characters escaped.
void append_escaped(spdlog::memory_buf_t& dest, std::string_view text) {
  while (!text.empty()) {
    const auto byte = static_cast<unsigned char>(text[0]);
    std::size_t taken = 1;
    if (byte == '"' || byte == '\\') {
      const char pair[] = {'\\', static_cast<char>(byte)};
      append(dest, std::string_view(pair, 2));
    } else if (byte == '\n') {
      append(dest, "\\n");
    } else if (byte == '\t') {
      append(dest, "\\t");
    } else if (byte < 0x20 || byte == 0x7F) {
      fmt::format_to(std::back_inserter(dest), "\\u{:04x}", byte);
    } else if (byte < 0x80) {
      dest.push_back(static_cast<char>(byte));
    } else if ((taken = utf8_sequence_length(text)) != 0) {
      append(dest, text.substr(0, taken));
    } else {
      taken = 1;
      append(dest, "\\ufffd");
    }
    text.remove_prefix(taken);
  }
}

}  // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const std::string_view text(msg.payload.data(), msg.payload.size());
  const auto since_epoch = msg.time.time_since_epoch();
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
  const std::time_t seconds = std::chrono::system_clock::to_time_t(msg.time);
  fmt::format_to(std::back_inserter(dest), R"({{"ts":"{:%Y-%m-%dT%H:%M:%S}.{:03}Z","level":")",
                 fmt::gmtime(seconds), millis);
  const auto level = spdlog::level::to_string_view(msg.level);
  append(dest, std::string_view(level.data(), level.size()));
  append(dest, R"(","event":")");
  append_escaped(dest, text.substr(0, text.find(' ')));
  append(dest, R"(","msg":")");
  append_escaped(dest, text);
  append(dest, "\"}\n");
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace paperboy::daemon
