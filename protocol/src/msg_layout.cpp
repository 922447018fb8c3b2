#include "paperboy/protocol/msg_layout.hpp"

#include "big_endian.hpp"
#include "paperboy/protocol/messages.hpp"

namespace paperboy::protocol {

void write_msg_delivery_header(char* out, std::size_t frame_size, std::uint64_t delivery,
                               std::uint8_t flags) noexcept {
  write_frame_header(out, static_cast<std::uint32_t>(frame_size - frame_header_size));
  char* body = out + frame_header_size;
  body[0] = static_cast<char>(Op::msg);
  detail::store_be(body + MsgLayout::delivery_offset, delivery);
  detail::store_be(body + MsgLayout::flags_offset, flags);
}

MsgLayout written_msg_layout(std::string_view frame) noexcept {
  const char* body = frame.data() + frame_header_size;
  MsgLayout layout;
  layout.channel_size = detail::load_be<std::uint16_t>(body + MsgLayout::names_offset);
  layout.reply_to_size = detail::load_be<std::uint16_t>(body + layout.reply_to_offset() - 2);
  layout.payload_size =
      static_cast<std::uint32_t>(frame.size() - frame_header_size - layout.payload_offset());
  return layout;
}

MsgV2Layout written_msg_v2_layout(std::string_view frame) noexcept {
  const char* body = frame.data() + frame_header_size;
  MsgV2Layout layout;
  layout.channel_size = detail::load_be<std::uint16_t>(body + MsgV2Layout::names_offset);
  layout.reply_to_size = detail::load_be<std::uint16_t>(body + layout.reply_to_offset() - 2);
  layout.headers_size = detail::load_be<std::uint16_t>(body + layout.headers_offset() - 2);
  layout.payload_size =
      static_cast<std::uint32_t>(frame.size() - frame_header_size - layout.payload_offset());
  return layout;
}

std::uint64_t msg_published_at(std::string_view body) noexcept {
  return detail::load_be<std::uint64_t>(body.data() + MsgV2Layout::published_at_offset);
}

std::uint64_t msg_delivery(std::string_view body) noexcept {
  return detail::load_be<std::uint64_t>(body.data() + MsgLayout::delivery_offset);
}

}  // namespace paperboy::protocol
