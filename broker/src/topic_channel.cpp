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
  ++published_;
  for (Outbox* subscriber : subscribers_) subscriber->offer_topic(message, *this, fan_out);
}

ChannelSnapshot TopicChannel::describe() const {
  ChannelSnapshot described;
  described.name = name_;
  described.kind = ChannelSnapshot::Kind::topic;
  described.published = published_;
  described.delivered = delivered_;
  described.dropped = dropped_total_;
  described.gaps = gaps_;
  described.consumers = subscribers_.size();
  return described;
}

}  // namespace paperboy::broker
