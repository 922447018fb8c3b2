#include "run_shared.hpp"

#include <algorithm>
#include <limits>

#include "publisher.hpp"
#include "subscriber.hpp"

namespace paperboy::bench {
namespace {

constexpr std::size_t errors_kept = 8;

}  // namespace

void ErrorLog::record(std::string_view who, std::string_view text) {
  const std::lock_guard lock(mutex_);
  ++count_;
  if (first_.size() < errors_kept) first_.push_back(std::string(who) + ": " + std::string(text));
}

std::vector<std::string> ErrorLog::first() const {
  const std::lock_guard lock(mutex_);
  return first_;
}

std::size_t ErrorLog::count() const {
  const std::lock_guard lock(mutex_);
  return count_;
}

std::uint64_t RunShared::received_from(std::size_t publisher) const {
  if (channel.queue) return queue_trackers[publisher].distinct();
  auto least = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t i = 0; i < active_subscribers; ++i) {
    const Subscriber& s = *subscribers[i];
    if (s.alive()) least = std::min(least, s.received_from(publisher));
  }
  // With no live receiver left nothing holds the publisher back (the run is ending anyway).
  return least;
}

void RunShared::wake_publishers() const {
  for (const auto& publisher : publishers) publisher->wake();
}

}  // namespace paperboy::bench
