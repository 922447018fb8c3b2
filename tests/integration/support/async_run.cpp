#include "async_run.hpp"

#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <sstream>

namespace paperboy::itest {

namespace pc = paperboy::client;

void run_async(asio::io_context& io, asio::awaitable<void> test, Duration timeout) {
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(test), [&](std::exception_ptr e) {
    done = true;
    failure = e;
    io.stop();
  });
  io.restart();  // an io_context run before (and stopped) runs again
  io.run_for(timeout);
  REQUIRE_MESSAGE(done, "the test did not finish within " << timeout.count() << " ms");
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<bool> eventually(std::function<bool()> condition, Duration timeout) {
  const Deadline deadline(timeout);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    if (condition()) co_return true;
    if (deadline.expired()) co_return false;
    timer.expires_after(std::chrono::milliseconds(2));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> pause(Duration duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

std::function<void(const pc::ConnectionEvent&)> EventLog::recorder() const {
  return [events = events_](const pc::ConnectionEvent& event) { events->push_back(event); };
}

std::string EventLog::describe() const {
  std::ostringstream out;
  for (const auto& event : *events_) {
    std::visit(
        [&out](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, pc::Disconnected>) {
            out << "Disconnected(" << e.reason << ") ";
          } else if constexpr (std::is_same_v<T, pc::Reconnected>) {
            out << "Reconnected(" << e.server << ", " << e.attempts << ") ";
          } else if constexpr (std::is_same_v<T, pc::GaveUp>) {
            out << "GaveUp(" << e.reason << ") ";
          } else if constexpr (std::is_same_v<T, pc::Blocked>) {
            out << "Blocked(" << e.channel << ") ";
          } else if constexpr (std::is_same_v<T, pc::Unblocked>) {
            out << "Unblocked(" << e.channel << ") ";
          } else {
            out << "Refused(" << e.error.what() << ") ";
          }
        },
        event);
  }
  return out.str();
}

pc::ConnectOptions reconnecting_options(const EventLog& log, std::string name) {
  pc::ConnectOptions options;
  options.client_name = std::move(name);
  options.on_event = log.recorder();
  options.reconnect.initial_delay = std::chrono::milliseconds(20);
  options.reconnect.max_delay = std::chrono::milliseconds(200);
  return options;
}

asio::awaitable<pc::Message> next_message(pc::Subscription subscription) {
  auto event = co_await subscription.next();
  REQUIRE_MESSAGE(event.has_value(), "the subscription to " << subscription.channel() << " ended");
  const auto* message = std::get_if<pc::Message>(&*event);
  REQUIRE_MESSAGE(message != nullptr, "a gap instead of a message on " << subscription.channel());
  co_return *message;
}

asio::awaitable<std::string> next_payload(pc::Subscription subscription) {
  co_return (co_await next_message(std::move(subscription))).payload;
}

asio::awaitable<std::unique_ptr<pc::AsyncClient>> connect_async(asio::any_io_executor executor,
                                                                std::uint16_t port,
                                                                pc::ConnectOptions options) {
  auto client = std::make_unique<pc::AsyncClient>(executor);
  co_await client->connect("127.0.0.1", port, std::move(options));
  co_return client;
}

}  // namespace paperboy::itest

namespace paperboy::itest {

asio::awaitable<std::unique_ptr<pc::AsyncClient>> connect_async(asio::any_io_executor executor,
                                                                std::uint16_t port) {
  pc::ConnectOptions options;
  return connect_async(std::move(executor), port, std::move(options));
}

}  // namespace paperboy::itest
