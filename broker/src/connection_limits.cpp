#include "connection_limits.hpp"

#include <algorithm>
#include <cmath>

namespace paperboy::broker {

namespace {

// A bucket holds this many seconds of its rate: a client that reconnects after a network blip
// may open its few connections at once.
constexpr double burst_seconds = 2.0;

double capacity(std::uint32_t rate) {
  return burst_seconds * rate;
}

}  // namespace

asio::ip::address canonical_address(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

bool ConnectionLimits::take(Bucket& bucket, std::uint32_t rate, Clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
  bucket.tokens = std::min(capacity(rate), bucket.tokens + std::max(elapsed, 0.0) * rate);
  bucket.refilled = now;
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

ConnectionLimits::Clock::duration ConnectionLimits::until_token(const Bucket& bucket,
                                                                std::uint32_t rate) {
  const double seconds = (1.0 - bucket.tokens) / rate;
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::max(seconds, 0.001)));
}

ConnectionLimits::Decision ConnectionLimits::admit(const asio::ip::address& from,
                                                   const Config& config, Clock::time_point now) {
  // The address's own limits first: an address over them spends no token of the overall bucket,
  // so one flooding host does not lock everyone else out.
  const auto count = connected_.find(from);
  if (config.max_connections_per_address > 0 && count != connected_.end() &&
      count->second >= config.max_connections_per_address) {
    return {Verdict::address_connections, {}};
  }
  if (const auto rate = config.max_connect_rate_per_address; rate > 0) {
    auto bucket = buckets_.find(from);
    if (bucket == buckets_.end() && buckets_.size() < max_buckets) {
      bucket = buckets_.emplace(from, Bucket{capacity(rate), now}).first;
    }
    if (bucket != buckets_.end() && !take(bucket->second, rate, now)) {
      return {Verdict::address_rate, until_token(bucket->second, rate)};
    }
  }
  if (const auto rate = config.max_connect_rate; rate > 0 && !take(overall_, rate, now)) {
    return {Verdict::overall_rate, until_token(overall_, rate)};
  }
  if (count != connected_.end()) {
    ++count->second;
  } else {
    connected_.emplace(from, 1);
  }
  return {};
}

void ConnectionLimits::release(const asio::ip::address& from) {
  const auto count = connected_.find(from);
  if (count == connected_.end()) return;
  if (--count->second == 0) connected_.erase(count);
}

void ConnectionLimits::sweep(const Config& config, Clock::time_point now) {
  const auto rate = config.max_connect_rate_per_address;
  if (rate == 0) {
    buckets_.clear();
    return;
  }
  // A bucket that has filled up again is what a new one would be: forgetting it changes nothing.
  std::erase_if(buckets_, [&](const auto& entry) {
    const double elapsed = std::chrono::duration<double>(now - entry.second.refilled).count();
    return entry.second.tokens + elapsed * rate >= capacity(rate);
  });
}

}  // namespace paperboy::broker
