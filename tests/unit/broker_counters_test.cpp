// What /metrics counts: a queue channel's counters and gauges as describe() reports them, an
// operator's purge, and the latency histogram's buckets.
#include <doctest/doctest.h>

#include "latency_histogram.hpp"
#include "queue_peer.hpp"

using namespace paperboy::broker;
using namespace paperboy::broker::test;

TEST_CASE(
    "QueueChannel counters: published, delivered, backlog, unacked; a purge empties the backlog") {
  ChannelFixture f;
  QueuePeer worker(f.io, f.config, /*manual_ack=*/true, /*prefetch=*/2);
  REQUIRE(f.channel.subscribe(worker.consumer));
  for (int i = 0; i < 5; ++i) f.publish("job");

  auto described = f.channel.describe();
  CHECK(described.name == "/queue/q");
  CHECK(described.kind == ChannelSnapshot::Kind::queue);
  CHECK(described.published == 5);
  CHECK(described.delivered == 2);
  CHECK(described.backlog_messages == 3);
  CHECK(described.backlog_bytes > 0);
  CHECK(described.consumers == 1);
  CHECK(described.unacked == 2);
  CHECK(described.oldest_age_seconds.has_value());
  // The first hand-out of a channel is always sampled.
  CHECK(f.router.time_in_queue().snapshot().count == 1);

  CHECK(f.channel.purge() == 3);
  described = f.channel.describe();
  CHECK(described.backlog_messages == 0);
  CHECK(described.backlog_bytes == 0);
  CHECK_FALSE(described.oldest_age_seconds.has_value());
  CHECK(described.published == 5);
  CHECK(described.unacked == 2);  // a purge leaves what was handed out
  CHECK(worker.receive().size() == 2);
}

TEST_CASE("LatencyHistogram: each observation lands in the first bucket whose bound holds it") {
  LatencyHistogram histogram;
  histogram.observe_ns(5'000);
  histogram.observe_ns(10'000);  // a bound is inclusive (Prometheus' le)
  histogram.observe_ns(11'000);
  histogram.observe_ns(40'000'000'000);  // past the last bound: +Inf
  histogram.observe_ns(-3);              // a clock that stepped back counts as 0
  const Histogram taken = histogram.snapshot();
  REQUIRE(taken.bucket_counts.size() == taken.upper_bounds_seconds.size() + 1);
  CHECK(taken.upper_bounds_seconds.front() == doctest::Approx(10e-6));
  CHECK(taken.bucket_counts[0] == 3);
  CHECK(taken.bucket_counts[1] == 1);
  CHECK(taken.bucket_counts.back() == 1);
  CHECK(taken.count == 5);
  CHECK(taken.sum_seconds == doctest::Approx(40.000026));
}
