#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "shared_buffer.hpp"

namespace paperboy::broker {

class QueueConsumer;

/// One connection's manual-ack deliveries still waiting for ACK or NACK, by delivery id. Ids
/// start at 1 and only grow, so a late ACK of a given-back delivery can never hit a new one.
/// Indexed per consumer, so a consumer leaving costs what it holds, not what the connection
/// holds: a connection with thousands of subscriptions must not make each leave scan them all.
class AckLedger {
 public:
  struct Unacked {
    SharedBuffer message;
    std::uint32_t failures;
    QueueConsumer* consumer;
  };

  AckLedger() = default;
  ~AckLedger();
  AckLedger(const AckLedger&) = delete;
  AckLedger& operator=(const AckLedger&) = delete;

  /// Records a delivery and returns its fresh id.
  std::uint64_t record(SharedBuffer message, std::uint32_t failures, QueueConsumer& consumer);

  /// Removes and returns the delivery, or nothing when the id is not outstanding here.
  std::optional<Unacked> take(std::uint64_t id);

  /// Removes every delivery of `consumer`, handing each to `take(id, Unacked&&)` in delivery
  /// order (no list of them is built: a leaving consumer may hold 100,000).
  template <class F>
  void take_all(const QueueConsumer& consumer, F&& take);

  std::size_t size() const noexcept { return owners_.size(); }

  /// What the outstanding deliveries cost, the measure of --max-unacked-bytes: each entry's own
  /// size, and a whole slab for a message that still shares one (it keeps all of it alive).
  std::size_t bytes() const noexcept { return bytes_; }
  /// Copies every message that still shares a slab into an allocation of its own, so the
  /// ledger costs what it holds. Called when bytes() reaches the bound: each message is copied
  /// at most once, and a consumer that acks promptly never gets here.
  void compact();

 private:
  static std::size_t cost(const SharedBuffer& message) noexcept;
  void add(const Unacked& unacked) noexcept;
  void remove(const Unacked& unacked) noexcept;

  /// Ordered by id, so take_all returns delivery order without a sort.
  using Held = std::map<std::uint64_t, Unacked>;

  std::unordered_map<std::uint64_t, const QueueConsumer*> owners_;
  std::unordered_map<const QueueConsumer*, Held> by_consumer_;
  std::uint64_t next_id_ = 1;
  std::size_t bytes_ = 0;
  std::size_t pinning_ = 0;  ///< entries whose message still shares a slab
  /// Ids recorded with a message that shared a slab, since the last compact(): it visits only
  /// these (some may be settled by then), not the whole ledger each time.
  std::vector<std::uint64_t> to_compact_;
};

template <class F>
void AckLedger::take_all(const QueueConsumer& consumer, F&& take) {
  const auto held = by_consumer_.find(&consumer);
  if (held == by_consumer_.end()) return;
  for (auto& [id, unacked] : held->second) {
    remove(unacked);
    owners_.erase(id);
    take(id, std::move(unacked));
  }
  by_consumer_.erase(held);
}

}  // namespace paperboy::broker
