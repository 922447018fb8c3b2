#include "publish_gate.hpp"

#include "memory_budget.hpp"

namespace paperboy::broker {

PublishGate::PublishGate(Router& router, MemoryBudget& memory, std::size_t max_read_ahead,
                         std::function<void()> on_ready)
    : router_(router),
      memory_(memory),
      max_read_ahead_(max_read_ahead),
      on_ready_(std::move(on_ready)) {}

std::optional<PublishGate::Settled> PublishGate::publish(Publication&& message, std::uint32_t req,
                                                         bool require_subscriber) {
  // Once one PUB waits, every later one waits behind it: per-publisher order is kept.
  if (parked_.empty() && !paused_for_memory()) {
    if (auto settled = offer(message, req, require_subscriber)) return settled;
  }
  // The message may point into the read buffer until encoded; a parked PUB keeps its own copy,
  // out of any shared slab, so the read-ahead bound counts what parking really costs.
  message.detach();
  parked_bytes_ += cost(message);
  parked_.push_back({std::move(message), req, require_subscriber});
  return std::nullopt;
}

std::size_t PublishGate::cost(Publication& parked) {
  // The frame's own allocation and the list node around the entry (two links).
  return parked.v2_frame().footprint() + sizeof(ParkedPub) + 2 * sizeof(void*);
}

std::optional<PublishGate::Settled> PublishGate::retry_next() {
  if (parked_.empty() || waiting_on_ || waiting_for_memory_ || paused_for_memory()) {
    return std::nullopt;
  }
  ParkedPub& front = parked_.front();
  const auto settled = offer(front.message, front.req, front.require_subscriber);
  if (!settled) return std::nullopt;
  parked_bytes_ -= cost(front.message);
  parked_.pop_front();
  return settled;
}

std::optional<PublishGate::Settled> PublishGate::offer(Publication& message, std::uint32_t req,
                                                       bool require_subscriber) {
  const auto outcome = router_.publish(message, route_cache_, require_subscriber);
  if (outcome.full) {
    outcome.full->wait_for_room(*this);
    waiting_on_ = outcome.full->id();
    return std::nullopt;
  }
  return Settled{req, outcome.refusal, message.stored_batch()};
}

bool PublishGate::paused_for_memory() {
  // Over --max-memory a PUB parks as it would on a full queue: reading stops past the
  // read-ahead, and the connection's ACKs and SUBs still go through up to then.
  if (!memory_.exhausted()) return false;
  waiting_for_memory_ = true;
  return true;
}

void PublishGate::on_memory_relieved() {
  if (!waiting_for_memory_) return;
  waiting_for_memory_ = false;
  on_ready_();
}

void PublishGate::on_channel_room() {
  waiting_on_ = {};
  on_ready_();
}

std::size_t PublishGate::abandon() {
  if (QueueChannel* channel = router_.find(waiting_on_)) {
    channel->cancel_wait(*this);
    router_.release_if_idle(*channel);
  }
  waiting_on_ = {};
  waiting_for_memory_ = false;
  const std::size_t dropped = parked_.size();
  parked_.clear();
  parked_bytes_ = 0;
  return dropped;
}

}  // namespace paperboy::broker
