#include "router.hpp"

#include <spdlog/spdlog.h>

#include "delivery.hpp"
#include "outbox.hpp"
#include "paperboy/protocol/headers.hpp"
#include "paperboy/protocol/msg_layout.hpp"

namespace paperboy::broker {
namespace {

using protocol::reply_prefix;

/// A dead letter's headers: its own, then why it died, as RabbitMQ's x-death says it. Should
/// they not fit the header block's u16 length, it keeps its own alone.
std::string death_headers(std::string_view own, std::string_view channel, std::uint32_t failures) {
  protocol::HeaderBuilder death;
  death.add("x-death-reason", "rejected");
  death.add("x-deliveries", std::to_string(failures));
  death.add("x-original-channel", channel);
  std::string headers(own);
  if (headers.size() + death.bytes().size() <= protocol::max_header_block_size) {
    headers += death.bytes();
  }
  return headers;
}

}  // namespace

bool Router::subscribe(Outbox& subscriber, std::string_view topic) {
  auto [it, created] = topics_.try_emplace(std::string(topic));
  if (created) {
    ++topics_created_;
    it->second = std::make_unique<TopicChannel>(it->first, registry_.topics);
    // A pattern is a channel like any other, which the names it matches deliver through too.
    if (protocol::is_pattern(topic)) patterns_.insert(topic, it->second->id());
  }
  return it->second->subscribe(subscriber);
}

bool Router::subscribe(QueueConsumer& consumer, std::string_view name) {
  if (!queue_allowed(name)) return false;
  return queue(name).subscribe(consumer);
}

bool Router::queue_allowed(std::string_view name) const noexcept {
  return queues_.size() < config_.max_queues || queues_.find(name) != queues_.end();
}

bool Router::unsubscribe(Outbox& subscriber, std::string_view topic) {
  const auto it = topics_.find(topic);
  if (it == topics_.end()) return false;
  const bool was = it->second->unsubscribe(subscriber);
  subscriber.forget(it->second->id());
  if (it->second->empty()) {
    patterns_.remove(topic);  // nothing when it is no pattern
    topics_.erase(it);
  }
  return was;
}

bool Router::unsubscribe(QueueConsumer& consumer, std::string_view name) {
  const auto it = queues_.find(name);
  if (it == queues_.end()) return false;
  QueueChannel& channel = *it->second;
  const bool was = channel.unsubscribe(consumer);
  release_if_idle(channel);
  return was;
}

bool Router::has_subscriber(std::string_view channel) {
  if (protocol::channel_kind(channel) == protocol::ChannelKind::queue) {
    const auto it = queues_.find(channel);
    return it != queues_.end() && it->second->consumer_count() > 0;
  }
  return find_topic(channel) ||
         (!channel.starts_with(reply_prefix) && !patterns_.match(channel).empty());
}

Router::Published Router::publish(Publication& message, RouteCache& cache) {
  const std::string_view channel = message.channel();
  // A stream of PUBs to one channel skips the name lookup: the cache holds the ids of the last
  // route, and an id whose channel is gone finds nothing. A topic with no channel of its exact
  // name (nobody subscribed, or only through patterns) is looked up again only once a topic
  // channel has been created since: it may be its.
  QueueChannel* queue = nullptr;
  TopicChannel* topic = nullptr;
  bool still_routed = false;
  if (channel == cache.channel) {
    if (cache.queue) {
      queue = find(cache.queue);
    } else if (cache.topic) {
      topic = find(cache.topic);
    } else {
      still_routed = cache.topics_created == topics_created_;
    }
  }
  if (!queue && !topic && !still_routed) {
    if (!route(channel, cache)) return {nullptr, Refusal::queue_limit};
    queue = find(cache.queue);
    topic = find(cache.topic);
  }
  // Routed first, encoded only now that a channel takes it (a full queue too: the publisher
  // keeps the encoded message while it waits).
  if (queue) {
    if (queue->durable() && !store_.accepting()) return {nullptr, Refusal::storage_unavailable};
    return {queue->publish(message) ? nullptr : queue};
  }
  if (!publish_topic(message, topic, cache) && channel.starts_with(reply_prefix)) {
    spdlog::debug("reply.dropped channel={:?} reason=\"no subscriber\"", channel);
  }
  return {};
}

std::span<const TopicId> Router::matching_patterns(RouteCache& cache) {
  // A requester's inbox is private: no pattern reaches a reply channel.
  if (patterns_.empty() || cache.channel.starts_with(reply_prefix)) return {};
  if (cache.patterns_generation != patterns_.generation()) {
    const auto matched = patterns_.match(cache.channel);
    cache.patterns.assign(matched.begin(), matched.end());
    cache.patterns_generation = patterns_.generation();
  }
  return cache.patterns;
}

bool Router::publish_topic(Publication& message, TopicChannel* exact, RouteCache& cache) {
  const auto matched = matching_patterns(cache);
  if (matched.empty()) {
    if (exact) exact->publish(message);
    return exact != nullptr;
  }
  // The exact channel and the patterns may share subscribers: each takes the message once.
  const std::uint64_t fan_out = ++fan_out_sequence_;
  if (exact) exact->publish(message, fan_out);
  for (const TopicId id : matched) {
    if (TopicChannel* pattern = find(id)) pattern->publish(message, fan_out);
  }
  return true;
}

bool Router::route(std::string_view channel, RouteCache& cache) {
  // A topic routed again (it had no exact subscriber) keeps its patterns while they are current.
  if (cache.channel != channel) {
    cache.channel.assign(channel);
    cache.patterns_generation = 0;
  }
  cache.queue = {};
  cache.topic = {};
  cache.topics_created = topics_created_;
  if (protocol::channel_kind(channel) == protocol::ChannelKind::queue) {
    // A queue keeps messages for consumers that have not come yet, so publishing creates it,
    // up to a bound: every channel may hold a whole backlog.
    if (!queue_allowed(channel)) {
      cache.channel.clear();
      return false;
    }
    cache.queue = queue(channel).id();
  } else if (const TopicChannel* topic = find_topic(channel)) {
    cache.topic = topic->id();
  }
  return true;
}

TopicChannel* Router::find_topic(std::string_view name) noexcept {
  auto it = topics_.find(name);
  if (it == topics_.end() && name.starts_with(reply_prefix)) {
    const auto slash = name.find('/', reply_prefix.size());
    if (slash != std::string_view::npos) it = topics_.find(name.substr(0, slash));
  }
  return it == topics_.end() ? nullptr : it->second.get();
}

void Router::give_back(QueueId from, QueuedMessage message) {
  QueueChannel* channel = find(from);
  if (!channel) {
    const std::string_view frame = message.message.view();
    const std::string_view body = frame.substr(protocol::frame_header_size);
    channel = &queue(protocol::written_msg_v2_layout(frame).channel_in(body));
  }
  std::vector<QueuedMessage> back;
  back.push_back(std::move(message));
  channel->give_back(std::move(back));
}

bool Router::dead_letter(const QueueChannel& from, const SharedBuffer& message,
                         std::uint32_t failures) {
  const std::string dead_name = from.name() + config_.dead_letter_suffix;
  if (dead_name.size() > protocol::max_channel_size) {
    dead_letter_skipped_log_(
        "queue.dead_letter_skipped channel={:?} reason=\"name too long for the suffix\"",
        from.name());
    return false;
  }
  const auto layout = protocol::written_msg_v2_layout(message.view());
  const std::string_view body = message.view().substr(protocol::frame_header_size);
  const std::string headers = death_headers(layout.headers_in(body), from.name(), failures);
  // Its timestamp is still when it was published; a dead letter waits until someone reads it.
  Publication letter(dead_name, layout.reply_to_in(body), layout.payload_in(body),
                     protocol::msg_published_at(body), never, headers);
  // A dead-letter channel is an ordinary queue, bounded like one. A letter it has no room for
  // (or that would create one queue more than --max-queues) is dropped and counted, as RabbitMQ
  // drops what it cannot dead-letter: keeping it would redeliver it to the consumer that keeps
  // failing it, forever.
  if (!queue_allowed(dead_name) || !queue(dead_name).publish(letter)) {
    dead_letter_dropped_log_(
        "queue.dead_letter_dropped channel={:?} to={:?} reason={:?} bytes={}", from.name(),
        dead_name, queue_allowed(dead_name) ? "dead-letter channel full" : "queue limit reached",
        layout.payload_size);
    return true;
  }
  dead_letter_log_("queue.dead_letter channel={:?} to={:?} deliveries={} bytes={}", from.name(),
                   dead_name, failures, layout.payload_size);
  return true;
}

void Router::count_expired(const QueueChannel& channel) {
  expired_log_("queue.expired channel={:?} expired={} reason=\"ttl ran out while waiting\"",
               channel.name(), channel.expired_total());
}

QueueChannel& Router::queue(std::string_view name) {
  auto it = queues_.find(name);
  if (it == queues_.end()) {
    it = queues_.emplace(std::string(name), nullptr).first;
    it->second = std::make_unique<QueueChannel>(it->first, config_, *this);
  }
  return *it->second;
}

void Router::restore(std::string_view name, storage::MessageId id, std::string_view frame,
                     std::uint32_t failures, Deadline expires) {
  queue(name).restore(id, frame, failures, expires);
}

void Router::on_committed() {
  if (after_commit_.empty()) return;
  std::vector<QueueId> waiting;
  waiting.swap(after_commit_);
  for (const QueueId id : waiting) {
    if (QueueChannel* channel = find(id)) channel->on_committed();
  }
}

void Router::release_if_idle(QueueChannel& channel) {
  if (!channel.idle()) return;
  // Erase by iterator: the key lives inside the channel being destroyed.
  const auto it = queues_.find(channel.name());
  if (it != queues_.end() && it->second.get() == &channel) queues_.erase(it);
}

void Router::describe_channels(std::vector<ChannelSnapshot>& out) const {
  out.reserve(out.size() + topics_.size() + queues_.size());
  for (const auto& [name, channel] : topics_) out.push_back(channel->describe());
  for (const auto& [name, channel] : queues_) out.push_back(channel->describe());
}

std::optional<std::uint64_t> Router::purge_queue(std::string_view name) {
  const auto it = queues_.find(name);
  if (it == queues_.end()) return std::nullopt;
  QueueChannel& channel = *it->second;
  const std::uint64_t purged = channel.purge();
  release_if_idle(channel);
  return purged;
}

}  // namespace paperboy::broker
