#pragma once

#include <filesystem>
#include <string>

#include "temp_dir.hpp"

namespace paperboy::itest {

/// A paperboyd config file in a private directory, rewritten whenever a test wants (the daemon
/// rereads it on SIGHUP).
class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text);

  /// Replaces the whole file: written beside it and renamed over it, so a daemon reading it
  /// sees the old or the new text, never half of one.
  void write(const std::string& text);
  const std::filesystem::path& path() const { return path_; }
  /// The path as a paperboyd argument.
  std::string arg() const { return path_.string(); }

 private:
  TempDir dir_;
  std::filesystem::path path_;
};

}  // namespace paperboy::itest
