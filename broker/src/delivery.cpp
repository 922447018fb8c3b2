#include "delivery.hpp"

#include "paperboy/protocol/frame.hpp"

namespace paperboy::broker {
namespace {

std::uint32_t u32(std::size_t n) noexcept {
  return static_cast<std::uint32_t>(n);
}

/// Clears what only a queue delivery has, for a slot that may have held one.
void clear_queue_fields(Delivery& d) noexcept {
  d.origin = {};
  d.failures = 0;
  d.delivery_id = 0;
  d.expires = never;
}

/// The whole frame, as it is.
void fill_whole(Delivery& d, const SharedBuffer& frame) noexcept {
  d.buffer = frame;
  d.offset = 0;
  d.size = u32(frame.size());
  d.prefix_size = 0;
  d.tail_offset = 0;
}

/// The payload, behind a PB0 length prefix. The payload's offset is the one thing a PB0 delivery
/// needs from the frame: name (and header) lengths at fixed places, not a decode.
void fill_pb0(Delivery& d, const SharedBuffer& frame, bool version_2) noexcept {
  const std::size_t payload =
      protocol::frame_header_size +
      (version_2 ? protocol::written_msg_v2_layout(frame.view()).payload_offset()
                 : protocol::written_msg_layout(frame.view()).payload_offset());
  d.buffer = frame;
  d.offset = u32(payload);
  d.size = u32(frame.size() - payload);
  protocol::write_frame_header(d.prefix.data(), d.size);
  d.prefix_size = protocol::frame_header_size;
  d.tail_offset = 0;
}

/// A version-1 MSG made of a version-2 frame: its own delivery header, the names, the payload.
void fill_v1_of_v2(Delivery& d, const SharedBuffer& frame, std::uint64_t delivery_id,
                   std::uint8_t flags) noexcept {
  const auto v2 = protocol::written_msg_v2_layout(frame.view());
  const auto v1 = protocol::MsgLayout{{v2.channel_size, v2.reply_to_size}, v2.payload_size};
  d.buffer = frame;
  d.offset = u32(protocol::frame_header_size + protocol::MsgV2Layout::names_offset);
  d.size = u32(v2.names_size());
  d.tail_offset = u32(protocol::frame_header_size + v2.payload_offset());
  protocol::write_msg_delivery_header(d.prefix.data(), v1.frame_size(), delivery_id, flags);
  d.prefix_size = protocol::msg_delivery_header_size;
}

}  // namespace

void fill_topic_delivery(Delivery& d, Publication& message, Dialect dialect) {
  clear_queue_fields(d);
  switch (dialect) {
    case Dialect::pb1_v1: return fill_whole(d, message.v1_frame());
    case Dialect::pb1_v2: return fill_whole(d, message.v2_frame());
    case Dialect::pb0: {
      // Either version's frame has the payload: take one already made.
      const bool version_2 = message.has_v2_frame() && !message.has_v1_frame();
      return fill_pb0(d, version_2 ? message.v2_frame() : message.v1_frame(), version_2);
    }
  }
}

void fill_first_delivery(Delivery& d, const SharedBuffer& frame, QueueId origin,
                         Deadline expires) noexcept {
  fill_whole(d, frame);
  d.origin = origin;
  d.failures = 0;
  d.delivery_id = 0;
  d.expires = expires;
}

void fill_queue_delivery(Delivery& d, const QueuedMessage& queued, Dialect dialect, QueueId origin,
                         std::uint64_t delivery_id) noexcept {
  const std::uint8_t flags = queued.failures > 0 ? protocol::msg_flag_redelivered : 0;
  if (dialect == Dialect::pb0) {
    fill_pb0(d, queued.message, true);
  } else if (dialect == Dialect::pb1_v1) {
    fill_v1_of_v2(d, queued.message, delivery_id, flags);
  } else if (delivery_id == 0 && flags == 0) {
    fill_whole(d, queued.message);
  } else {
    // Same length as the shared frame: only the delivery id and flags differ.
    d.buffer = queued.message;
    constexpr auto header = protocol::msg_delivery_header_size;
    d.offset = u32(header);
    d.size = u32(queued.message.size() - header);
    d.tail_offset = 0;
    protocol::write_msg_delivery_header(d.prefix.data(), queued.message.size(), delivery_id, flags);
    d.prefix_size = header;
  }
  d.origin = origin;
  d.failures = queued.failures;
  d.delivery_id = delivery_id;
  d.expires = queued.expires;
}

Delivery control_frame(const protocol::Message& frame, std::uint8_t version) {
  const std::size_t size =
      protocol::frame_header_size + protocol::encoded_body_size(frame, version);
  auto buffer = SharedBuffer::allocate(size);
  protocol::write_frame(frame, buffer.writable_data(), version);
  Delivery d;
  d.buffer = std::move(buffer);
  d.size = u32(size);
  return d;
}

}  // namespace paperboy::broker
