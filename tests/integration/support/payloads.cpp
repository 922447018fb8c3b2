#include "payloads.hpp"

#include <charconv>

namespace paperboy::itest {
namespace {

char filler(std::size_t index, std::size_t k) {
  return static_cast<char>(static_cast<unsigned char>((index * 131 + k * 7) % 251));
}

}  // namespace

std::string numbered_payload(std::size_t index, std::size_t size, std::string_view tag) {
  std::string out(tag);
  out += '#';
  out += std::to_string(index);
  out += '|';
  for (std::size_t k = out.size(); k < size; ++k) out += filler(index, k);
  return out;
}

std::optional<std::size_t> payload_index(std::string_view payload, std::string_view tag) {
  if (!payload.starts_with(tag) || payload.size() <= tag.size() || payload[tag.size()] != '#') {
    return std::nullopt;
  }
  const std::size_t digits = tag.size() + 1;
  const std::size_t bar = payload.find('|', digits);
  if (bar == std::string_view::npos) return std::nullopt;
  std::size_t index = 0;
  const auto [end, ec] = std::from_chars(payload.data() + digits, payload.data() + bar, index);
  if (ec != std::errc{} || end != payload.data() + bar) return std::nullopt;
  for (std::size_t k = bar + 1; k < payload.size(); ++k) {
    if (payload[k] != filler(index, k)) return std::nullopt;
  }
  return index;
}

}  // namespace paperboy::itest
