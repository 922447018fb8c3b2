#include "publication.hpp"

#include "paperboy/protocol/frame.hpp"

namespace paperboy::broker {

const SharedBuffer& Publication::encode(SharedBuffer::Arena* arena) {
  const std::size_t size =
      protocol::msg_layout(fields_.channel, fields_.reply_to, fields_.payload.size()).frame_size();
  frame_ = arena ? arena->allocate(size) : SharedBuffer::allocate(size);
  // The encoding says where each field went.
  point_into_frame(protocol::write_msg_frame(frame_.writable_data(), fields_));
  return frame_;
}

void Publication::detach() {
  if (!frame().in_shared_slab()) return;
  frame_ = frame_.compacted();
  point_into_frame(protocol::written_msg_layout(frame_.view()));
}

void Publication::point_into_frame(const protocol::MsgLayout& layout) noexcept {
  const std::string_view body = frame_.view().substr(protocol::frame_header_size);
  fields_.channel = layout.channel_in(body);
  fields_.reply_to = layout.reply_to_in(body);
  fields_.payload = layout.payload_in(body);
}

}  // namespace paperboy::broker
