#include "router.hpp"

#include "outbox.hpp"

namespace paperboy::broker {

using protocol::ChannelKind;

bool Router::subscribe(Outbox& subscriber, std::string_view channel) {
  if (protocol::channel_kind(channel) == ChannelKind::queue) {
    auto [it, created] = queues_.try_emplace(std::string(channel));
    if (created) it->second = std::make_unique<QueueChannel>(it->first, config_);
    return it->second->subscribe(subscriber);
  }
  auto [it, created] = topics_.try_emplace(std::string(channel));
  if (created) it->second = std::make_unique<TopicChannel>(it->first);
  return it->second->subscribe(subscriber);
}

bool Router::unsubscribe(Outbox& subscriber, std::string_view channel) {
  if (protocol::channel_kind(channel) == ChannelKind::queue) {
    QueueChannel* queue = find_queue(channel);
    if (!queue) return false;
    const bool was = queue->unsubscribe(subscriber);
    release_if_idle(*queue);
    return was;
  }
  const auto it = topics_.find(channel);
  if (it == topics_.end()) return false;
  const bool was = it->second->unsubscribe(subscriber);
  subscriber.forget(*it->second);
  if (it->second->empty()) topics_.erase(it);
  return was;
}

QueueChannel* Router::publish(const SharedBuffer& message, std::string_view channel) {
  if (protocol::channel_kind(channel) == ChannelKind::queue) {
    // A queue keeps messages for consumers that have not come yet, so publishing creates it.
    auto it = queues_.find(channel);
    if (it == queues_.end()) {
      it = queues_.emplace(std::string(channel), nullptr).first;
      it->second = std::make_unique<QueueChannel>(it->first, config_);
    }
    return it->second->publish(message) ? nullptr : it->second.get();
  }
  const auto it = topics_.find(channel);
  if (it != topics_.end()) it->second->publish(message);
  return nullptr;
}

QueueChannel* Router::find_queue(std::string_view channel) noexcept {
  const auto it = queues_.find(channel);
  return it == queues_.end() ? nullptr : it->second.get();
}

void Router::release_if_idle(QueueChannel& channel) {
  // Erase by iterator: the key lives inside the channel being destroyed.
  if (channel.idle()) queues_.erase(queues_.find(channel.name()));
}

}  // namespace paperboy::broker
