#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "deadline.hpp"
#include "shared_buffer.hpp"
#include "stored_id.hpp"

namespace paperboy::broker {

namespace storage {
class Journal;
}

/// The broker's side of the journal (storage/journal.hpp): which queue channels are durable, and
/// the records a durable message's life writes. A message's id (storage::MessageId, 0: not
/// stored) travels with it (QueuedMessage, the ack ledger's entries); every call below does
/// nothing for id 0, so a caller needs no branch of its own. Without --data-dir there is no
/// journal and no channel is durable.
class MessageStore {
 public:
  void attach(storage::Journal& journal, std::vector<std::string> patterns) noexcept {
    journal_ = &journal;
    patterns_ = std::move(patterns);
  }
  storage::Journal* journal() const noexcept { return journal_; }

  /// True when a queue channel of this name keeps its messages in the journal.
  bool covers(std::string_view queue) const noexcept;
  /// False while the disk refuses writes: durable PUBs are refused with ERR 12.
  bool accepting() const noexcept;
  /// The batch the next record goes into; a PUB whose message is recorded now is confirmed once
  /// that batch is on disk.
  std::uint64_t open_batch() const noexcept;

  /// Records a message entering a durable queue (published, or given back with no record of
  /// its own any more); returns its id.
  storage::MessageId enqueue(std::string_view queue, const SharedBuffer& frame,
                             std::uint32_t failures, Deadline expires);
  /// Handed out for a manual ack: after a crash it comes back flagged redelivered.
  void delivered(storage::MessageId id) {
    if (id != 0) append_delivered(id);
  }
  /// Gone for good: acked, handed to an auto-ack consumer, expired, dead-lettered or purged.
  void settled(storage::MessageId id) {
    if (id != 0) append_settled(id);
  }

  /// A stored expiry (Unix ms, 0: never) as the steady-clock deadline the queues use, and back.
  static Deadline deadline_of(std::uint64_t expires_unix_ms) noexcept;
  static std::uint64_t unix_ms_of(Deadline expires) noexcept;

 private:
  void append_delivered(storage::MessageId id);
  void append_settled(storage::MessageId id);

  storage::Journal* journal_ = nullptr;
  std::vector<std::string> patterns_;
};

}  // namespace paperboy::broker
