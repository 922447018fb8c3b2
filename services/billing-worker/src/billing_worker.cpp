#include "billing_worker.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <stdexcept>
#include <variant>

#include "billing_jobs.hpp"

namespace paperboy::billing {
namespace {

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

BillingWorker::BillingWorker(asio::any_io_executor executor, WorkerOptions options)
    : executor_(executor), options_(std::move(options)), db_(options_.db_path), client_(executor) {}

asio::awaitable<void> BillingWorker::run() {
  client::ConnectOptions connect_options;
  connect_options.client_name = options_.name;
  connect_options.more_servers.assign(options_.servers.begin() + 1, options_.servers.end());
  connect_options.on_event = [this](const client::ConnectionEvent& event) {
    log_connection_event(event);
  };
  const auto& first = options_.servers.front();
  co_await client_.connect(first.host, first.port, std::move(connect_options));
  spdlog::info("connection.open server={} name={:?} prefetch={}", client_.server(), options_.name,
               options_.prefetch);

  client::SubscribeOptions subscribe_options;
  subscribe_options.manual_ack = true;
  subscribe_options.prefetch = options_.prefetch;
  auto payables = co_await client_.subscribe(std::string(payables_queue), subscribe_options);
  auto sheets = co_await client_.subscribe(std::string(sheets_queue), subscribe_options);
  spdlog::info("worker.serving queues={},{}", payables_queue, sheets_queue);
  asio::co_spawn(executor_, serve(this, sheets, Queue::sheets), asio::detached);
  co_await serve(this, payables, Queue::payables);
}

asio::awaitable<void> BillingWorker::stop(client::Timeout timeout) {
  if (client_.closed()) co_return;
  try {
    co_await client_.drain(timeout);
  } catch (const client::Error&) {
    client_.close();
    throw;
  }
}

// Each job runs in a coroutine of its own: with a prefetch of N the worker has up to N jobs of
// each queue in hand, and one that waits (job_delay, a busy database) does not hold up the rest.
asio::awaitable<void> BillingWorker::serve(BillingWorker* worker, client::Subscription jobs,
                                           Queue queue) {
  while (auto event = co_await jobs.next()) {
    if (auto* job = std::get_if<client::Message>(&*event)) {
      asio::co_spawn(worker->executor_, handle(worker, std::move(*job), queue), asio::detached);
    }
  }
}

asio::awaitable<void> BillingWorker::handle(BillingWorker* worker, client::Message job,
                                            Queue queue) {
  spdlog::debug("job.received channel={} delivery={} redelivered={}", job.channel, job.delivery,
                job.redelivered);
  if (worker->options_.job_delay.count() > 0) {
    asio::steady_timer delay(worker->executor_, worker->options_.job_delay);
    co_await delay.async_wait(use_nothrow);
  }
  try {
    if (queue == Queue::payables) {
      worker->answer_payables_request(job);
    } else {
      worker->make_sheet(job);
    }
    worker->client_.ack(job);
  } catch (const std::runtime_error& failure) {
    // The database failed the job (client::Error, a closed client, is a runtime_error too, and
    // then there is nobody to give the job back to: the broker took it back with the connection).
    spdlog::error("job.failed channel={} error={:?}", job.channel, failure.what());
    if (!worker->client_.closed()) worker->client_.nack(job);
  }
}

void BillingWorker::answer_payables_request(const client::Message& request) {
  const auto reply = answer_payables(db_, request.payload);
  if (request.reply_to.empty()) {
    spdlog::debug("payables.no_reply_to");
    return;
  }
  client_.reply(request, reply);
}

void BillingWorker::make_sheet(const client::Message& job) {
  const auto outcome = make_billing_sheet(db_, job.payload);
  if (!outcome.error.empty()) {
    spdlog::warn("sheet.failed job={:?} error={:?}", outcome.job, outcome.error);
  }
  if (!outcome.event.empty()) client_.publish(sheets_topic, outcome.event);
}

void BillingWorker::log_connection_event(const client::ConnectionEvent& event) {
  std::visit(Overloaded{
                 [](const client::Disconnected& lost) {
                   spdlog::warn("connection.lost reason={:?}", lost.reason);
                 },
                 [](const client::Reconnected& back) {
                   spdlog::info("connection.restored server={} attempts={}", back.server,
                                back.attempts);
                 },
                 [this](const client::GaveUp& gave_up) {
                   gave_up_ = true;
                   spdlog::error("connection.gave_up reason={:?}", gave_up.reason);
                 },
                 [](const client::Blocked& blocked) {
                   spdlog::info("connection.blocked channel={}", blocked.channel);
                 },
                 [](const client::Unblocked& unblocked) {
                   spdlog::info("connection.unblocked channel={}", unblocked.channel);
                 },
                 [](const client::Refused& refused) {
                   spdlog::warn("connection.refused error={:?}", refused.error.what());
                 },
             },
             event);
}

}  // namespace paperboy::billing
