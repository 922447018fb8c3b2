#include "topic_channel.hpp"

#include "outbox.hpp"

namespace paperboy::broker {

bool TopicChannel::subscribe(Outbox& subscriber) {
  if (!index_.emplace(&subscriber, subscribers_.size()).second) return false;
  subscribers_.push_back(&subscriber);
  return true;
}

bool TopicChannel::unsubscribe(Outbox& subscriber) {
  const auto it = index_.find(&subscriber);
  if (it == index_.end()) return false;
  // The last subscriber takes the leaver's place.
  Outbox* const last = subscribers_.back();
  subscribers_[it->second] = last;
  index_[last] = it->second;
  subscribers_.pop_back();
  index_.erase(&subscriber);
  return true;
}

void TopicChannel::publish(Publication& message, std::uint64_t fan_out) {
  for (Outbox* subscriber : subscribers_) subscriber->offer_topic(message, *this, fan_out);
}

}  // namespace paperboy::broker
