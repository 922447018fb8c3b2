#pragma once

#include "options.hpp"
#include "report.hpp"
#include "workloads.hpp"

namespace paperboy::bench {

/// confirm: P publishers with publisher confirms (up to --window unconfirmed each) to one queue,
/// drained by S auto-ack consumers (or none, --no-consumer); confirmed msg/s and the latency
/// from each PUB's write to its OK.
Outcome run_confirm_workload(const Options& options, Report& report);

/// drain: P confirmed publishers fill a queue nobody consumes with --count messages each, then
/// S consumers (--ack manual --prefetch N, or auto) empty it; the consuming msg/s.
Outcome run_drain_workload(const Options& options, Report& report);

}  // namespace paperboy::bench
