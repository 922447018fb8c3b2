#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bulk_work.hpp"
#include "latency_histogram.hpp"
#include "message_store.hpp"
#include "name_map.hpp"
#include "paperboy/broker/config.hpp"
#include "paperboy/protocol/channel.hpp"
#include "publication.hpp"
#include "queue_channel.hpp"
#include "rate_limited_log.hpp"
#include "registry.hpp"
#include "shared_buffer.hpp"
#include "topic_channel.hpp"
#include "topic_patterns.hpp"

namespace paperboy::broker {

class Outbox;
class QueueConsumer;

/// Owns the channels, keyed by name; a channel's kind follows from its name. Topic channels
/// live while they have subscribers, queue channels while they have consumers, a backlog or a
/// blocked publisher.
class Router {
 public:
  Router(const Config& config, asio::any_io_executor executor)
      : config_(config), bulk_work_(std::move(executor)) {}

  /// Where channels leave the rest of their bulk work (a slice per loop turn).
  BulkWork& bulk_work() noexcept { return bulk_work_; }

  /// The journal of the durable queues (nothing is durable without --data-dir).
  MessageStore& store() noexcept { return store_; }
  const MessageStore& store() const noexcept { return store_; }
  /// Puts a message the journal kept back into its queue at start-up (paged past the bounds).
  void restore(std::string_view queue, storage::MessageId id, std::string_view frame,
               std::uint32_t failures, Deadline expires);
  /// A paged channel whose next message waits for its batch to reach the disk: pumped again
  /// after the next commit.
  void pump_after_commit(QueueId id) { after_commit_.push_back(id); }
  /// The journal has committed a batch: pumps the channels waiting for one.
  void on_committed();

  /// Where channels and consumers get their ids.
  Registry& registry() noexcept { return registry_; }
  /// What an id names, or null once it is gone.
  QueueChannel* find(QueueId id) const noexcept { return registry_.queues.find(id); }
  TopicChannel* find(TopicId id) const noexcept { return registry_.topics.find(id); }
  QueueConsumer* find(ConsumerId id) const noexcept { return registry_.consumers.find(id); }

  /// The broker is shutting down and no connection takes queue messages any more: what is given
  /// back from now on is discarded (counted) rather than put back at a channel's head.
  void start_discarding() noexcept { discarding_ = true; }
  bool discarding() const noexcept { return discarding_; }

  /// Subscribes to a topic or a wildcard pattern of topics; false if already subscribed there.
  bool subscribe(Outbox& subscriber, std::string_view topic);
  /// Subscribes to a queue, creating it if it is new and --max-queues allows; false if not.
  bool subscribe(QueueConsumer& consumer, std::string_view queue);
  /// True when a queue of that name exists or one more may be created.
  bool queue_allowed(std::string_view name) const noexcept;
  /// Leaves a topic; false if not subscribed there.
  bool unsubscribe(Outbox& subscriber, std::string_view topic);
  /// Leaves a queue; what the consumer held goes back to the channel. False if not a consumer.
  bool unsubscribe(QueueConsumer& consumer, std::string_view queue);

  /// Why a published message was not taken.
  enum class Refusal : std::uint8_t {
    none,
    queue_limit,          ///< a new queue channel would pass --max-queues
    no_subscribers,       ///< it asked for a subscriber (PUB v2 flag) and nothing would receive it
    storage_unavailable,  ///< a durable queue's journal refuses writes now (disk full, failed)
  };
  /// What became of a published message.
  struct Published {
    QueueChannel* full = nullptr;  ///< a full queue refused it for now: wait for its room
    Refusal refusal = Refusal::none;
  };
  /// One publisher's last route, so a stream of PUBs to one channel skips the name lookup.
  struct RouteCache {
    std::string channel;  ///< empty: nothing routed yet
    TopicId topic;
    QueueId queue;
    /// Router::topics_created_ when routed: a topic with no exact channel then still has none
    /// while no topic channel has been created since.
    std::uint64_t topics_created = 0;
    /// The wildcard patterns matching a topic `channel`, as of TopicPatterns generation
    /// `patterns_generation` (0: not looked up): while no pattern comes or goes, a stream of PUBs
    /// to one topic skips even the patterns' cache.
    std::uint64_t patterns_generation = 0;
    std::vector<TopicId> patterns;
  };

