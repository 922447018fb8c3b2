#include "process_memory.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

namespace paperboy::itest {

std::size_t rss_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      std::size_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
    status.ignore(4096, '\n');
  }
  FAIL("no VmRSS for pid " << pid);
  return 0;
}

}  // namespace paperboy::itest
