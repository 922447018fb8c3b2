#include "delivery.hpp"

#include "paperboy/protocol/frame.hpp"

namespace paperboy::broker {
namespace {

std::uint32_t u32(std::size_t n) noexcept {
  return static_cast<std::uint32_t>(n);
}

void fill_pb0(Delivery& d, const SharedBuffer& message) noexcept {
  // The payload's offset is the one thing a PB0 delivery needs from the frame: two name lengths
  // at fixed places, not a decode.
  const std::size_t payload =
      protocol::frame_header_size + protocol::written_msg_layout(message.view()).payload_offset();
  d.buffer = message;
  d.offset = u32(payload);
  d.size = u32(message.size() - payload);
  protocol::write_frame_header(d.prefix.data(), d.size);
  d.prefix_size = protocol::frame_header_size;
}

}  // namespace

void fill_topic_delivery(Delivery& d, const SharedBuffer& message, Dialect dialect) noexcept {
  d.origin = {};
  d.failures = 0;
  d.delivery_id = 0;
  if (dialect == Dialect::pb0) return fill_pb0(d, message);
  d.buffer = message;
  d.offset = 0;
  d.size = u32(message.size());
  d.prefix_size = 0;
}

void fill_first_delivery(Delivery& d, const SharedBuffer& frame, QueueId origin) noexcept {
  d.buffer = frame;
  d.offset = 0;
  d.size = u32(frame.size());
  d.prefix_size = 0;
  d.origin = origin;
  d.failures = 0;
  d.delivery_id = 0;
}

void fill_queue_delivery(Delivery& d, const QueuedMessage& queued, Dialect dialect, QueueId origin,
                         std::uint64_t delivery_id) noexcept {
  const std::uint8_t flags = queued.failures > 0 ? protocol::msg_flag_redelivered : 0;
  if (dialect == Dialect::pb0) {
    fill_pb0(d, queued.message);
  } else if (delivery_id == 0 && flags == 0) {
    fill_topic_delivery(d, queued.message, dialect);
  } else {
    // Same length as the shared frame: only the delivery id and flags differ.
    d.buffer = queued.message;
    constexpr auto header = protocol::msg_delivery_header_size;
    d.offset = u32(header);
    d.size = u32(queued.message.size() - header);
    protocol::write_msg_delivery_header(d.prefix.data(), queued.message.size(), delivery_id, flags);
    d.prefix_size = header;
  }
  d.origin = origin;
  d.failures = queued.failures;
  d.delivery_id = delivery_id;
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
