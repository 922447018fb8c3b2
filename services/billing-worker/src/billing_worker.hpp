#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "billing_db.hpp"
#include "paperboy/client/async_client.hpp"

namespace paperboy::billing {

/// The billing queues and the topic of finished sheets (services/README.md).
inline constexpr std::string_view payables_queue = "/queue/newsstand/billing/payables";
inline constexpr std::string_view sheets_queue = "/queue/newsstand/billing/sheets";
inline constexpr std::string_view sheets_topic = "/topic/newsstand/billing/sheets";

/// How a worker is run (its command-line flags).
struct WorkerOptions {
  std::vector<client::Server> servers;  ///< tried in this order, then round robin on reconnect
  std::string db_path;
  std::string name = "billing-worker";
  /// Most unacked jobs the broker hands this worker at once, per queue.
  std::uint16_t prefetch = 8;
  /// Each job waits this long before it is done: a test's stand-in for slow work, so that a
  /// worker holds several unacked jobs when it is killed.
  std::chrono::milliseconds job_delay{0};
};

/// A billing worker: one connection taking both billing queues with manual ack and a prefetch,
/// each job in a coroutine of its own (so a slow one does not hold up the rest), acked only once
/// its reply was queued or its sheet committed, nacked when the database failed it. Runs on the
/// caller's executor, on one thread: the SQLite calls are short and block the loop briefly.
class BillingWorker {
 public:
  BillingWorker(asio::any_io_executor executor, WorkerOptions options);

  /// Connects (throws client::Error when no server lets us in), subscribes to both queues and
  /// serves them until stop() or until the client gives up reconnecting.
  asio::awaitable<void> run();

  /// Stops taking jobs, lets the ones in hand finish and be acked, and closes (drain()). Throws
  /// client::Error when that did not finish within `timeout` (the connection is closed anyway).
  asio::awaitable<void> stop(client::Timeout timeout);

  /// Closes the connection at once (jobs in hand go back to the queue).
  void close() { client_.close(); }

  /// True once the client gave up reconnecting (the broker refused us for good).
  bool gave_up() const { return gave_up_; }

 private:
  enum class Queue { payables, sheets };

  static asio::awaitable<void> serve(BillingWorker* worker, client::Subscription jobs, Queue queue);
  static asio::awaitable<void> handle(BillingWorker* worker, client::Message job, Queue queue);
  void answer_payables_request(const client::Message& request);
  void make_sheet(const client::Message& job);
  void log_connection_event(const client::ConnectionEvent& event);

  asio::any_io_executor executor_;
  WorkerOptions options_;
  BillingDb db_;
  client::AsyncClient client_;
  bool gave_up_ = false;
};

}  // namespace paperboy::billing
