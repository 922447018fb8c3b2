#include "config_file.hpp"

#include <fstream>
#include <stdexcept>

namespace paperboy::itest {

ConfigFile::ConfigFile(const std::string& text) : path_(dir_.path() / "paperboyd.toml") {
  write(text);
}

void replace_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path next = path;
  next += ".next";
  {
    std::ofstream out(next, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + next.string());
  }
  std::filesystem::rename(next, path);
}

}  // namespace paperboy::itest
