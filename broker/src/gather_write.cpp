#include "gather_write.hpp"

namespace paperboy::broker {
namespace {

// Past this a single call gains nothing: the socket buffer is smaller.
constexpr std::size_t max_bytes_per_call = 4 * 1024 * 1024;

}  // namespace

std::size_t gather_spans(const SendQueue& queue, std::size_t front_offset,
                         std::span<iovec> spans) noexcept {
  std::size_t count = 0;
  std::size_t total = 0;
  std::size_t skip = front_offset;
  const auto add = [&](const char* data, std::size_t size) {
    if (skip >= size) {
      skip -= size;
      return;
    }
    const char* start = data + skip;
    const std::size_t length = size - skip;
    total += length;
    skip = 0;
    // Buffers made one after another lie back to back: send such a run as one span.
    if (count > 0 &&
        static_cast<const char*>(spans[count - 1].iov_base) + spans[count - 1].iov_len == start) {
      spans[count - 1].iov_len += length;
      return;
    }
    spans[count++] = iovec{const_cast<char*>(start), length};
  };
  for (std::size_t i = 0;
       i < queue.size() && count + 3 <= spans.size() && total < max_bytes_per_call; ++i) {
    // The prefix lives in the queue entry itself, which stays put for the length of the write.
    const Delivery& d = queue.at(i);
    if (d.prefix_size > 0) add(d.prefix.data(), d.prefix_size);
    add(d.buffer.data() + d.offset, d.size);
    if (d.tail_offset != 0) add(d.buffer.data() + d.tail_offset, d.tail_size());
  }
  return count;
}

}  // namespace paperboy::broker
