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
class SegmentReader {
 public:
  explicit SegmentReader(std::filesystem::path journal_dir) : dir_(std::move(journal_dir)) {}

  /// `size` bytes at `offset` of a segment, into a buffer kept for the next read (the view is
  /// valid until then). A pread, from the page cache as a rule.
  std::string_view read(std::uint64_t segment, std::uint64_t offset, std::size_t size,
                        std::error_code& ec);
  /// Closes the segment's descriptor (it is about to be deleted).
  void forget(std::uint64_t segment) { files_.erase(segment); }
  void clear() { files_.clear(); }

 private:
  const std::filesystem::path dir_;
  std::map<std::uint64_t, FileDescriptor> files_;
  std::string buffer_;
};

}  // namespace paperboy::broker::storage
