#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "deadline.hpp"
#include "registry.hpp"
#include "shared_buffer.hpp"
#include "stored_id.hpp"

namespace paperboy::broker {

/// One connection's manual-ack deliveries still waiting for ACK or NACK, by delivery id. Ids
/// start at 1 and only grow, so a late ACK of a given-back delivery can never hit a new one.
/// Indexed per consumer, so a consumer leaving costs what it holds, not what the connection
/// holds: a connection with thousands of subscriptions must not make each leave scan them all.
class AckLedger {
 public:
  struct Unacked {
    SharedBuffer message;
    std::uint32_t failures;
    ConsumerId consumer;
    Deadline expires = never;
    storage::MessageId stored = 0;  ///< its journal id (a durable queue's); 0: not stored
  };
  /// One consumer's deliveries by id, so in delivery order.
  using Held = std::map<std::uint64_t, Unacked>;

  AckLedger() = default;
  ~AckLedger();
  AckLedger(const AckLedger&) = delete;
  AckLedger& operator=(const AckLedger&) = delete;

  /// Records a delivery and returns its fresh id.
  std::uint64_t record(SharedBuffer message, std::uint32_t failures, ConsumerId consumer,
                       Deadline expires = never, storage::MessageId stored = 0);

  /// Removes and returns the delivery, or nothing when the id is not outstanding here.
  std::optional<Unacked> take(std::uint64_t id);

  /// Hands over every delivery of `consumer` whole, without visiting them: a leaving consumer
  /// may hold 100,000, and its channel takes them back a slice per loop turn. Their ids stop
  /// being outstanding at once (a late ACK is refused); the id index forgets them a few at a
  /// time as the connection goes on.
  Held take_all(ConsumerId consumer);

  std::size_t size() const noexcept { return outstanding_; }

  /// What the outstanding deliveries cost, the measure of --max-unacked-bytes: each entry's own
  /// size, and a whole slab for a message that still shares one (it keeps all of it alive).
  std::size_t bytes() const noexcept { return bytes_; }
  /// Copies every message that still shares a slab into an allocation of its own, so the
  /// ledger costs what it holds. Called when bytes() reaches the bound: each message is copied
  /// at most once, and a consumer that acks promptly never gets here.
  void compact();

 private:
  /// A consumer's deliveries and what they cost, so handing them over is O(1).
  struct Account {
    Held held;
    std::size_t bytes = 0;
    std::size_t pinning = 0;  ///< entries whose message still shares a slab
  };
  static std::size_t cost(const SharedBuffer& message) noexcept;
  void add(Account& account, const Unacked& unacked) noexcept;
  void remove(Account& account, const Unacked& unacked) noexcept;
  /// The entry behind an id, or null when it was handed over (or settled).
  Unacked* find(std::uint64_t id, ConsumerId owner);
  /// Drops a few handed-over ids from the index: amortised O(1) per record or take.
  void forget_handed_over();

  /// Every outstanding id, and ids handed over with their consumer not yet forgotten.
  std::unordered_map<std::uint64_t, ConsumerId> owners_;
  std::unordered_map<ConsumerId, Account, IdHash> by_consumer_;
  std::uint64_t next_id_ = 1;
  std::size_t outstanding_ = 0;
  std::size_t handed_over_ = 0;  ///< ids in owners_ that are no longer outstanding
  std::size_t sweep_bucket_ = 0;
  std::size_t bytes_ = 0;
  std::size_t pinning_ = 0;  ///< entries whose message still shares a slab
  /// Ids recorded with a message that shared a slab, since the last compact(): it visits only
  /// these (some may be settled by then), not the whole ledger each time.
  std::vector<std::uint64_t> to_compact_;
};

}  // namespace paperboy::broker
