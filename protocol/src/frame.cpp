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

void write_frame_header(char* out, std::uint32_t length) noexcept {
  detail::store_be(out, length);
}

FrameBuffer::FrameBuffer(std::size_t read_size, std::uint32_t max_body)
    : read_size_(read_size), max_body_(max_body) {}

char* FrameBuffer::writable_data() {
  // Keep the frame in progress contiguous: slide it to the front when the tail is short, and
  // grow only to what that one frame needs (its length is known once its prefix is in).
  if (begin_ == end_) begin_ = end_ = 0;
  std::size_t wanted = read_size_;
  if (buffered() >= frame_header_size) {
    // The front frame may already be complete (a reader that paused taking frames reads ahead);
    // only an incomplete one asks for more room.
    const auto length = detail::load_be<std::uint32_t>(storage_.get() + begin_);
    const std::size_t frame_size = frame_header_size + length;
    if (length <= max_body_ && frame_size > buffered()) {
      wanted = std::max(wanted, frame_size - buffered());
    }
  }
  if (capacity_ - end_ < wanted) reserve_for(wanted);
  return storage_.get() + end_;
}

void FrameBuffer::reserve_for(std::size_t wanted) {
  if (begin_ > 0 && capacity_ - buffered() >= wanted) {
    std::memmove(storage_.get(), storage_.get() + begin_, buffered());
  } else {
    // Not zero-filled: only the bytes the socket writes are ever touched.
    auto grown = std::unique_ptr<char[]>(new char[buffered() + wanted]);
    if (buffered() > 0) std::memcpy(grown.get(), storage_.get() + begin_, buffered());
    storage_ = std::move(grown);
    capacity_ = buffered() + wanted;
  }
  end_ -= begin_;
  begin_ = 0;
}

void FrameBuffer::release_if_empty() noexcept {
  if (buffered() != 0) return;
  storage_.reset();
  capacity_ = begin_ = end_ = 0;
}

FrameParse FrameBuffer::next() noexcept {
  const std::string_view bytes(storage_.get() + begin_, buffered());
  FrameParse parsed = parse_frame(bytes, max_body_);
  if (parsed.status == FrameStatus::frame) begin_ += frame_header_size + parsed.body.size();
  return parsed;
}

}  // namespace paperboy::protocol
