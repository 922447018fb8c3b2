// What the storage tests share: a temporary data dir, and a journal on a loop the test turns.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "storage/journal.hpp"
#include "storage/segment_files.hpp"

namespace paperboy::broker::storage::testing {

/// A fresh directory under the system's temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "paperboy-storage-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(last_error(), "mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// One on_committed report.
struct Commit {
  std::uint64_t durable_through = 0, failed_through = 0;
  std::error_code error;
};

/// A journal on an io_context that only runs while the test waits for something.
class JournalOnLoop {
 public:
  explicit JournalOnLoop(JournalOptions options) { open(std::move(options)); }

  void open(JournalOptions options) {
    journal.reset();
    journal = std::make_unique<Journal>(io.get_executor(), std::move(options));
    journal->on_committed([this](std::uint64_t durable, std::uint64_t failed, std::error_code ec) {
      commits.push_back({durable, failed, ec});
      if (!ec) durable_through = durable;
    });
  }

  /// Turns the loop until `done()` holds; fails the test after `limit`.
  template <class Condition>
  bool run_until(Condition done, std::chrono::seconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (io.stopped()) io.restart();
      io.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  /// Lets the open batch go and waits until it is on disk.
  void commit() {
    const std::uint64_t batch = journal->open_batch();
    REQUIRE(run_until([&] { return durable_through >= batch; }));
  }

  asio::io_context io;
  std::unique_ptr<Journal> journal;
  std::vector<Commit> commits;
  std::uint64_t durable_through = 0;
};

/// Options for a journal in `dir`.
inline JournalOptions options_in(const std::filesystem::path& dir,
                                 std::uint64_t segment_bytes = 64ull << 20) {
  JournalOptions options;
  options.dir = dir;
  options.segment_bytes = segment_bytes;
  options.retry_interval = std::chrono::milliseconds(20);
  return options;
}

/// The sizes of DIR/journal's segment files, in order.
inline std::vector<std::uintmax_t> segment_sizes(const std::filesystem::path& dir) {
  std::vector<std::uintmax_t> sizes;
  const auto journal_dir = journal_directory(dir);
  for (const auto number : list_segments(journal_dir)) {
    // A settled segment may be unlinked (by the journal's reaper thread) while we look.
    std::error_code gone;
    const auto size = std::filesystem::file_size(segment_path(journal_dir, number), gone);
    if (!gone) sizes.push_back(size);
  }
  return sizes;
}

/// Damages one byte of a file in place.
inline void flip_byte(const std::filesystem::path& file, std::uint64_t at) {
  std::fstream stream(file, std::ios::binary | std::ios::in | std::ios::out);
  stream.seekg(static_cast<std::streamoff>(at));
  char byte = 0;
  stream.read(&byte, 1);
  byte = static_cast<char>(byte ^ 0x5A);
  stream.seekp(static_cast<std::streamoff>(at));
  stream.write(&byte, 1);
}

}  // namespace paperboy::broker::storage::testing
