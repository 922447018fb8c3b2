#include "ack_ledger.hpp"

#include "memory_gauge.hpp"

namespace paperboy::broker {
namespace {

// What one entry costs besides its message: the id -> owner hash node (key, pointer, next,
// cached hash, bucket) and the consumer's ordered-map node (the entry, its key, three links and
// the colour).
constexpr std::size_t entry_overhead = sizeof(AckLedger::Unacked) + 10 * sizeof(void*);

// Buckets of the id index visited per record or take while handed-over ids remain.
constexpr std::size_t sweep_buckets = 4;

}  // namespace

std::size_t AckLedger::cost(const SharedBuffer& message) noexcept {
  return entry_overhead +
         (message.in_shared_slab() ? SharedBuffer::slab_size : message.footprint());
}

void AckLedger::add(Account& account, const Unacked& unacked) noexcept {
  const std::size_t c = cost(unacked.message);
  bytes_ += c;
  account.bytes += c;
  if (unacked.message.in_shared_slab()) {
    ++pinning_;
    ++account.pinning;
  }
  MemoryGauge::add(entry_overhead);
}

void AckLedger::remove(Account& account, const Unacked& unacked) noexcept {
  const std::size_t c = cost(unacked.message);
  bytes_ -= c;
  account.bytes -= c;
  if (unacked.message.in_shared_slab()) {
    --pinning_;
    --account.pinning;
  }
  MemoryGauge::remove(entry_overhead);
}

AckLedger::~AckLedger() {
  MemoryGauge::remove(outstanding_ * entry_overhead);
}

AckLedger::Unacked* AckLedger::find(std::uint64_t id, ConsumerId owner) {
  // The owner may have handed its deliveries over: only its own map can say whether the id is
  // still outstanding.
  const auto account = by_consumer_.find(owner);
  if (account == by_consumer_.end()) return nullptr;
  const auto it = account->second.held.find(id);
  return it == account->second.held.end() ? nullptr : &it->second;
}

void AckLedger::forget_handed_over() {
  for (std::size_t step = 0; step < sweep_buckets && handed_over_ > 0; ++step) {
    if (sweep_bucket_ >= owners_.bucket_count()) sweep_bucket_ = 0;
    const std::size_t bucket = sweep_bucket_++;
    for (auto it = owners_.begin(bucket); it != owners_.end(bucket);) {
      const auto [id, owner] = *it++;
      if (find(id, owner)) continue;
      owners_.erase(id);  // only the erased element's iterators are invalidated
      --handed_over_;
    }
  }
}

void AckLedger::compact() {
  // A consumer at the bound gets a delivery per ACK, and each may come in a shared slab: walking
  // the whole ledger every time would make a full ledger quadratic to fill.
  for (const std::uint64_t id : to_compact_) {
    const auto owner = owners_.find(id);
    if (owner == owners_.end()) continue;
    Unacked* unacked = find(id, owner->second);
    if (!unacked || !unacked->message.in_shared_slab()) continue;
    Account& account = by_consumer_.find(owner->second)->second;
    remove(account, *unacked);
    unacked->message = unacked->message.compacted();
    add(account, *unacked);
  }
  to_compact_.clear();
}

std::uint64_t AckLedger::record(SharedBuffer message, std::uint32_t failures, ConsumerId consumer,
                                Deadline expires, storage::MessageId stored) {
  forget_handed_over();
  const std::uint64_t id = next_id_++;
  owners_.emplace(id, consumer);
  ++outstanding_;
  // Ids grow, so every new entry goes at the end of its consumer's map.
  Account& account = by_consumer_[consumer];
  const auto it = account.held.emplace_hint(
      account.held.end(), id, Unacked{std::move(message), failures, consumer, expires, stored});
  add(account, it->second);
  if (it->second.message.in_shared_slab()) {
    // Settled ids are pruned once they outnumber the live ones: amortised O(1), and a ledger
    // that never reaches the bound does not grow this list forever.
    if (to_compact_.size() > 2 * pinning_ + 64) {
      std::erase_if(to_compact_, [this](std::uint64_t old) {
        const auto owner = owners_.find(old);
        return owner == owners_.end() || !find(old, owner->second);
      });
    }
    to_compact_.push_back(id);
  }
  return id;
}

std::optional<AckLedger::Unacked> AckLedger::take(std::uint64_t id) {
  forget_handed_over();
  const auto owner = owners_.find(id);
  if (owner == owners_.end()) return std::nullopt;
  Unacked* found = find(id, owner->second);
  const auto account = by_consumer_.find(owner->second);
  owners_.erase(owner);
  if (!found) {
    --handed_over_;  // handed over with its consumer
    return std::nullopt;
  }
  --outstanding_;
  remove(account->second, *found);
  Unacked unacked = std::move(*found);
  account->second.held.erase(id);
  if (account->second.held.empty()) by_consumer_.erase(account);
  return unacked;
}

AckLedger::Held AckLedger::take_all(ConsumerId consumer) {
  const auto account = by_consumer_.find(consumer);
  if (account == by_consumer_.end()) return {};
  const Account& taken = account->second;
  const std::size_t n = taken.held.size();
  bytes_ -= taken.bytes;
  pinning_ -= taken.pinning;
  outstanding_ -= n;
  handed_over_ += n;
  MemoryGauge::remove(n * entry_overhead);
  Held held = std::move(account->second.held);
  by_consumer_.erase(account);
  return held;
}

}  // namespace paperboy::broker
