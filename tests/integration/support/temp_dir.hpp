#pragma once

#include <filesystem>
#include <string>

namespace paperboy::itest {

/// A fresh private directory under $TMPDIR (or /tmp), removed with everything in it on
/// destruction unless PAPERBOY_ITEST_KEEP is set in the environment (to read a daemon's log).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// The whole content of a file (a child's stdout or log), empty if it does not exist.
std::string read_text(const std::filesystem::path& path);

}  // namespace paperboy::itest
