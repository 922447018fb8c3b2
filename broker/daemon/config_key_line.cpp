#include "config_key_line.hpp"

#include <fstream>
#include <string_view>

namespace paperboy::daemon {
namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view blanks = " \t\r\n";
  const auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

std::string_view unquote(std::string_view text) {
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
      text.back() == text.front()) {
    return text.substr(1, text.size() - 2);
  }
  return text;
}

}  // namespace

std::optional<std::size_t> config_key_line(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string section;
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    std::string_view text = trim(line);
    if (text.empty() || text.front() == '#' || text.front() == ';') continue;
    if (text.front() == '[' && text.back() == ']') {
      // [section] or [[section]]
      section = std::string(trim(text.substr(text.find_first_not_of('['))));
      section.erase(section.find_last_not_of(']') + 1);
      continue;
    }
    // A line without `=` is still a key to CLI11 (a flag set to true).
    std::string_view name = text.substr(0, text.find('='));
    name = unquote(trim(name.substr(0, name.find('#'))));
    const std::string dotted =
        section.empty() ? std::string(name) : section + "." + std::string(name);
    if (dotted == key) return number;
  }
  return std::nullopt;
}

}  // namespace paperboy::daemon
