#include "publication.hpp"

#include "paperboy/protocol/frame.hpp"

namespace paperboy::broker {

Acceptance Acceptance::now() noexcept {
  const auto unix_time = std::chrono::system_clock::now().time_since_epoch();
  return {static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(unix_time).count()),
          std::chrono::steady_clock::now()};
}

const SharedBuffer& Publication::encode_v2(SharedBuffer::Arena* arena) {
  const std::size_t size = protocol::msg_v2_layout(fields_.channel, fields_.reply_to,
                                                   fields_.headers, fields_.payload.size())
                               .frame_size();
  v2_ = arena ? arena->allocate(size) : SharedBuffer::allocate(size);
  // The encoding says where each field went.
  point_into_frame(protocol::write_msg_v2_frame(v2_.writable_data(), fields_));
  return v2_;
}

const SharedBuffer& Publication::encode_v1() {
  const std::size_t size =
      protocol::msg_layout(fields_.channel, fields_.reply_to, fields_.payload.size()).frame_size();
  v1_ = SharedBuffer::allocate(size);
  protocol::write_msg_frame(v1_.writable_data(), fields_);
  return v1_;
}

void Publication::detach() {
  v1_ = {};
  if (!v2_frame().in_shared_slab()) return;
  v2_ = v2_.compacted();
  point_into_frame(protocol::written_msg_v2_layout(v2_.view()));
}

void Publication::point_into_frame(const protocol::MsgV2Layout& layout) noexcept {
  const std::string_view body = v2_.view().substr(protocol::frame_header_size);
  fields_.channel = layout.channel_in(body);
  fields_.reply_to = layout.reply_to_in(body);
  fields_.headers = layout.headers_in(body);
  fields_.payload = layout.payload_in(body);
}

}  // namespace paperboy::broker
