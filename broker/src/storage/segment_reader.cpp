#include "storage/segment_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace paperboy::broker::storage {

std::string_view SegmentReader::read(std::uint64_t segment, std::uint64_t offset, std::size_t size,
                                     std::error_code& ec, bool fresh) {
  if (!fresh && segment == buffered_segment_ && offset >= buffered_offset_ &&
      offset + size <= buffered_offset_ + buffered_size_) {
    return {buffer_.data() + (offset - buffered_offset_), size};
  }
  buffered_size_ = 0;
  auto it = files_.find(segment);
  if (it == files_.end()) {
    FileDescriptor fd(::open(segment_path(dir_, segment).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      ec = last_error();
      return {};
    }
    it = files_.emplace(segment, std::move(fd)).first;
  }
  const std::size_t want = std::max(size, read_ahead);
  if (buffer_.size() < want) buffer_.resize(want);
  std::size_t done = 0;
  while (done < size) {
    const auto got = ::pread(it->second.get(), buffer_.data() + done, want - done,
                             static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      ec = last_error();
      return {};
    }
    if (got == 0) {
      ec = std::make_error_code(std::errc::io_error);  // shorter than the index says
      return {};
    }
    done += static_cast<std::size_t>(got);
  }
  buffered_segment_ = segment;
  buffered_offset_ = offset;
  buffered_size_ = done;
  return {buffer_.data(), size};
}

}  // namespace paperboy::broker::storage
