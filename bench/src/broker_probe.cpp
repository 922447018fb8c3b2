#include "broker_probe.hpp"

#include <string>

#include "proc_stat.hpp"

namespace paperboy::bench {

std::optional<std::uint64_t> BrokerProbe::rss_kb() const {
  if (pid_ <= 0) return std::nullopt;
  return process_rss_kb(std::to_string(pid_));
}

BrokerProbe::Cpu BrokerProbe::cpu() const {
  Cpu cpu;
  if (pid_ > 0) cpu.broker = process_cpu_seconds(std::to_string(pid_));
  cpu.bench = process_cpu_seconds("self");
  cpu.machine = machine_busy_seconds();
  return cpu;
}

CpuUse cpu_between(const BrokerProbe::Cpu& start, const BrokerProbe::Cpu& end) {
  CpuUse use;
  if (start.broker && end.broker) use.broker_seconds = *end.broker - *start.broker;
  if (start.bench && end.bench) use.bench_seconds = *end.bench - *start.bench;
  if (start.machine && end.machine && use.bench_seconds) {
    double other =
        *end.machine - *start.machine - *use.bench_seconds - use.broker_seconds.value_or(0);
    use.other_seconds = other > 0 ? other : 0;
  }
  return use;
}

}  // namespace paperboy::bench
