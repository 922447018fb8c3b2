#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace paperboy::bench {
namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string format_value(const Report::Value& value, bool json) {
  struct Visitor {
    bool json;
    std::string operator()(std::monostate) const { return json ? "null" : "-"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t n) const { return std::to_string(n); }
    std::string operator()(std::uint64_t n) const { return std::to_string(n); }
    std::string operator()(double d) const {
      if (!std::isfinite(d)) return json ? "null" : "-";
      return fmt::format("{:.6g}", d);
    }
    std::string operator()(const std::string& s) const { return json ? json_string(s) : s; }
  };
  return std::visit(Visitor{json}, value);
}

double per_second(double amount, double seconds) {
  return seconds > 0 ? amount / seconds : 0.0;
}

double micros(std::uint64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

}  // namespace

void Report::add_run(const RunResult& r, std::string_view prefix) {
  const auto key = [prefix](std::string_view name) {
    return std::string(prefix) + std::string(name);
  };
  add(key("published"), r.published);
  add(key("expected"), r.expected);
  add(key("delivered"), r.delivered);
  add(key("lost"), r.lost);
  add(key("duplicates"), r.duplicates);
  add(key("reordered"), r.reordered);
  add(key("corrupt"), r.corrupt);
  add(key("gap_reported"), r.gap_reported);
  add(key("disconnected"), r.disconnected);
  add(key("seconds"), r.seconds);
  add(key("msgs_per_sec"), per_second(static_cast<double>(r.delivered), r.seconds));
  add(key("mb_per_sec"), per_second(static_cast<double>(r.payload_bytes) / 1e6, r.seconds));
  add(key("publish_rate"), per_second(static_cast<double>(r.published), r.publish_seconds));
  add(key("p50_us"), micros(r.latency.percentile(0.50)));
  add(key("p90_us"), micros(r.latency.percentile(0.90)));
  add(key("p99_us"), micros(r.latency.percentile(0.99)));
  add(key("p999_us"), micros(r.latency.percentile(0.999)));
  add(key("max_us"), micros(r.latency.max()));
  add(key("broker_cpu_s"), r.cpu.broker_seconds);
  std::optional<double> per_cpu;
  if (r.cpu.broker_seconds && *r.cpu.broker_seconds > 0) {
    per_cpu = static_cast<double>(r.delivered) / *r.cpu.broker_seconds;
  }
  add(key("deliveries_per_cpu_s"), per_cpu);
  add(key("bench_cpu_s"), r.cpu.bench_seconds);
  // Cores that other processes kept busy meanwhile: a run on a shared machine says how shared.
  std::optional<double> other_cores;
  if (r.cpu.other_seconds && r.cpu_window_seconds > 0) {
    other_cores = *r.cpu.other_seconds / r.cpu_window_seconds;
  }
  add(key("other_cores"), other_cores);
  add(key("broker_rss_start_kb"), r.broker_rss_start_kb);
  add(key("broker_rss_peak_kb"), r.broker_rss_peak_kb);
  add(key("timed_out"), r.timed_out);
  add(key("setup_failed"), r.setup_failed);
  add(key("errors"), r.error_count);
  add(key("first_error"), r.errors.empty() ? std::string() : r.errors.front());
}

std::string Report::json() const {
  std::string out = "{";
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (i > 0) out += ",";
    out += json_string(fields_[i].first) + ":" + format_value(fields_[i].second, true);
  }
  return out + "}";
}

std::string Report::text() const {
  std::size_t width = 0;
  for (const auto& field : fields_) width = std::max(width, field.first.size());
  std::string out;
  for (const auto& [key, value] : fields_) {
    out += fmt::format("{:<{}}  {}\n", key, width, format_value(value, false));
  }
  return out;
}

}  // namespace paperboy::bench
