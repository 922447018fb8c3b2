#pragma once

#include <filesystem>
#include <string>

#include "temp_dir.hpp"

namespace paperboy::itest {

/// Writes `text` as the whole of `path`: to a file beside it renamed over it, so a process
/// reading it sees the old or the new text, never half of one.
void replace_file(const std::filesystem::path& path, const std::string& text);

/// A paperboyd config file in a private directory, rewritten whenever a test wants (the daemon
/// rereads it on SIGHUP).
class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text);

  /// Replaces the whole file (replace_file).
  void write(const std::string& text) { replace_file(path_, text); }
  const std::filesystem::path& path() const { return path_; }
  /// The path as a paperboyd argument.
  std::string arg() const { return path_.string(); }

 private:
  TempDir dir_;
  std::filesystem::path path_;
};

}  // namespace paperboy::itest