  /// Routes a message, then encodes it if a channel takes it: taken (or, on a topic with no
  /// subscribers, dropped without being encoded), waiting for room, or refused.
  Published publish(Publication& message, RouteCache& cache);
  /// The same for a message that must reach someone: refused with no_subscribers when no topic
  /// subscriber, or no queue consumer, is there to receive it.
  Published publish(Publication& message, RouteCache& cache, bool require_subscriber) {
    if (require_subscriber && !has_subscriber(message.channel())) {
      return {nullptr, Refusal::no_subscribers};
    }
    return publish(message, cache);
  }
  /// True when a message on `channel` would reach someone now: a queue consumer, a subscriber of
  /// the topic or of a pattern matching it.
  bool has_subscriber(std::string_view channel);

  /// Puts a queue message back at the head of the queue channel it came from. Should that channel
  /// be gone (its last consumer left while the message was half written to it), it goes to a new
  /// channel of the name its frame carries.
  void give_back(QueueId from, QueuedMessage message);

  /// Moves a message that failed too often from `from` to its dead-letter channel, or drops it
  /// (counted) when that channel is full or may not be created. False when `from` can have no
  /// dead-letter channel (no room in the name for the suffix): the message stays in `from`.
  bool dead_letter(const QueueChannel& from, const SharedBuffer& message, std::uint32_t failures);

  /// Drops a queue channel nobody uses any more.
  void release_if_idle(QueueChannel& channel);

  /// Calls f(const QueueChannel&) for every queue channel.
  template <class F>
  void for_each_queue(F&& f) const {
    for (const auto& [name, channel] : queues_) f(*channel);
  }
  /// Calls f(QueueChannel&) for every queue channel; f must not create or drop channels.
  template <class F>
  void for_each_queue(F&& f) {
    for (auto& [name, channel] : queues_) f(*channel);
  }

  std::size_t topic_count() const noexcept { return topics_.size(); }
  std::size_t queue_count() const noexcept { return queues_.size(); }
  std::uint64_t dead_lettered() const noexcept { return dead_letter_log_.total(); }
  /// Counts (and logs, rate-limited) a message `channel` discarded for its TTL.
  void count_expired(const QueueChannel& channel);
  std::uint64_t messages_expired() const noexcept { return expired_log_.total(); }
  std::uint64_t dead_letters_dropped() const noexcept { return dead_letter_dropped_log_.total(); }

  /// From a queue message's publish to its hand-out, sampled by the queue channels.
  LatencyHistogram& time_in_queue() noexcept { return time_in_queue_; }
  const LatencyHistogram& time_in_queue() const noexcept { return time_in_queue_; }
  /// Appends what /metrics and /stats show of every channel.
  void describe_channels(std::vector<ChannelSnapshot>& out) const;
  /// Discards what waits in a queue channel (an operator's purge); how many, or nothing when
  /// there is no queue channel of that name.
  std::optional<std::uint64_t> purge_queue(std::string_view name);

 private:
  template <class Channel>
  using Table = NameMap<std::unique_ptr<Channel>>;

  QueueChannel& queue(std::string_view name);
  TopicChannel* find_topic(std::string_view name) noexcept;
  /// Delivers a topic message through its exact channel (if any) and the patterns matching it.
  /// False when nobody subscribes to either.
  bool publish_topic(Publication& message, TopicChannel* exact, RouteCache& cache);
  /// The pattern channels matching the cached route's topic, from the cache while it is current.
  std::span<const TopicId> matching_patterns(RouteCache& cache);
  /// Looks the channel up by name and caches the result; false when a new queue would pass
  /// --max-queues.
  bool route(std::string_view channel, RouteCache& cache);

  const Config& config_;
  MessageStore store_;
  BulkWork bulk_work_;
  Registry registry_;           ///< outlives the channels, which leave it as they die
  Table<TopicChannel> topics_;  ///< exact names, and wildcard patterns under their own name
  /// Which pattern channels match a published name.
  TopicPatterns patterns_;
  std::uint64_t fan_out_sequence_ = 0;
  std::uint64_t topics_created_ = 0;  ///< topic channels ever created (see RouteCache)
  Table<QueueChannel> queues_;
  RateLimitedLog dead_letter_log_;
  RateLimitedLog dead_letter_dropped_log_;
  RateLimitedLog dead_letter_skipped_log_;
  RateLimitedLog expired_log_{spdlog::level::info};
  LatencyHistogram time_in_queue_;
  std::vector<QueueId> after_commit_;
  bool discarding_ = false;
};

}  // namespace paperboy::broker
