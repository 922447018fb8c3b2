// libFuzzer target: the --config file parser, exactly as paperboyd runs it (its SettingsParser with
// `--config FILE`: CLI11's TOML reader, the range checks of every setting, and the messages that
// name an unknown key's or a bad value's line), on arbitrary text as the file's contents.
//
// The file is a memfd (memory, no file system), rewritten for each input and named by its
// /proc/self/fd path, so that the code under test is the daemon's own, file reading included.
//
// Checked for every input: the outcome is settings (with no error) or exit code 2 with a reason;
// settings that come out hold values inside the ranges the flags promise.
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "settings.hpp"

namespace {

using paperboy::broker::Config;
using paperboy::daemon::ParsedSettings;
using namespace std::chrono_literals;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "paperboy_fuzz_config: %s\n", what);
  std::abort();
}

// The memfd that holds the current input; created once, since a file per input would cost more
// than the parse.
int config_fd() {
  static const int fd = [] {
    const int created = memfd_create("fuzz.toml", MFD_CLOEXEC);
    if (created < 0) fail("memfd_create failed");
    return created;
  }();
  return fd;
}

void write_config(const std::uint8_t* data, std::size_t size) {
  const int fd = config_fd();
  if (ftruncate(fd, 0) != 0) fail("ftruncate failed");
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = pwrite(fd, data + written, size - written, static_cast<off_t>(written));
    if (n <= 0) fail("pwrite failed");
    written += static_cast<std::size_t>(n);
  }
}

// A sample of the promised ranges (settings.cpp's add_bounded and add_seconds): the file's values
// go through the same checks as the flags'.
void check_ranges(const Config& config) {
  if (config.max_payload < 1 || config.max_payload > 256u * 1024 * 1024) fail("max-payload range");
  if (config.max_connections < 1 || config.max_connections > 10'000'000) {
    fail("max-connections range");
  }
  if (config.default_prefetch < 1 || config.max_prefetch < 1) fail("prefetch range");
  if (config.max_protocol_version < 1) fail("max-protocol-version range");
  if (config.frame_timeout < 1ms || config.frame_timeout > 86400s) fail("frame-timeout range");
  if (config.handshake_timeout < 1ms || config.handshake_timeout > 86400s) {
    fail("handshake-timeout range");
  }
  if (config.shutdown_grace < 0ms || config.shutdown_grace > 3600s) fail("shutdown-grace range");
  if (config.ping_max_missed < 1 || config.ping_max_missed > 1000) fail("ping-max-missed range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  write_config(data, size);
  const std::string path = "/proc/self/fd/" + std::to_string(config_fd());
  const char* argv[] = {"paperboyd", "--config", path.c_str()};
  // Built once for the run: each parse starts from the defaults, as a fresh one would.
  static paperboy::daemon::SettingsParser parser;
  const ParsedSettings parsed = parser.parse(3, argv);
  if (parsed.settings) {
    if (parsed.exit_code != 0 || !parsed.error.empty()) fail("settings with an error");
    if (parsed.settings->config_file != path) fail("settings name another config file");
    check_ranges(parsed.settings->config);
  } else if (parsed.exit_code != 2 || parsed.error.empty()) {
    fail("refused without exit code 2 and a reason");
  }
  return 0;
}
