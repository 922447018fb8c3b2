#pragma once

#include <cstddef>

#include "shared_buffer.hpp"

namespace paperboy::broker {

/// The shared slabs a FIFO of held messages (a send queue, a queue backlog) keeps alive, within a
/// budget. A message cut from a shared slab keeps all 64 KiB of it alive while it is held; a run
/// of consecutive messages from one slab (the usual case: one read batch) pins it once. A
/// message that would start a new run once the budget is spent is copied into an allocation of
/// its own instead, so one-byte messages held between other traffic cost their bytes, not a slab
/// each, and a holder that keeps up (runs of hundreds of messages) never copies.
///
/// The holder stores, with each entry, whether it starts a run (the flag join() returns) and
/// reports entries leaving its front (leave_front) or, after removing entries elsewhere, counts
/// its runs again (recount).
class SlabPins {
 public:
  explicit SlabPins(std::size_t budget_bytes) noexcept
      : budget_(budget_bytes / SharedBuffer::slab_size) {}

  /// A message joins at the back; compacts it when it would pin one slab too many. Returns
  /// whether it starts a run (pins a slab).
  bool join(SharedBuffer& message) {
    if (!message.in_shared_slab()) {
      last_ = nullptr;
      return false;
    }
    if (message.slab() == last_) return false;
    if (pinned_ >= budget_) {
      message = message.compacted();
      last_ = nullptr;
      return false;
    }
    last_ = message.slab();
    ++pinned_;
    return true;
  }

  /// The front entry left (`starts_run`: its flag); `next` is the entry now at the front, or
  /// null when none is left. Returns whether `next` now starts the run (the holder sets its flag).
  bool leave_front(bool starts_run, const SharedBuffer& left, const SharedBuffer* next) noexcept {
    if (next == nullptr) {
      if (starts_run) --pinned_;
      last_ = nullptr;
      return false;
    }
    if (!starts_run) return false;
    if (next->in_shared_slab() && next->slab() == left.slab()) return true;
    --pinned_;
    return false;
  }

  /// Forgets every run, before the holder joins its remaining entries again with count().
  void reset() noexcept {
    pinned_ = 0;
    last_ = nullptr;
  }
  /// Counts an entry already held (after reset, front to back); never copies. Returns its flag.
  bool count(const SharedBuffer& message) noexcept {
    if (!message.in_shared_slab()) {
      last_ = nullptr;
      return false;
    }
    if (message.slab() == last_) return false;
    last_ = message.slab();
    ++pinned_;
    return true;
  }

  /// Slabs the held entries keep alive, at most (one per run).
  std::size_t pinned() const noexcept { return pinned_; }

 private:
  std::size_t budget_;  ///< in slabs
  std::size_t pinned_ = 0;
  const void* last_ =
      nullptr;  ///< slab of the entry at the back, while it starts or continues a run
};

}  // namespace paperboy::broker
