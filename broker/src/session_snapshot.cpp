#include <algorithm>

#include "session.hpp"

namespace paperboy::broker {

std::string_view Session::protocol_name() const noexcept {
  if (state_ == State::handshake) return "handshake";
  switch (outbox_.dialect()) {
    case Dialect::pb0: return "pb0";
    case Dialect::pb1_v1: return "pb1v1";
    case Dialect::pb1_v2: return "pb1v2";
  }
  return "unknown";
}

ConnectionSnapshot Session::describe() const {
  ConnectionSnapshot described;
  described.id = id_;
  described.peer = peer_;
  described.protocol = protocol_name();
  described.client_name = client_name_;
  described.subscriptions.reserve(subscriptions_.size());
  for (const auto& [channel, consumer] : subscriptions_) described.subscriptions.push_back(channel);
  std::sort(described.subscriptions.begin(), described.subscriptions.end());
  described.send_queue_bytes = outbox_.queued_bytes();
  described.unacked = ledger_.size();
  described.dropped = outbox_.dropped_total();
  described.slow = slow();
  described.publishing_blocked = publishing_blocked();
  described.messages_in = messages_in_;
  described.messages_out = outbox_.messages_out();
  return described;
}

}  // namespace paperboy::broker
