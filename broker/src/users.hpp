#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace paperboy::broker {

/// One direction of a user's permissions: channels allowed unless denied.
struct ChannelRule {
  std::vector<std::string> allow;
  std::vector<std::string> deny;

  /// True when some allow pattern covers `channel` (a concrete name or a wildcard subscription)
  /// and no deny pattern overlaps it: a wildcard subscription reaching into a denied channel is
  /// refused whole.
  bool permits(std::string_view channel) const noexcept;
};

/// A user of the --users file: who may connect (name and the Argon2id hash of its token) and
/// what it may do.
struct User {
  std::string name;
  std::string token_hash;  ///< "$argon2id$v=19$m=...,t=...,p=...$salt$hash"
  ChannelRule publish;
  ChannelRule subscribe;
  bool admin = false;  ///< may make admin requests
};

/// The users of one reading of the --users file, by name. Immutable once loaded: sessions keep a
/// shared_ptr to the User they authenticated as, and a reload builds a new set.
class Users {
 public:
  explicit Users(std::vector<std::shared_ptr<const User>> users);

  /// The user with that name, or null.
  std::shared_ptr<const User> find(std::string_view name) const;
  std::size_t size() const noexcept { return by_name_.size(); }

 private:
  std::unordered_map<std::string_view, std::shared_ptr<const User>> by_name_;
};

/// A users file read: the users, or why it is unusable ("file:line: key \"publish\": ...").
struct LoadedUsers {
  std::shared_ptr<const Users> users;
  std::string error;
};

/// Parses the text of a users file: [[user]] tables with name, token_hash (an Argon2id hash
/// string), publish, subscribe, deny_publish, deny_subscribe (arrays of permission patterns) and
/// admin (a boolean). Unknown keys, duplicate names and bad patterns are errors naming `source`
/// (the file name), the line and the key.
LoadedUsers parse_users(std::string_view text, std::string_view source);

/// Reads and parses a users file.
LoadedUsers load_users(const std::string& path);

}  // namespace paperboy::broker
