#pragma once

#include <filesystem>

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

}  // namespace paperboy::itest
