#pragma once

#include "options.hpp"
#include "report.hpp"

namespace paperboy::bench {

/// How a workload ended, as paperboy-bench's exit status.
enum class Outcome : int {
  measured = 0,     ///< figures reported (loss and duplicates are figures, not failures)
  failed = 1,       ///< could not connect or subscribe
  unsupported = 2,  ///< the broker has no such pattern (Redis has no queue)
};

/// fanout, queue, fanin and latency: one pub/sub run with the options' shape.
Outcome run_pubsub_workload(const Options& options, Report& report);

/// slow: the same fan-out twice, without and with one subscriber that stops reading.
Outcome run_slow_workload(const Options& options, Report& report);

/// conns: many idle subscribed connections, and what each costs the broker in memory.
Outcome run_conns_workload(const Options& options, Report& report);

}  // namespace paperboy::bench
