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
  // A consumer at the bound gets a delivery per ACK, and each may come in a shared slab: walking
  // the whole ledger every time would make a full ledger quadratic to fill.
  for (const std::uint64_t id : to_compact_) {
    const auto owner = owners_.find(id);
    if (owner == owners_.end()) continue;
    Unacked& unacked = by_consumer_.find(owner->second)->second.find(id)->second;
    if (!unacked.message.in_shared_slab()) continue;
    remove(unacked);
    unacked.message = unacked.message.compacted();
    add(unacked);
  }
  to_compact_.clear();
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
  if (it->second.message.in_shared_slab()) {
    // Settled ids are pruned once they outnumber the live ones: amortised O(1), and a ledger
    // that never reaches the bound does not grow this list forever.
    if (to_compact_.size() > 2 * pinning_ + 64) {
      std::erase_if(to_compact_, [this](std::uint64_t old) { return !owners_.contains(old); });
    }
    to_compact_.push_back(id);
  }
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

}  // namespace paperboy::broker
