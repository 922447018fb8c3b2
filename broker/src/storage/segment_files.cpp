#include "storage/segment_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include <fmt/format.h>

namespace paperboy::broker::storage {

namespace {

constexpr std::string_view segment_suffix = ".seg";
constexpr std::size_t segment_digits = 20;

}  // namespace

std::filesystem::path journal_directory(const std::filesystem::path& data_dir) {
  return data_dir / "journal";
}

std::filesystem::path segment_path(const std::filesystem::path& journal_dir, std::uint64_t number) {
  return journal_dir / fmt::format("{:020}{}", number, segment_suffix);
}

std::vector<std::uint64_t> list_segments(const std::filesystem::path& journal_dir) {
  std::vector<std::uint64_t> numbers;
  for (const auto& entry : std::filesystem::directory_iterator(journal_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != segment_digits + segment_suffix.size() || !name.ends_with(segment_suffix)) {
      continue;
    }
    std::uint64_t number = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + segment_digits, number);
    if (ec == std::errc() && end == name.data() + segment_digits) numbers.push_back(number);
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

std::error_code last_error() noexcept {
  return {errno, std::system_category()};
}

std::error_code sync_directory(const std::filesystem::path& dir) noexcept {
  const FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return last_error();
  if (::fsync(fd.get()) != 0) return last_error();
  return {};
}

FileBytes read_whole_file(const std::filesystem::path& file) {
  const FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw std::system_error(last_error(), "open " + file.string());
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0)
    throw std::system_error(last_error(), "stat " + file.string());
  FileBytes bytes;
  bytes.size = static_cast<std::size_t>(status.st_size);
  bytes.data = std::make_unique_for_overwrite<char[]>(std::max<std::size_t>(bytes.size, 1));
  std::size_t done = 0;
  while (done < bytes.size) {
    const auto got = ::read(fd.get(), bytes.data.get() + done, bytes.size - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::system_error(last_error(), "read " + file.string());
    if (got == 0) break;  // shrank while we read: take what is there
    done += static_cast<std::size_t>(got);
  }
  bytes.size = done;
  return bytes;
}

}  // namespace paperboy::broker::storage
