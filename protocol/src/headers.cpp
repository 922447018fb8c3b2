#include "paperboy/protocol/headers.hpp"

#include "big_endian.hpp"

namespace paperboy::protocol {
namespace {

constexpr std::size_t max_key_size = 0xFF;
constexpr std::size_t max_value_size = 0xFFFF;

// Splits the entry at the front of `rest` off it; false (rest untouched) when it does not fit.
bool take_entry(std::string_view& rest, Header& entry) noexcept {
  if (rest.empty()) return false;
  const std::size_t key_size = static_cast<unsigned char>(rest.front());
  if (rest.size() < 1 + key_size + 2) return false;
  const auto value_size = detail::load_be<std::uint16_t>(rest.data() + 1 + key_size);
  const std::size_t entry_size = 1 + key_size + 2 + value_size;
  if (rest.size() < entry_size) return false;
  entry = {rest.substr(1, key_size), rest.substr(1 + key_size + 2, value_size)};
  rest.remove_prefix(entry_size);
  return true;
}

}  // namespace

bool valid_header_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > max_key_size) return false;
  for (const char c : key) {
    if (c <= ' ' || c > '~' || c == ':') return false;
  }
  return true;
}

bool valid_header_block(std::string_view block) noexcept {
  if (block.size() > max_header_block_size) return false;
  Header entry;
  while (take_entry(block, entry)) {
    if (!valid_header_key(entry.key)) return false;
  }
  return block.empty();
}

void HeaderBlock::iterator::advance() noexcept {
  at_end_ = !take_entry(rest_, current_);
}

std::optional<std::string_view> HeaderBlock::find(std::string_view key) const noexcept {
  for (const Header& h : *this) {
    if (h.key == key) return h.value;
  }
  return std::nullopt;
}

bool HeaderBuilder::add(std::string_view key, std::string_view value) {
  if (!valid_header_key(key) || value.size() > max_value_size) return false;
  const std::size_t entry_size = 1 + key.size() + 2 + value.size();
  if (bytes_.size() + entry_size > max_header_block_size) return false;
  bytes_.push_back(static_cast<char>(key.size()));
  bytes_.append(key);
  char length[2];
  detail::store_be(length, static_cast<std::uint16_t>(value.size()));
  bytes_.append(length, 2);
  bytes_.append(value);
  return true;
}

}  // namespace paperboy::protocol
