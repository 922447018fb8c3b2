#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "paperboy/protocol/messages.hpp"
#include "paperboy/protocol/msg_layout.hpp"
#include "publication.hpp"
#include "registry.hpp"
#include "shared_buffer.hpp"
#include "stored_id.hpp"

namespace paperboy::broker {

/// The wire dialects a session may speak: the PB0 prototype's, or PB1 in the version HELLO
/// negotiated.
enum class Dialect : std::uint8_t { pb0, pb1_v1, pb1_v2 };

// A published message lives in SharedBuffers holding its PB1 MSG frames with delivery 0 and no
// flags (built by Publication): a topic message in the version each subscriber speaks, each
// made once and only if someone needs it; a queue message in version 2 alone, which has all of
// it (timestamp, headers). Every delivery sends spans of such a buffer, behind a few bytes of its
// own when it must differ:
//   PB1, the frame's version, plain:         the whole frame;
//   PB1, the frame's version, with id/flags: its own MSG delivery header (length, op, delivery,
//                                            flags), then the frame from there on
//                                            (protocol::msg_delivery_header_size);
//   version 1 from a version 2 frame:        its own version-1 delivery header, the names, then
//                                            the payload (the timestamp and headers left out);
//   PB0:                                     its own 4-byte length prefix + the payload.
// So the payload is copied once per version, when the message is built, and never again. The
// offsets are the protocol's (protocol/msg_layout.hpp).

/// A queue message waiting in a channel (its version 2 frame), with what its past deliveries
/// taught us.
struct QueuedMessage {
  SharedBuffer message;
  std::uint32_t failures = 0;  ///< deliveries given back by NACK or a consumer leaving
  ConsumerId avoid = {};       ///< the consumer that just gave it back, if any
  bool starts_run = false;     ///< first of the backlog's entries from its slab (SlabPins)
  Deadline expires = never;    ///< past this it is discarded, never delivered (PUB v2 TTL)
  storage::MessageId stored = 0;  ///< its id in the journal (a durable queue's); 0: not stored
};

/// One entry of a send queue: a few bytes of its own, then a span of a shared buffer and maybe
/// the buffer's tail (gathered into one writev). A queue delivery also remembers where it came
/// from, and what it was, so it can go back there if it is never written. It has no journal id
/// (the slot stays 72 bytes): a manual-ack delivery's is in the ack ledger, and an auto-ack one
/// was settled when handed out, so a durable queue records it anew if it comes back unsent.
struct Delivery {
  SharedBuffer buffer;
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
  std::array<char, protocol::msg_delivery_header_size> prefix{};
  std::uint8_t prefix_size = 0;
  bool starts_run = false;  ///< first of the send queue's entries from its slab (SlabPins)
  QueueId origin;           ///< the queue channel it came from; empty for anything else
  std::uint32_t failures = 0;
  /// Non-zero: the buffer from here to its end follows the span (a version-1 delivery of a
  /// version-2 frame skips the timestamp and headers between its names and payload).
  std::uint32_t tail_offset = 0;
  std::uint64_t delivery_id = 0;
  Deadline expires = never;

  std::size_t tail_size() const noexcept {
    return tail_offset == 0 ? 0 : buffer.size() - tail_offset;
  }
  std::size_t wire_size() const noexcept { return std::size_t{prefix_size} + size + tail_size(); }
};

/// Makes `d` (a reused send-queue slot) send a topic message as the given dialect does, encoding
/// the frame of that version if it is the first to need it.
void fill_topic_delivery(Delivery& d, Publication& message, Dialect dialect);

/// Makes `d` (a reused send-queue slot) send a version-2 queue message the first time, with no
/// delivery id: the frame as it is.
void fill_first_delivery(Delivery& d, const SharedBuffer& frame, QueueId origin,
                         Deadline expires) noexcept;

/// Makes `d` (a reused send-queue slot) send a queue message to one consumer: with a delivery id
/// when it must be acked, flagged redelivered when an earlier delivery of it failed.
void fill_queue_delivery(Delivery& d, const QueuedMessage& queued, Dialect dialect, QueueId origin,
                         std::uint64_t delivery_id) noexcept;

/// A PB1 control frame (OK, ERR, PONG, WELCOME, GAP, BLOCKED, UNBLOCKED) in a buffer of its own,
/// encoded as `version` has it.
Delivery control_frame(const protocol::Message& frame,
                       std::uint8_t version = protocol::pb1_version);

}  // namespace paperboy::broker
