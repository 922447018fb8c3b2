#include "topic_channel.hpp"

#include <algorithm>

#include "outbox.hpp"

namespace paperboy::broker {

bool TopicChannel::subscribe(Outbox& subscriber) {
  if (std::find(subscribers_.begin(), subscribers_.end(), &subscriber) != subscribers_.end()) {
    return false;
  }
  subscribers_.push_back(&subscriber);
  return true;
}

bool TopicChannel::unsubscribe(Outbox& subscriber) {
  return std::erase(subscribers_, &subscriber) > 0;
}

void TopicChannel::publish(const SharedBuffer& message) {
  for (Outbox* subscriber : subscribers_) subscriber->offer_topic(message, *this);
}

}  // namespace paperboy::broker
