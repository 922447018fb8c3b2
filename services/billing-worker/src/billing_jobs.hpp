#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "billing_db.hpp"

// What the worker does with one message of each billing queue, apart from the messaging (the
// contract is in services/README.md). A database failure throws std::runtime_error: the job was
// not done and goes back to the queue.
namespace paperboy::billing {

/// An amount of cents as currency units with two decimals: 123456 -> "1234.56", -5 -> "-0.05".
std::string format_cents(std::int64_t cents);

/// The reply to a payables request `{"billing_date": "YYYY-MM-DD"}`: `{"billing_date": ...,
/// "total": ...}`, the sum of that year's payables up to and including the date, or
/// `{"error": "..."}` for a request that is not JSON, lacks the date or names no real date.
std::string answer_payables(BillingDb& db, std::string_view request);

/// What became of a billing-sheet job.
struct SheetOutcome {
  /// The job's id; empty when the message named none (then nothing was recorded).
  std::string job;
  /// What to publish on /topic/newsstand/billing/sheets: `{"job": ..., "state": "done"}` (or
  /// "failed"); empty when there is no job.
  std::string event;
  /// Why the job failed; empty when it is done.
  std::string error;
};

/// Runs the billing-sheet job `{"job": "<id>", "billing_date": "YYYY-MM-DD"}`: the CSV of that
/// day's vendor billings into the job's billing_sheets row, state done (failed, with the error,
/// for a date that is missing or not real).
SheetOutcome make_billing_sheet(BillingDb& db, std::string_view message);

}  // namespace paperboy::billing
