#include "delivery.hpp"

#include <cstring>

#include "paperboy/protocol/frame.hpp"

namespace paperboy::broker {
namespace {

constexpr std::size_t pb0_prefix = protocol::frame_header_size;

std::uint32_t u32(std::size_t n) noexcept {
  return static_cast<std::uint32_t>(n);
}

std::size_t payload_offset(const SharedBuffer& message) noexcept {
  // The channel and reply-to lengths sit at fixed places in the MSG body; decoding the whole
  // frame here would be wasted work on the per-delivery path.
  const std::size_t body = pb0_prefix + protocol::frame_header_size;
  const auto* p = reinterpret_cast<const unsigned char*>(message.data());
  const std::size_t clen = std::size_t{p[body + 10]} << 8 | p[body + 11];
  const std::size_t rlen = std::size_t{p[body + 12 + clen]} << 8 | p[body + 13 + clen];
  return body + 14 + clen + rlen;
}

}  // namespace

SharedBuffer make_message(std::string_view channel, std::string_view reply_to,
                          std::string_view payload) {
  const protocol::Msg msg{0, 0, channel, reply_to, payload};
  const std::size_t frame = protocol::frame_header_size + protocol::encoded_body_size(msg);
  auto buffer = SharedBuffer::allocate(pb0_prefix + frame);
  protocol::write_frame_header(buffer.writable_data(), u32(payload.size()));
  protocol::write_frame(msg, buffer.writable_data() + pb0_prefix);
  return buffer;
}

protocol::Msg message_fields(const SharedBuffer& message) noexcept {
  const auto body = message.view().substr(pb0_prefix + protocol::frame_header_size);
  auto decoded = protocol::decode(body);
  return std::get<protocol::Msg>(*decoded);
}

std::size_t message_payload_size(const SharedBuffer& message) noexcept {
  return message.size() - payload_offset(message);
}

Delivery deliver_message(const SharedBuffer& message, Dialect dialect,
                         QueueChannel* origin) noexcept {
  Delivery d{message, 0, 0, 0, 0, origin};
  if (dialect == Dialect::pb1) {
    d.head_offset = u32(pb0_prefix);
    d.head_size = u32(message.size() - pb0_prefix);
  } else {
    const auto payload = payload_offset(message);
    d.head_size = u32(pb0_prefix);
    d.tail_offset = u32(payload);
    d.tail_size = u32(message.size() - payload);
  }
  return d;
}

Delivery control_frame(const protocol::Message& frame) {
  const std::size_t size = protocol::frame_header_size + protocol::encoded_body_size(frame);
  auto buffer = SharedBuffer::allocate(size);
  protocol::write_frame(frame, buffer.writable_data());
  return Delivery{std::move(buffer), 0, u32(size), 0, 0, nullptr};
}

}  // namespace paperboy::broker
