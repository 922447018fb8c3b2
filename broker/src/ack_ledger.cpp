#include "ack_ledger.hpp"

#include <algorithm>

#include "memory_gauge.hpp"

namespace paperboy::broker {
namespace {

// A map node: the entry, its key, the next pointer and the cached hash, plus its bucket.
constexpr std::size_t entry_overhead = sizeof(AckLedger::Unacked) + 4 * sizeof(void*);

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
  MemoryGauge::remove(unacked_.size() * entry_overhead);
}

void AckLedger::compact() {
  if (pinning_ == 0) return;
  for (auto& [id, unacked] : unacked_) {
    if (!unacked.message.in_shared_slab()) continue;
    remove(unacked);
    unacked.message = unacked.message.compacted();
    add(unacked);
  }
}

std::uint64_t AckLedger::record(SharedBuffer message, std::uint32_t failures,
                                QueueConsumer& consumer) {
  const std::uint64_t id = next_id_++;
  const auto it = unacked_.emplace(id, Unacked{std::move(message), failures, &consumer}).first;
  add(it->second);
  return id;
}

std::optional<AckLedger::Unacked> AckLedger::take(std::uint64_t id) {
  const auto it = unacked_.find(id);
  if (it == unacked_.end()) return std::nullopt;
  remove(it->second);
  Unacked unacked = std::move(it->second);
  unacked_.erase(it);
  return unacked;
}

std::vector<std::pair<std::uint64_t, AckLedger::Unacked>> AckLedger::take_all(
    const QueueConsumer& consumer) {
  std::vector<std::pair<std::uint64_t, Unacked>> taken;
  for (auto it = unacked_.begin(); it != unacked_.end();) {
    if (it->second.consumer == &consumer) {
      remove(it->second);
      taken.emplace_back(it->first, std::move(it->second));
      it = unacked_.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(taken.begin(), taken.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return taken;
}

}  // namespace paperboy::broker
