#include "ack_ledger.hpp"

#include "memory_gauge.hpp"

namespace paperboy::broker {
namespace {

// What one entry costs besides its message: the id -> owner hash node (key, pointer, next,
// cached hash, bucket) and the consumer's ordered-map node (the entry, its key, three links and
// the colour).
constexpr std::size_t entry_overhead = sizeof(AckLedger::Unacked) + 10 * sizeof(void*);

}  // namespace

std::size_t AckLedger::cost(const SharedBuffer& message) noexcept {
  return entry_overhead +
         (message.in_shared_slab() ? SharedBuffer::slab_size : message.footprint());
}

void AckLedger::add(const Unacked& unacked) noexcept {
  bytes_ += cost(unacked.message);
  if (unacked.message.in_shared_slab()) ++pinning_;
  MemoryGauge::add(entry_overhead);
}

void AckLedger::remove(const Unacked& unacked) noexcept {
  bytes_ -= cost(unacked.message);
  if (unacked.message.in_shared_slab()) --pinning_;
  MemoryGauge::remove(entry_overhead);
}

AckLedger::~AckLedger() {
  MemoryGauge::remove(owners_.size() * entry_overhead);
}

void AckLedger::compact() {
  if (pinning_ == 0) return;
  for (auto& [consumer, held] : by_consumer_) {
    for (auto& [id, unacked] : held) {
      if (!unacked.message.in_shared_slab()) continue;
      remove(unacked);
      unacked.message = unacked.message.compacted();
      add(unacked);
    }
  }
}

std::uint64_t AckLedger::record(SharedBuffer message, std::uint32_t failures,
                                QueueConsumer& consumer) {
  const std::uint64_t id = next_id_++;
  owners_.emplace(id, &consumer);
  // Ids grow, so every new entry goes at the end of its consumer's map.
  Held& held = by_consumer_[&consumer];
  const auto it =
      held.emplace_hint(held.end(), id, Unacked{std::move(message), failures, &consumer});
  add(it->second);
  return id;
}

std::optional<AckLedger::Unacked> AckLedger::take(std::uint64_t id) {
  const auto owner = owners_.find(id);
  if (owner == owners_.end()) return std::nullopt;
  const auto held = by_consumer_.find(owner->second);
  owners_.erase(owner);
  const auto it = held->second.find(id);
  remove(it->second);
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
    remove(unacked);
    owners_.erase(id);
    taken.emplace_back(id, std::move(unacked));
  }
  by_consumer_.erase(held);
  return taken;
}

}  // namespace paperboy::broker
