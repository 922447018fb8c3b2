#pragma once

#include <string_view>

#include "paperboy/protocol/messages.hpp"
#include "paperboy/protocol/msg_layout.hpp"
#include "shared_buffer.hpp"

namespace paperboy::broker {

/// One published message on its way through the router. It starts as the PUB's fields (views
/// into the read buffer) and is encoded into its shared MSG frame (delivery 0, no flags: see
/// delivery.hpp) only when a channel takes it, so a message that reaches nobody costs no copy.
/// It is encoded at most once, however often a parked PUB is offered again.
class Publication {
 public:
  Publication(std::string_view channel, std::string_view reply_to,
              std::string_view payload) noexcept
      : fields_{0, 0, channel, reply_to, payload} {}

  /// The channel it is published on: in the caller's bytes until encoded, in its frame after.
  std::string_view channel() const noexcept { return fields_.channel; }

  /// The shared frame, encoded on the first call: the one copy of the payload. After it the
  /// publication no longer points into the caller's bytes, so it may wait (a parked PUB).
  const SharedBuffer& frame() { return frame_ ? frame_ : encode(nullptr); }
  /// The same, encoded in `arena` if it is not encoded yet: a queue message with one recipient
  /// goes where that recipient's other deliveries lie.
  const SharedBuffer& frame(SharedBuffer::Arena& arena) { return frame_ ? frame_ : encode(&arena); }

  /// For a message that will wait (a parked PUB): encodes it if that is still to do, and moves
  /// its frame out of a shared slab into an allocation of its own, so waiting costs its own bytes
  /// and never keeps a whole slab alive.
  void detach();

 private:
  /// In `arena`, or the thread's when null.
  const SharedBuffer& encode(SharedBuffer::Arena* arena);
  /// From now on the fields are views into the frame, where `layout` says they went.
  void point_into_frame(const protocol::MsgLayout& layout) noexcept;

  protocol::Msg fields_;
  SharedBuffer frame_;
};

}  // namespace paperboy::broker
