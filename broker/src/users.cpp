#include "users.hpp"

#include <sodium.h>
#include <spdlog/fmt/fmt.h>

#include <toml++/toml.h>
#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "permission_pattern.hpp"

namespace paperboy::broker {
namespace {

/// Longest user name: what HELLO's client name is logged with.
constexpr std::size_t max_name_size = 64;

/// A problem found at a line; turned into "source:line: message".
struct Problem {
  std::size_t line = 0;
  std::string message;
};

std::size_t line_of(const toml::node& node) {
  return node.source().begin.line;
}

std::optional<Problem> read_patterns(const toml::node& value, std::string_view key,
                                     std::vector<std::string>& into) {
  const toml::array* array = value.as_array();
  if (!array)
    return Problem{line_of(value),
                   fmt::format("key {:?}: must be an array of channel patterns", key)};
  for (const toml::node& item : *array) {
    const auto* text = item.as_string();
    if (!text) {
      return Problem{line_of(item), fmt::format("key {:?}: every entry must be a string", key)};
    }
    const std::string& pattern = text->get();
    if (!valid_permission_pattern(pattern)) {
      return Problem{line_of(item),
                     fmt::format("key {:?}: bad channel pattern {:?} (a /topic/... or /queue/... "
                                 "name; \"*\" a whole segment, \">\" only last)",
                                 key, pattern)};
    }
    into.push_back(pattern);
  }
  return {};
}

bool valid_token_hash(const std::string& hash) {
  // -1: not an Argon2id hash string libsodium can verify (0 or 1 say whether it is weaker than
  // the interactive limits, which is the operator's choice).
  return crypto_pwhash_str_needs_rehash(hash.c_str(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != -1;
}

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= max_name_size &&
         std::none_of(name.begin(), name.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::optional<Problem> read_user(const toml::table& table, User& user) {
  bool has_name = false;
  bool has_hash = false;
  for (const auto& [key, value] : table) {
    const std::string_view name = key.str();
    const std::size_t line = key.source().begin.line;
    std::optional<Problem> problem;
    if (name == "name" || name == "token_hash") {
      const auto* text = value.as_string();
      if (!text) return Problem{line, fmt::format("key {:?}: must be a string", name)};
      if (name == "name") {
        if (!valid_name(text->get())) {
          return Problem{line, fmt::format("key \"name\": 1 to {} bytes, no control characters",
                                           max_name_size)};
        }
        user.name = text->get();
        has_name = true;
      } else {
        if (!valid_token_hash(text->get())) {
          return Problem{line,
                         "key \"token_hash\": not an Argon2id hash (print one with: "
                         "paperboy passwd < token-file)"};
        }
        user.token_hash = text->get();
        has_hash = true;
      }
    } else if (name == "publish") {
      problem = read_patterns(value, name, user.publish.allow);
    } else if (name == "subscribe") {
      problem = read_patterns(value, name, user.subscribe.allow);
    } else if (name == "deny_publish") {
      problem = read_patterns(value, name, user.publish.deny);
    } else if (name == "deny_subscribe") {
      problem = read_patterns(value, name, user.subscribe.deny);
    } else if (name == "admin") {
      const auto* flag = value.as_boolean();
      if (!flag) return Problem{line, "key \"admin\": must be true or false"};
      user.admin = flag->get();
    } else {
      return Problem{line, fmt::format("unknown key {:?} (a user has name, token_hash, publish, "
                                       "subscribe, deny_publish, deny_subscribe, admin)",
                                       name)};
    }
    if (problem) return problem;
  }
  const std::size_t line = line_of(table);
  if (!has_name) return Problem{line, "a [[user]] needs a \"name\""};
  if (!has_hash) return Problem{line, fmt::format("user {:?} needs a \"token_hash\"", user.name)};
  return {};
}

LoadedUsers failed(std::string_view source, const Problem& problem) {
  return {nullptr, fmt::format("{}:{}: {}", source, problem.line, problem.message)};
}

}  // namespace

bool ChannelRule::permits(std::string_view channel) const noexcept {
  const auto covers = [&](const std::string& pattern) { return pattern_covers(pattern, channel); };
  const auto overlaps = [&](const std::string& pattern) {
    return patterns_overlap(pattern, channel);
  };
  return std::any_of(allow.begin(), allow.end(), covers) &&
         std::none_of(deny.begin(), deny.end(), overlaps);
}

Users::Users(std::vector<std::shared_ptr<const User>> users) {
  for (auto& user : users) {
    const std::string_view name = user->name;  // points into the User, which the map keeps
    by_name_.emplace(name, std::move(user));
  }
}

std::shared_ptr<const User> Users::find(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

LoadedUsers parse_users(std::string_view text, std::string_view source) {
  if (sodium_init() < 0) return {nullptr, "libsodium could not be initialised"};
  toml::table document;
  try {
    document = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    return failed(source, {error.source().begin.line, std::string(error.description())});
  }
  std::vector<std::shared_ptr<const User>> users;
  for (const auto& [key, value] : document) {
    if (key.str() != "user") {
      return failed(source,
                    {key.source().begin.line,
                     fmt::format("unknown key {:?} (the file holds [[user]] tables)", key.str())});
    }
    const toml::array* tables = value.as_array();
    if (!tables || !tables->is_array_of_tables()) {
      return failed(source, {line_of(value), "\"user\" must be [[user]] tables"});
    }
    for (const toml::node& node : *tables) {
      auto user = std::make_shared<User>();
      if (auto problem = read_user(*node.as_table(), *user)) return failed(source, *problem);
      const bool duplicate = std::any_of(
          users.begin(), users.end(), [&](const auto& other) { return other->name == user->name; });
      if (duplicate) {
        return failed(source,
                      {line_of(node), fmt::format("user {:?} is defined twice", user->name)});
      }
      users.push_back(std::move(user));
    }
  }
  if (users.empty()) return failed(source, {1, "no [[user]] tables: nobody could connect"});
  return {std::make_shared<const Users>(std::move(users)), {}};
}

LoadedUsers load_users(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return {nullptr, fmt::format("{}: cannot be read", path)};
  std::ostringstream text;
  text << file.rdbuf();
  return parse_users(text.str(), path);
}

}  // namespace paperboy::broker
