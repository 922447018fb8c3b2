#pragma once

#include <cstdint>
#include <optional>

namespace paperboy::bench {

/// Samples a broker process's resident memory and CPU time, so a run can report RSS growth and
/// deliveries per broker CPU-second, and the machine's, so it can report how much CPU other
/// processes took meanwhile. Without a pid (0) the broker readings are empty.
class BrokerProbe {
 public:
  /// CPU seconds so far: the broker's, this process's, and the whole machine's.
  struct Cpu {
    std::optional<double> broker;
    std::optional<double> bench;
    std::optional<double> machine;
  };

  explicit BrokerProbe(int pid) : pid_(pid) {}

  /// VmRSS in KiB.
  std::optional<std::uint64_t> rss_kb() const;
  Cpu cpu() const;

 private:
  int pid_;
};

/// CPU used between two samples: by the broker, by the bench, and by everything else.
struct CpuUse {
  std::optional<double> broker_seconds;
  std::optional<double> bench_seconds;
  std::optional<double> other_seconds;
};

CpuUse cpu_between(const BrokerProbe::Cpu& start, const BrokerProbe::Cpu& end);

}  // namespace paperboy::bench
