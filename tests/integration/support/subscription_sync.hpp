#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "pb0_conn.hpp"

namespace paperboy::itest {

/// Publishes one message on the channel under test (through any client).
using Publish = std::function<void(std::string_view payload)>;

// PB0 has no answer to a subscription, so a test cannot know when the daemon has taken it. These
// helpers find out by delivery, then leave the stream clean, so what follows is deterministic.

/// For a topic: publishes probes until every subscriber has received one, then a marker, and
/// reads each up to the marker. Afterwards the subscriptions are in effect and nothing of the
/// probing is left in flight.
void await_topic_subscriptions(const std::vector<Pb0Conn*>& subscribers, const Publish& publish);

/// await_topic_subscriptions for one subscriber.
inline void await_topic_subscription(Pb0Conn& subscriber, const Publish& publish) {
  await_topic_subscriptions({&subscriber}, publish);
}

/// For a queue: publishes probes until every consumer has received at least one, and then until
/// every probe published was received by exactly one of them.
void await_queue_consumers(const std::vector<Pb0Conn*>& consumers, const Publish& publish);

}  // namespace paperboy::itest
