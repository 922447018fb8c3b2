#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "paperboy/protocol/messages.hpp"
#include "paperboy/protocol/msg_layout.hpp"
#include "registry.hpp"
#include "shared_buffer.hpp"

namespace paperboy::broker {

/// The wire dialects a session may speak: the PB0 prototype's, or PB1 in the version HELLO
/// negotiated.
enum class Dialect : std::uint8_t { pb0, pb1_v1, pb1_v2 };

// A published message lives in one SharedBuffer holding its PB1 MSG frame with delivery 0 and no
// flags (built by Publication). Every delivery sends a span of that buffer, behind a few bytes of
// its own when it must differ:
//   PB1, plain:             the whole frame;
//   PB1, with an id/flags:  its own MSG delivery header (length, op, delivery, flags), then the
//                           frame from the names on (protocol::msg_delivery_header_size);
//   PB0:                    its own 4-byte length prefix + the payload.
// So the payload is copied once, when the message is built, and never again. The offsets are
// the protocol's (protocol/msg_layout.hpp).

/// A queue message waiting in a channel, with what its past deliveries taught us.
struct QueuedMessage {
  SharedBuffer message;
  std::uint32_t failures = 0;  ///< deliveries given back by NACK or a consumer leaving
  ConsumerId avoid = {};       ///< the consumer that just gave it back, if any
  bool starts_run = false;     ///< first of the backlog's entries from its slab (SlabPins)
};

/// One entry of a send queue: a few bytes of its own, then a span of a shared buffer (gathered
/// into one writev). A queue delivery also remembers where it came from, so it can go back there
/// if it is never written.
struct Delivery {
  SharedBuffer buffer;
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
  std::array<char, protocol::msg_delivery_header_size> prefix{};
  std::uint8_t prefix_size = 0;
  bool starts_run = false;  ///< first of the send queue's entries from its slab (SlabPins)
  QueueId origin;           ///< the queue channel it came from; empty for anything else
  std::uint32_t failures = 0;
  std::uint64_t delivery_id = 0;

  std::size_t wire_size() const noexcept { return std::size_t{prefix_size} + size; }
};

/// Makes `d` (a reused send-queue slot) send a topic message as the given dialect does.
void fill_topic_delivery(Delivery& d, const SharedBuffer& message, Dialect dialect) noexcept;

/// Makes `d` (a reused send-queue slot) send a PB1 queue message the first time, with no delivery
/// id: the frame as it is.
void fill_first_delivery(Delivery& d, const SharedBuffer& frame, QueueId origin) noexcept;

/// Makes `d` (a reused send-queue slot) send a queue message to one consumer: with a delivery id
/// when it must be acked, flagged redelivered when an earlier delivery of it failed.
void fill_queue_delivery(Delivery& d, const QueuedMessage& queued, Dialect dialect, QueueId origin,
                         std::uint64_t delivery_id) noexcept;

/// A PB1 control frame (OK, ERR, PONG, WELCOME, GAP, BLOCKED, UNBLOCKED) in a buffer of its own,
/// encoded as `version` has it.
Delivery control_frame(const protocol::Message& frame,
                       std::uint8_t version = protocol::pb1_version);

}  // namespace paperboy::broker
