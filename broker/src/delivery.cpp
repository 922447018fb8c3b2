#include "delivery.hpp"

#include <cstring>

#include "paperboy/protocol/frame.hpp"

namespace paperboy::broker {
namespace {

// Bytes of a MSG frame before its channel: length, op, delivery, flags.
constexpr std::size_t msg_header_size = 4 + 1 + 8 + 1;

std::uint32_t u32(std::size_t n) noexcept {
  return static_cast<std::uint32_t>(n);
}

std::size_t payload_offset(const SharedBuffer& message) noexcept {
  // The channel and reply-to lengths sit at fixed places in the frame; decoding the whole frame
  // here would be wasted work on the per-delivery path.
  const auto* p = reinterpret_cast<const unsigned char*>(message.data());
  const std::size_t clen = std::size_t{p[msg_header_size]} << 8 | p[msg_header_size + 1];
  const std::size_t rlen =
      std::size_t{p[msg_header_size + 2 + clen]} << 8 | p[msg_header_size + 3 + clen];
  return msg_header_size + 4 + clen + rlen;
}

void fill_pb0(Delivery& d, const SharedBuffer& message) noexcept {
  const std::size_t payload = payload_offset(message);
  d.buffer = message;
  d.offset = u32(payload);
  d.size = u32(message.size() - payload);
  protocol::write_frame_header(d.prefix.data(), d.size);
  d.prefix_size = protocol::frame_header_size;
}

}  // namespace

SharedBuffer make_message(std::string_view channel, std::string_view reply_to,
                          std::string_view payload) {
  const protocol::Msg msg{0, 0, channel, reply_to, payload};
  auto buffer =
      SharedBuffer::allocate(protocol::frame_header_size + protocol::encoded_body_size(msg));
  protocol::write_frame(msg, buffer.writable_data());
  return buffer;
}

protocol::Msg message_fields(const SharedBuffer& message) noexcept {
  auto decoded = protocol::decode(message.view().substr(protocol::frame_header_size));
  return std::get<protocol::Msg>(*decoded);
}

void fill_topic_delivery(Delivery& d, const SharedBuffer& message, Dialect dialect) noexcept {
  d.origin = nullptr;
  d.failures = 0;
  d.delivery_id = 0;
  if (dialect == Dialect::pb0) return fill_pb0(d, message);
  d.buffer = message;
  d.offset = 0;
  d.size = u32(message.size());
  d.prefix_size = 0;
}

Delivery queue_delivery(const QueuedMessage& queued, Dialect dialect, QueueChannel& origin,
                        std::uint64_t delivery_id) noexcept {
  const std::uint8_t flags = queued.failures > 0 ? protocol::msg_flag_redelivered : 0;
  Delivery d;
  if (dialect == Dialect::pb0) {
    fill_pb0(d, queued.message);
  } else if (delivery_id == 0 && flags == 0) {
    fill_topic_delivery(d, queued.message, dialect);
  } else {
    // Same length as the shared frame: only the delivery id and flags differ.
    d.buffer = queued.message;
    d.offset = u32(msg_header_size);
    d.size = u32(queued.message.size() - msg_header_size);
    std::memcpy(d.prefix.data(), queued.message.data(), 5);
    for (int i = 0; i < 8; ++i) {
      d.prefix[static_cast<std::size_t>(5 + i)] =
          static_cast<char>(static_cast<unsigned char>(delivery_id >> (56 - 8 * i)));
    }
    d.prefix[13] = static_cast<char>(flags);
    d.prefix_size = msg_header_size;
  }
  d.origin = &origin;
  d.failures = queued.failures;
  d.delivery_id = delivery_id;
  return d;
}

Delivery control_frame(const protocol::Message& frame) {
  const std::size_t size = protocol::frame_header_size + protocol::encoded_body_size(frame);
  auto buffer = SharedBuffer::allocate(size);
  protocol::write_frame(frame, buffer.writable_data());
  Delivery d;
  d.buffer = std::move(buffer);
  d.size = u32(size);
  return d;
}

}  // namespace paperboy::broker
