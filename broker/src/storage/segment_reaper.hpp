#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

namespace paperboy::broker::storage {

/// Unlinks settled segments on a thread of its own. ext4 takes about 20 ms to free a 64 MiB
/// file's blocks; on the writer thread that held every confirm of the next batch behind it (the
/// p99 of confirmed publishes was the unlink). Segments go in the order handed over, so a younger
/// one (which may hold SETTLED records for an older one's messages) never goes first.
class SegmentReaper {
 public:
  explicit SegmentReaper(std::filesystem::path journal_dir);
  ~SegmentReaper();  // stop()
  SegmentReaper(const SegmentReaper&) = delete;
  SegmentReaper& operator=(const SegmentReaper&) = delete;

  /// Segments whose every message is settled on disk; nothing may hold them open for writing.
  void remove(const std::vector<std::uint64_t>& segments);
  /// Removes what was handed over, then joins the thread.
  void stop();
  /// Segments unlinked so far.
  std::uint64_t removed() const;

 private:
  void run();

  const std::filesystem::path dir_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::uint64_t> queued_;
  bool stopping_ = false;
  std::uint64_t removed_ = 0;
  std::thread thread_;
};

}  // namespace paperboy::broker::storage
