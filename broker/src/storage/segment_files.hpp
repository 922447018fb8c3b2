#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace paperboy::broker::storage {

/// DIR/journal, where the segments are.
std::filesystem::path journal_directory(const std::filesystem::path& data_dir);
/// DIR/journal/00000000000000000001.seg: 20 digits, so names sort like numbers.
std::filesystem::path segment_path(const std::filesystem::path& journal_dir, std::uint64_t number);
/// The segment numbers present, ascending (other files are ignored).
std::vector<std::uint64_t> list_segments(const std::filesystem::path& journal_dir);

/// An owned file descriptor.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/// errno as a std::error_code.
std::error_code last_error() noexcept;
/// fsync of a directory, so a file created or deleted in it stays so after a crash.
std::error_code sync_directory(const std::filesystem::path& dir) noexcept;

/// A whole file read with a few large reads, not zero-filled first.
struct FileBytes {
  std::unique_ptr<char[]> data;
  std::size_t size = 0;
};
FileBytes read_whole_file(const std::filesystem::path& file);

}  // namespace paperboy::broker::storage
