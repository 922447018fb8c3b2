#pragma once

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "command.hpp"

namespace paperboy::itest {

/// The Argon2id hash `paperboy passwd` prints for a token (made once per token per run). Header
/// only: PAPERBOY_CLI_PATH is known to the test binary, not to the support library.
inline std::string hash_of(const std::string& token) {
  static std::map<std::string, std::string> made;
  if (const auto it = made.find(token); it != made.end()) return it->second;
  const Run run = run_to_end(
      {"/bin/sh", "-c", "printf '%s\\n' \"$0\" | \"$1\" passwd", token, PAPERBOY_CLI_PATH});
  REQUIRE_MESSAGE(run.status.clean(), run.err);
  std::string hash = run.out.substr(0, run.out.find('\n'));
  REQUIRE(hash.starts_with("$argon2id$v=19$m=65536,t=2,p=1$"));
  return made[token] = hash;
}

}  // namespace paperboy::itest
