// ConnectionLimits: the connect-rate buckets (per address and overall) and the per-address cap,
// on a clock the test moves by hand; and that its tables stay bounded.
#include "connection_limits.hpp"

#include <doctest/doctest.h>

#include <string>

namespace b = paperboy::broker;
using namespace std::chrono_literals;
using Verdict = b::ConnectionLimits::Verdict;

namespace {

asio::ip::address address(const std::string& text) {
  return b::canonical_address(asio::ip::make_address(text));
}

}  // namespace

TEST_CASE("connection limits: with every limit off, everyone is admitted and nothing is kept") {
  b::ConnectionLimits limits;
  b::Config config;
  const auto now = b::ConnectionLimits::Clock::now();
  for (int i = 0; i < 1000; ++i)
    CHECK(limits.admit(address("10.0.0.1"), config, now).verdict == Verdict::admit);
  CHECK(limits.buckets() == 0);
  CHECK(limits.addresses_connected() == 1);
  for (int i = 0; i < 1000; ++i) limits.release(address("10.0.0.1"));
  CHECK(limits.addresses_connected() == 0);
}

TEST_CASE(
    "connection limits: a per-address bucket passes a burst of twice the rate, then refills") {
  b::ConnectionLimits limits;
  b::Config config;
  config.max_connect_rate_per_address = 5;
  const auto start = b::ConnectionLimits::Clock::now();
  const auto host = address("192.0.2.7");
  for (int i = 0; i < 10; ++i) CHECK(limits.admit(host, config, start).verdict == Verdict::admit);
  const auto refused = limits.admit(host, config, start);
  CHECK(refused.verdict == Verdict::address_rate);
  CHECK(refused.retry_after > 0ms);
  CHECK(refused.retry_after <= 200ms);
  // Another address has its own bucket.
  CHECK(limits.admit(address("192.0.2.8"), config, start).verdict == Verdict::admit);
  // 200 ms later one token is back.
  CHECK(limits.admit(host, config, start + 200ms).verdict == Verdict::admit);
  CHECK(limits.admit(host, config, start + 200ms).verdict == Verdict::address_rate);
}

TEST_CASE("connection limits: an address over its rate spends none of the overall bucket") {
  b::ConnectionLimits limits;
  b::Config config;
  config.max_connect_rate_per_address = 1;
  config.max_connect_rate = 2;  // a burst of 4
  const auto now = b::ConnectionLimits::Clock::now();
  const auto flooder = address("198.51.100.1");
  for (int i = 0; i < 2; ++i) CHECK(limits.admit(flooder, config, now).verdict == Verdict::admit);
  for (int i = 0; i < 100; ++i)
    CHECK(limits.admit(flooder, config, now).verdict == Verdict::address_rate);
  CHECK(limits.admit(address("198.51.100.2"), config, now).verdict == Verdict::admit);
  CHECK(limits.admit(address("198.51.100.3"), config, now).verdict == Verdict::admit);
  CHECK(limits.admit(address("198.51.100.4"), config, now).verdict == Verdict::overall_rate);
}

TEST_CASE("connection limits: the per-address cap counts open connections, v4-mapped as v4") {
  b::ConnectionLimits limits;
  b::Config config;
  config.max_connections_per_address = 2;
  const auto now = b::ConnectionLimits::Clock::now();
  CHECK(limits.admit(address("203.0.113.5"), config, now).verdict == Verdict::admit);
  CHECK(limits.admit(address("::ffff:203.0.113.5"), config, now).verdict == Verdict::admit);
  CHECK(limits.admit(address("203.0.113.5"), config, now).verdict == Verdict::address_connections);
  CHECK(limits.admit(address("2001:db8::1"), config, now).verdict == Verdict::admit);
  limits.release(address("203.0.113.5"));
  CHECK(limits.admit(address("203.0.113.5"), config, now).verdict == Verdict::admit);
}

TEST_CASE("connection limits: a flood from many addresses leaves bounded tables, swept once full") {
  b::ConnectionLimits limits;
  b::Config config;
  config.max_connect_rate_per_address = 10;
  const auto now = b::ConnectionLimits::Clock::now();
  const std::size_t flood = b::ConnectionLimits::max_buckets + 1000;
  for (std::size_t i = 0; i < flood; ++i) {
    const auto from = asio::ip::make_address_v6(asio::ip::address_v6::bytes_type{
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<unsigned char>(i >> 16),
        static_cast<unsigned char>(i >> 8), static_cast<unsigned char>(i)});
    limits.admit(from, config, now);
    limits.release(from);
  }
  CHECK(limits.buckets() == b::ConnectionLimits::max_buckets);
  CHECK(limits.addresses_connected() == 0);
  limits.sweep(config, now);  // each still a token short: kept
  CHECK(limits.buckets() == b::ConnectionLimits::max_buckets);
  limits.sweep(config, now + 1s);  // full again: what a new bucket would be
  CHECK(limits.buckets() == 0);
}
