#include "router.hpp"

#include <spdlog/spdlog.h>

#include "delivery.hpp"
#include "outbox.hpp"

namespace paperboy::broker {
namespace {

// Replies to `/topic/_reply/<id>/<anything>` reach the subscribers of `/topic/_reply/<id>`, so a
// requester subscribes once and tells its replies apart by the suffix (channels are otherwise
// matched exactly; this is the one prefix rule).
constexpr std::string_view reply_prefix = "/topic/_reply/";

}  // namespace

bool Router::subscribe(Outbox& subscriber, std::string_view topic) {
  auto [it, created] = topics_.try_emplace(std::string(topic));
  if (created) it->second = std::make_unique<TopicChannel>(it->first);
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
  if (it->second->empty()) topics_.erase(it);
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

Router::Published Router::publish(const SharedBuffer& message, std::string_view channel) {
  if (protocol::channel_kind(channel) == protocol::ChannelKind::queue) {
    // A queue keeps messages for consumers that have not come yet, so publishing creates it,
    // up to a bound: every channel may hold a whole backlog.
    if (!queue_allowed(channel)) return {nullptr, true};
    QueueChannel& q = queue(channel);
    return {q.publish(message) ? nullptr : &q, false};
  }
  if (TopicChannel* topic = find_topic(channel)) {
    topic->publish(message);
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

void Router::dead_letter(const QueueChannel& from, const SharedBuffer& message,
                         std::uint32_t failures) {
  const std::string dead_name = from.name() + config_.dead_letter_suffix;
  const auto fields = message_fields(message);
  spdlog::warn("queue.dead_letter channel={:?} to={:?} deliveries={} bytes={}", from.name(),
               dead_name, failures, fields.payload.size());
  ++dead_lettered_;
  queue(dead_name).force_publish(make_message(dead_name, fields.reply_to, fields.payload));
}

QueueChannel& Router::queue(std::string_view name) {
  auto it = queues_.find(name);
  if (it == queues_.end()) {
    it = queues_.emplace(std::string(name), nullptr).first;
    it->second = std::make_unique<QueueChannel>(it->first, config_, *this);
  }
  return *it->second;
}

void Router::release_if_idle(QueueChannel& channel) {
  // Erase by iterator: the key lives inside the channel being destroyed.
  if (channel.idle()) queues_.erase(queues_.find(channel.name()));
}

}  // namespace paperboy::broker
