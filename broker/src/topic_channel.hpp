#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "paperboy/broker/snapshot.hpp"
#include "publication.hpp"
#include "registry.hpp"
#include "shared_buffer.hpp"

namespace paperboy::broker {

class Outbox;

/// A /topic channel: every message goes to every current subscriber; none means it is dropped.
class TopicChannel {
 public:
  TopicChannel(std::string name, IdTable<TopicChannel>& ids)
      : name_(std::move(name)), enrollment_(ids, *this) {}

  const std::string& name() const noexcept { return name_; }
  TopicId id() const noexcept { return enrollment_.id(); }
  bool empty() const noexcept { return subscribers_.empty(); }
  std::size_t subscriber_count() const noexcept { return subscribers_.size(); }

  /// Adds a subscriber; false if it already was one.
  bool subscribe(Outbox& subscriber);
  /// Removes a subscriber; false if it was not one.
  bool unsubscribe(Outbox& subscriber);

  /// Offers the message to every subscriber; each applies its own overflow policy, so a slow
  /// one never holds up the publisher or the others. `fan_out` numbers a message that several
  /// channels deliver (an exact name and wildcard patterns): a subscriber of more than one of
  /// them takes it once. 0: this channel alone delivers it.
  void publish(Publication& message, std::uint64_t fan_out = 0);

  void count_drop() noexcept { ++dropped_total_; }
  void count_delivery() noexcept { ++delivered_; }
  void count_gap() noexcept { ++gaps_; }
  std::uint64_t dropped_total() const noexcept { return dropped_total_; }

  /// What /metrics and /stats show of it (counters since it was created).
  ChannelSnapshot describe() const;

 private:
  std::string name_;
  Enrollment<TopicChannel> enrollment_;
  std::vector<Outbox*> subscribers_;  ///< fan-out walks a vector; order is not promised
  /// Where each subscriber sits in subscribers_: joining and leaving a busy topic is O(1), not a
  /// scan of everyone else on it.
  std::unordered_map<const Outbox*, std::size_t> index_;
  std::uint64_t dropped_total_ = 0;
  std::uint64_t published_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t gaps_ = 0;
};

}  // namespace paperboy::broker
