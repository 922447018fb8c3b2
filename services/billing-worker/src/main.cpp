// billing-worker: serves the newsstand's billing queues (services/README.md) from the SQLite
// database until SIGINT or SIGTERM, which drain it (jobs in hand are finished and acked) and end
// it with status 0. It reconnects to the broker by itself; only the first connection must work.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>

#include "billing_worker.hpp"
#include "server_list.hpp"

namespace billing = paperboy::billing;

namespace {

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// How long a drain may take: the jobs in hand are short, unless a test made them slow.
constexpr auto drain_timeout = std::chrono::seconds(10);

/// Ends the worker on the first signal; its outcome decides the exit status.
asio::awaitable<void> stop_on_signal(billing::BillingWorker* worker, asio::signal_set* signals,
                                     int* status) {
  const auto [error, signal] = co_await signals->async_wait(use_nothrow);
  if (error) co_return;  // cancelled: the worker ended by itself
  spdlog::info("worker.draining signal={}", signal);
  try {
    co_await worker->stop(drain_timeout);
    spdlog::info("worker.drained");
  } catch (const std::exception& e) {
    spdlog::error("worker.drain_failed error={:?}", e.what());
    *status = 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"billing-worker: serves the newsstand's billing queues from its SQLite database"};
  std::vector<std::string> server_args;
  billing::WorkerOptions options;
  unsigned job_delay_ms = 0;
  std::string log_level = "info";
  app.add_option("--server", server_args,
                 "broker host:port; repeat it or give a comma list (default 127.0.0.1:25000)");
  app.add_option("--db", options.db_path, "the newsstand SQLite database (schema.sql)")->required();
  app.add_option("--prefetch", options.prefetch, "most unacked jobs at once, per queue")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  app.add_option("--name", options.name, "client name shown in the broker's logs")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--job-delay-ms", job_delay_ms,
                 "hold each job this long before doing it (tests: a stand-in for slow work)")
      ->group("");
  CLI11_PARSE(app, argc, argv);
  options.job_delay = std::chrono::milliseconds(job_delay_ms);

  spdlog::set_default_logger(spdlog::stderr_color_mt("billing-worker"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (server_args.empty()) server_args.emplace_back("127.0.0.1:25000");
  for (const auto& arg : server_args) {
    const auto servers = billing::parse_server_list(arg);
    if (!servers) {
      spdlog::critical("worker.failed error={:?}", "--server " + arg + " is not host:port[,...]");
      return 2;
    }
    options.servers.insert(options.servers.end(), servers->begin(), servers->end());
  }

  int status = 0;
  try {
    asio::io_context io;
    billing::BillingWorker worker(io.get_executor(), std::move(options));
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::co_spawn(io, stop_on_signal(&worker, &signals, &status), asio::detached);
    asio::co_spawn(io, worker.run(), [&](std::exception_ptr failure) {
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          spdlog::critical("worker.failed error={:?}", e.what());
        }
        status = 1;
        worker.close();
      } else if (worker.gave_up()) {
        status = 1;
      }
      // Ended without a failure: a drain (which closes the client itself) or the client gave up.
      signals.cancel();
    });
    io.run();
  } catch (const std::exception& e) {
    spdlog::critical("worker.failed error={:?}", e.what());
    return 1;
  }
  return status;
}
