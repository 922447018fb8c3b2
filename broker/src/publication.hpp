#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "deadline.hpp"
#include "paperboy/protocol/messages.hpp"
#include "paperboy/protocol/msg_layout.hpp"
#include "shared_buffer.hpp"

namespace paperboy::broker {

/// When the broker took a PUB: the Unix time version-2 subscribers see, and the steady time its
/// TTL counts from. Read once per read batch, not per message.
struct Acceptance {
  std::uint64_t unix_ns = 0;
  Deadline steady;

  static Acceptance now() noexcept;
  /// The deadline of a message with this TTL taken now (0: never).
  Deadline expiry(std::uint32_t ttl_ms) const noexcept {
    return ttl_ms == 0 ? never : steady + std::chrono::milliseconds(ttl_ms);
  }
};

/// One published message on its way through the router. It starts as the PUB's fields (views
/// into the read buffer) and is encoded into its shared MSG frames (delivery 0, no flags: see
/// delivery.hpp) only when a channel takes it, so a message that reaches nobody costs no copy:
/// a version-1 frame if a version-1 (or PB0) subscriber needs one, a version-2 frame (what a
/// queue keeps) if anyone else does. Each is encoded at most once, however often a parked PUB is
/// offered again.
class Publication {
 public:
  Publication(std::string_view channel, std::string_view reply_to, std::string_view payload,
              std::uint64_t published_at, Deadline expires = never,
              std::string_view headers = {}) noexcept
      : fields_{0, 0, channel, reply_to, payload, published_at, headers}, expires_(expires) {}

  /// The channel it is published on: in the caller's bytes until encoded, in its frame after.
  std::string_view channel() const noexcept { return fields_.channel; }
  /// Where answers go; empty if none. Like channel(), in the caller's bytes until encoded.
  std::string_view reply_to() const noexcept { return fields_.reply_to; }
  Deadline expires() const noexcept { return expires_; }
  /// When the broker took it, Unix ns.
  std::uint64_t published_at() const noexcept { return fields_.published_at; }
  /// A durable queue recorded it in the journal's batch `batch`: its OK waits for that batch.
  void stored_in(std::uint64_t batch) noexcept { stored_batch_ = batch; }
  /// The journal batch holding it; 0 when it went to no durable queue.
  std::uint64_t stored_batch() const noexcept { return stored_batch_; }

  /// The version-2 frame, encoded on the first call: it has everything (timestamp, headers), so
  /// it is the one a queue keeps and a parked PUB waits with. From then on the publication no
  /// longer points into the caller's bytes.
  const SharedBuffer& v2_frame() { return v2_ ? v2_ : encode_v2(nullptr); }
  /// The same, encoded in `arena` if it is not encoded yet: a queue message with one recipient
  /// goes where that recipient's other deliveries lie.
  const SharedBuffer& v2_frame(SharedBuffer::Arena& arena) { return v2_ ? v2_ : encode_v2(&arena); }
  /// The version-1 frame (no timestamp, no headers), encoded on the first call.
  const SharedBuffer& v1_frame() { return v1_ ? v1_ : encode_v1(); }
  bool has_v1_frame() const noexcept { return static_cast<bool>(v1_); }
  bool has_v2_frame() const noexcept { return static_cast<bool>(v2_); }

  /// For a message that will wait (a parked PUB): encodes its version-2 frame if that is still
  /// to do, and moves it out of a shared slab into an allocation of its own, so waiting costs its
  /// own bytes and never keeps a whole slab alive.
  void detach();

 private:
  /// In `arena`, or the thread's when null.
  const SharedBuffer& encode_v2(SharedBuffer::Arena* arena);
  const SharedBuffer& encode_v1();
  /// From now on the fields are views into the version-2 frame, where `layout` says they went.
  void point_into_frame(const protocol::MsgV2Layout& layout) noexcept;

  protocol::Msg fields_;
  Deadline expires_;
  std::uint64_t stored_batch_ = 0;
  SharedBuffer v2_;
  SharedBuffer v1_;
};

}  // namespace paperboy::broker
