#include "latency_watch.hpp"

#include <algorithm>
#include <exception>

#include "conn.hpp"
#include "deadline.hpp"

namespace paperboy::itest {
namespace {

double since_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void raise(std::atomic<double>& worst, double value) {
  double seen = worst.load();
  while (value > seen && !worst.compare_exchange_weak(seen, value)) {
  }
}

}  // namespace

LatencyWatch::LatencyWatch(std::uint16_t port) : thread_([this, port] { run(port); }) {}

LatencyWatch::~LatencyWatch() {
  stop();
}

void LatencyWatch::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string LatencyWatch::failure() const {
  const std::lock_guard lock(failure_mutex_);
  return failure_;
}

void LatencyWatch::run(std::uint16_t port) {
  // A failed expectation throws; on this thread it must end the watch, not the test process.
  try {
    Conn connected(port, "watch");
    connected.hello();
    while (!stop_) {
      auto start = Clock::now();
      connected.ping_pong();
      raise(worst_ping_ms_, since_ms(start));
      start = Clock::now();
      Conn fresh(port, "watch-fresh");
      fresh.hello();
      fresh.ping_pong();
      raise(worst_connect_ms_, since_ms(start));
      ++rounds_;
    }
  } catch (const std::exception& e) {
    const std::lock_guard lock(failure_mutex_);
    failure_ = e.what();
  } catch (...) {
    const std::lock_guard lock(failure_mutex_);
    failure_ = "a round trip failed (see the test's output)";
  }
}

}  // namespace paperboy::itest
