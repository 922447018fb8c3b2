#include "ack_ledger.hpp"

namespace paperboy::broker {

std::uint64_t AckLedger::record(SharedBuffer message, std::uint32_t failures,
                                QueueConsumer& consumer) {
  const std::uint64_t id = next_id_++;
  owners_.emplace(id, &consumer);
  // Ids grow, so every new entry goes at the end of its consumer's map.
  Held& held = by_consumer_[&consumer];
  held.emplace_hint(held.end(), id, Unacked{std::move(message), failures, &consumer});
  return id;
}

std::optional<AckLedger::Unacked> AckLedger::take(std::uint64_t id) {
  const auto owner = owners_.find(id);
  if (owner == owners_.end()) return std::nullopt;
  const auto held = by_consumer_.find(owner->second);
  owners_.erase(owner);
  const auto it = held->second.find(id);
  Unacked unacked = std::move(it->second);
  held->second.erase(it);
  if (held->second.empty()) by_consumer_.erase(held);
  return unacked;
}

std::vector<std::pair<std::uint64_t, AckLedger::Unacked>> AckLedger::take_all(
    const QueueConsumer& consumer) {
  std::vector<std::pair<std::uint64_t, Unacked>> taken;
  const auto held = by_consumer_.find(&consumer);
  if (held == by_consumer_.end()) return taken;
  taken.reserve(held->second.size());
  for (auto& [id, unacked] : held->second) {
    owners_.erase(id);
    taken.emplace_back(id, std::move(unacked));
  }
  by_consumer_.erase(held);
  return taken;
}

}  // namespace paperboy::broker
