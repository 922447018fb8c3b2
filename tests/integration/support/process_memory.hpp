#pragma once

#include <sys/types.h>

#include <cstddef>

namespace paperboy::itest {

/// Resident memory of a process in bytes, from /proc/PID/status (VmRSS); the test fails if the
/// process has none.
std::size_t rss_bytes(pid_t pid);

/// How much more memory the daemon under test may spend than a release build for the same
/// holdings. Under AddressSanitizer (the tests are built with the daemon's flags) every block
/// gets redzones and freed blocks wait in a quarantine, so memory bounds are multiplied by this;
/// an unbounded attack still grows far past them. The release figures are in bench/RESULTS.md.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr std::size_t allocator_overhead_factor = 2;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr std::size_t allocator_overhead_factor = 2;
#else
inline constexpr std::size_t allocator_overhead_factor = 1;
#endif
#else
inline constexpr std::size_t allocator_overhead_factor = 1;
#endif

}  // namespace paperboy::itest
