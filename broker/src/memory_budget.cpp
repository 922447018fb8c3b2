#include "memory_budget.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <string>

#include "memory_gauge.hpp"
#include "paperboy/broker/config.hpp"

namespace paperboy::broker {

bool MemoryBudget::exhausted() {
  if (alarmed_) return true;
  if (limit_ == 0 || MemoryGauge::held() < limit_) return false;
  alarmed_ = true;
  raised_ = std::chrono::steady_clock::now();
  spdlog::warn(
      "memory.alarm held={} limit={} reason=\"the broker holds its --max-memory budget: "
      "publishers are paused until consumers drain it\"",
      MemoryGauge::held(), limit_);
  return true;
}

bool MemoryBudget::relieved() {
  if (!alarmed_ || MemoryGauge::held() > limit_ - limit_ / 8) return false;
  alarmed_ = false;
  const auto paused = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - raised_);
  spdlog::info("memory.alarm_cleared held={} limit={} paused_ms={}", MemoryGauge::held(), limit_,
               paused.count());
  return true;
}

std::size_t default_max_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::size_t kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024 / 2;
    meminfo.ignore(64, '\n');
  }
  return std::size_t{4} << 30;
}

}  // namespace paperboy::broker
