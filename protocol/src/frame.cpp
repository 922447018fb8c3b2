#include "paperboy/protocol/frame.hpp"

#include <algorithm>
#include <cstring>

#include "big_endian.hpp"

namespace paperboy::protocol {

FrameParse parse_frame(std::string_view bytes, std::uint32_t max_body) noexcept {
  if (bytes.size() < frame_header_size) return {FrameStatus::need_more, {}};
  const auto length = detail::load_be<std::uint32_t>(bytes.data());
  if (length > max_body) return {FrameStatus::too_large, {}, length};
  if (bytes.size() - frame_header_size < length) return {FrameStatus::need_more, {}, length};
  return {FrameStatus::frame, bytes.substr(frame_header_size, length), length};
}

void write_frame_header(char* out, std::uint32_t length) noexcept { detail::store_be(out, length); }

FrameBuffer::FrameBuffer(std::size_t read_size, std::uint32_t max_body)
    : storage_(read_size), read_size_(read_size), max_body_(max_body) {}

char* FrameBuffer::writable_data() {
  // Keep the frame in progress contiguous: slide it to the front when the tail is short, and
  // grow only to what that one frame needs (its length is known once its prefix is in).
  if (begin_ == end_) begin_ = end_ = 0;
  std::size_t wanted = read_size_;
  if (buffered() >= frame_header_size) {
    const auto length = detail::load_be<std::uint32_t>(storage_.data() + begin_);
    if (length <= max_body_) wanted = std::max(wanted, frame_header_size + length - buffered());
  }
  if (storage_.size() - end_ < wanted) {
    if (begin_ > 0) {
      std::memmove(storage_.data(), storage_.data() + begin_, buffered());
      end_ -= begin_;
      begin_ = 0;
    }
    if (storage_.size() - end_ < wanted) storage_.resize(end_ + wanted);
  }
  return storage_.data() + end_;
}

FrameParse FrameBuffer::next() noexcept {
  const std::string_view bytes(storage_.data() + begin_, buffered());
  FrameParse parsed = parse_frame(bytes, max_body_);
  if (parsed.status == FrameStatus::frame) begin_ += frame_header_size + parsed.body.size();
  return parsed;
}

}  // namespace paperboy::protocol
