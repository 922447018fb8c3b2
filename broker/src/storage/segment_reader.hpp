#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <system_error>

#include "storage/segment_files.hpp"

namespace paperboy::broker::storage {

/// Reads records back from segments on the loop thread (paging a durable backlog in). A
/// descriptor per segment is kept open while the segment lives; the journal forgets a segment
/// before its file is handed to the reaper, so the loop never holds the last reference to an
/// unlinked file (closing that one would free its blocks on the loop: ~20 ms for 64 MiB).
///
/// Each pread reads ahead (`read_ahead` bytes): a queue's paged messages were mostly appended one
/// after another, so the next ones are usually in the buffer already. Bytes read ahead may have
/// been read before the writer finished them; the caller checks each record's CRC and id and
/// asks again with `fresh` when they do not hold.
class SegmentReader {
 public:
  explicit SegmentReader(std::filesystem::path journal_dir) : dir_(std::move(journal_dir)) {}

  /// `size` bytes at `offset` of a segment, into a buffer kept for the next read (the view is
  /// valid until then). A pread, from the page cache as a rule.
  std::string_view read(std::uint64_t segment, std::uint64_t offset, std::size_t size,
                        std::error_code& ec, bool fresh = false);
  /// Closes the segment's descriptor (it is about to be deleted).
  void forget(std::uint64_t segment) {
    files_.erase(segment);
    if (segment == buffered_segment_) buffered_size_ = 0;
  }
  void clear() {
    files_.clear();
    buffered_size_ = 0;
  }

  static constexpr std::size_t read_ahead = 128 * 1024;

 private:
  const std::filesystem::path dir_;
  std::map<std::uint64_t, FileDescriptor> files_;
  std::string buffer_;
  std::uint64_t buffered_segment_ = 0, buffered_offset_ = 0;
  std::size_t buffered_size_ = 0;  // valid bytes in buffer_
};

}  // namespace paperboy::broker::storage
