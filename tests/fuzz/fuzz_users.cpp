// libFuzzer target: the --users file parser (toml++ then our validation) on arbitrary text. It
// must never crash, and must either load users that are whole (a name and a token hash each) or
// say why with "source:line: ...".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "users.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const paperboy::broker::LoadedUsers loaded = paperboy::broker::parse_users(text, "fuzz.toml");
  if (loaded.users) {
    if (loaded.users->size() == 0 || !loaded.error.empty()) std::abort();
  } else if (!std::string_view(loaded.error).starts_with("fuzz.toml:") &&
             loaded.error != "libsodium could not be initialised") {
    std::abort();
  }
  return 0;
}
