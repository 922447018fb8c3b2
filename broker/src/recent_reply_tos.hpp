#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

#include "name_map.hpp"

namespace paperboy::broker {

/// The reply-to names of the last messages delivered to one connection, so that, with users
/// configured, it may answer any request it received without a publish permission for reply
/// channels (nats' allow_responses). Bounded: the oldest are forgotten first.
class RecentReplyTos {
 public:
  static constexpr std::size_t default_capacity = 1024;

  explicit RecentReplyTos(std::size_t capacity = default_capacity) : capacity_(capacity) {}

  void remember(std::string_view reply_to) {
    if (names_.contains(reply_to)) return;
    if (order_.size() >= capacity_) {
      names_.erase(names_.find(order_.front()));
      order_.pop_front();
    }
    order_.emplace_back(reply_to);
    names_.emplace(reply_to);
  }
  bool contains(std::string_view channel) const { return names_.contains(channel); }
  std::size_t size() const noexcept { return order_.size(); }

 private:
  std::size_t capacity_;
  std::deque<std::string> order_;
  std::unordered_set<std::string, NameHash, std::equal_to<>> names_;
};

}  // namespace paperboy::broker
