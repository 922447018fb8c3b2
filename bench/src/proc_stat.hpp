#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace paperboy::bench {

// Readings from /proc: what a process costs, and how busy the whole machine is (it may be shared,
// so a run can tell how much of it other processes took while it measured).

/// User plus system CPU seconds of a process, all threads; `process` is a pid or "self".
std::optional<double> process_cpu_seconds(const std::string& process);

/// Resident memory (VmRSS) of a process in KiB.
std::optional<std::uint64_t> process_rss_kb(const std::string& process);

/// CPU seconds all CPUs together spent on anything but idling (from /proc/stat).
std::optional<double> machine_busy_seconds();

}  // namespace paperboy::bench
