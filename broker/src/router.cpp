#include "router.hpp"

#include <spdlog/spdlog.h>

#include "delivery.hpp"
#include "outbox.hpp"
#include "paperboy/protocol/msg_layout.hpp"

namespace paperboy::broker {
namespace {

// Replies to `/topic/_reply/<id>/<anything>` reach the subscribers of `/topic/_reply/<id>`, so a
// requester subscribes once and tells its replies apart by the suffix (channels are otherwise
// matched exactly; this is the one prefix rule).
constexpr std::string_view reply_prefix = "/topic/_reply/";

}  // namespace

bool Router::subscribe(Outbox& subscriber, std::string_view topic) {
  auto [it, created] = topics_.try_emplace(std::string(topic));
  if (created) {
    it->second = std::make_unique<TopicChannel>(it->first);
    ++generation_;
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
  subscriber.forget(*it->second);
  if (it->second->empty()) {
    topics_.erase(it);
    ++generation_;
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

Router::Published Router::publish(Publication& message, RouteCache& cache) {
  const std::string_view channel = message.channel();
  // A stream of PUBs to one channel skips the name lookup: the cache holds the last route and
  // the generation of the channel tables it was found in.
  if (cache.generation != generation_ || cache.channel != channel) {
    cache.channel.assign(channel);
    cache.generation = generation_;
    cache.topic = nullptr;
    cache.queue = nullptr;
    if (protocol::channel_kind(channel) == protocol::ChannelKind::queue) {
      // A queue keeps messages for consumers that have not come yet, so publishing creates it,
      // up to a bound: every channel may hold a whole backlog.
      if (!queue_allowed(channel)) {
        cache.generation = 0;
        return {nullptr, true};
      }
      cache.queue = &queue(channel);
      cache.generation = generation_;
    } else {
      cache.topic = find_topic(channel);
    }
  }
  // Routed first, encoded only now that a channel takes it (a full queue too: the publisher
  // keeps the encoded message while it waits).
  if (cache.queue) return {cache.queue->publish(message) ? nullptr : cache.queue, false};
  if (cache.topic) {
    cache.topic->publish(message.frame());
  } else if (channel.starts_with(reply_prefix)) {
    spdlog::debug("reply.dropped channel={:?} reason=\"no subscriber\"", channel);
  }
  return {};
}

TopicChannel* Router::find_topic(std::string_view name) noexcept {
  auto it = topics_.find(name);
  if (it == topics_.end() && name.starts_with(reply_prefix)) {
    const auto slash = name.find('/', reply_prefix.size());
    if (slash != std::string_view::npos) it = topics_.find(name.substr(0, slash));
  }
  return it == topics_.end() ? nullptr : it->second.get();
}

void Router::give_back(std::string_view queue_name, QueuedMessage message) {
  std::vector<QueuedMessage> back;
  back.push_back(std::move(message));
  queue(queue_name).give_back(std::move(back));
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
  const auto layout = protocol::written_msg_layout(message.view());
  const std::string_view body = message.view().substr(protocol::frame_header_size);
  Publication letter(dead_name, layout.reply_to_in(body), layout.payload_in(body));
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

QueueChannel& Router::queue(std::string_view name) {
  auto it = queues_.find(name);
  if (it == queues_.end()) {
    it = queues_.emplace(std::string(name), nullptr).first;
    it->second = std::make_unique<QueueChannel>(it->first, config_, *this);
    ++generation_;
  }
  return *it->second;
}

void Router::release_if_idle(QueueChannel& channel) {
  // Erase by iterator: the key lives inside the channel being destroyed.
  if (!channel.idle()) return;
  queues_.erase(queues_.find(channel.name()));
  ++generation_;
}

}  // namespace paperboy::broker
