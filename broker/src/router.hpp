#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "paperboy/broker/config.hpp"
#include "paperboy/protocol/channel.hpp"
#include "queue_channel.hpp"
#include "shared_buffer.hpp"
#include "topic_channel.hpp"

namespace paperboy::broker {

class Outbox;

/// Owns the channels, keyed by name; a channel's kind follows from its name. Topic channels
/// live while they have subscribers, queue channels while they have consumers, a backlog or a
/// blocked publisher.
class Router {
 public:
  explicit Router(const Config& config) : config_(config) {}

  /// Subscribes; false if the subscriber already was subscribed there.
  bool subscribe(Outbox& subscriber, std::string_view channel);
  /// Unsubscribes (queue messages it had not written yet go back to the channel); false if it
  /// was not subscribed there.
  bool unsubscribe(Outbox& subscriber, std::string_view channel);

  /// Routes a message built by make_message. Returns the queue channel that refused it for a
  /// full backlog (the caller waits on it), or nullptr when it was taken (or, on a topic with no
  /// subscribers, dropped).
  QueueChannel* publish(const SharedBuffer& message, std::string_view channel);

  /// The queue channel of that name, if it exists.
  QueueChannel* find_queue(std::string_view channel) noexcept;
  /// Drops a queue channel nobody uses any more.
  void release_if_idle(QueueChannel& channel);

  std::size_t topic_count() const noexcept { return topics_.size(); }
  std::size_t queue_count() const noexcept { return queues_.size(); }

 private:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <class Channel>
  using Table =
      std::unordered_map<std::string, std::unique_ptr<Channel>, NameHash, std::equal_to<>>;

  const Config& config_;
  Table<TopicChannel> topics_;
  Table<QueueChannel> queues_;
};

}  // namespace paperboy::broker
