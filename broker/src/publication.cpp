#include "publication.hpp"

#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/msg_layout.hpp"

namespace paperboy::broker {

const SharedBuffer& Publication::encode(SharedBuffer::Arena* arena) {
  const std::size_t size =
      protocol::msg_layout(fields_.channel, fields_.reply_to, fields_.payload.size()).frame_size();
  frame_ = arena ? arena->allocate(size) : SharedBuffer::allocate(size);
  const auto layout = protocol::write_msg_frame(frame_.writable_data(), fields_);
  // The encoding says where each field went: from now on the fields are views into the frame.
  const std::string_view body = frame_.view().substr(protocol::frame_header_size);
  fields_.channel = layout.channel_in(body);
  fields_.reply_to = layout.reply_to_in(body);
  fields_.payload = layout.payload_in(body);
  return frame_;
}

}  // namespace paperboy::broker
