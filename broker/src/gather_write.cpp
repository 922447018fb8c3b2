#include "gather_write.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <climits>

namespace paperboy::broker {
namespace {

constexpr std::size_t max_spans = IOV_MAX;
// Past this a single call gains nothing: the socket buffer is smaller.
constexpr std::size_t max_bytes_per_call = 4 * 1024 * 1024;

}  // namespace

GatherResult write_gathered(int fd, const SendQueue& queue, std::size_t front_offset) noexcept {
  std::array<iovec, max_spans> spans;
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
  for (std::size_t i = 0; i < queue.size() && count + 2 <= max_spans && total < max_bytes_per_call;
       ++i) {
    // The prefix lives in the queue entry itself, which stays put for the length of this call.
    const Delivery& d = queue.at(i);
    if (d.prefix_size > 0) add(d.prefix.data(), d.prefix_size);
    add(d.buffer.data() + d.offset, d.size);
  }
  msghdr message{};
  message.msg_iov = spans.data();
  message.msg_iovlen = count;
  for (;;) {
    const ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (n >= 0) return {static_cast<std::size_t>(n), {}};
    if (errno == EINTR) continue;
    return {0, std::error_code(errno, std::system_category())};
  }
}

}  // namespace paperboy::broker
