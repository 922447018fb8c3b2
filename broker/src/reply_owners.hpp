#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "name_map.hpp"
#include "paperboy/protocol/channel.hpp"

namespace paperboy::broker {

/// With users configured, who owns each reply inbox: `/topic/_reply/<id>` and everything under
/// it belong to the first connection that subscribed to any of them, until it closes, so nobody
/// else can read a requester's replies.
class ReplyOwners {
 public:
  /// The inbox of a channel under protocol::reply_prefix: its first segment after the prefix.
  static std::string_view inbox_of(std::string_view channel) noexcept {
    std::string_view rest = channel.substr(protocol::reply_prefix.size());
    return rest.substr(0, rest.find('/'));
  }

  /// True when `session` may subscribe under the inbox (nobody owns it, or it does).
  bool may_take(std::string_view inbox, std::uint64_t session) const {
    const auto it = owners_.find(inbox);
    return it == owners_.end() || it->second == session;
  }
  /// Makes `session` the owner of an unowned inbox; true when it took it now.
  bool take(std::string_view inbox, std::uint64_t session) {
    return owners_.emplace(std::string(inbox), session).second;
  }
  void release(std::string_view inbox) {
    if (const auto it = owners_.find(inbox); it != owners_.end()) owners_.erase(it);
  }
  std::size_t size() const noexcept { return owners_.size(); }

 private:
  NameMap<std::uint64_t> owners_;
};

}  // namespace paperboy::broker
