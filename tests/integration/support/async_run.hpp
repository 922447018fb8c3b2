#pragma once

#include <algorithm>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <doctest/doctest.h>

#include "deadline.hpp"
#include "paperboy/client/async_client.hpp"

namespace paperboy::itest {

// The AsyncClient is tested the way an application uses it: one io_context run by the test
// thread, the test body a coroutine on it. Blocking calls inside the body (starting or killing
// a daemon, a blocking Client) only pause the clients' loop; the broker keeps what they would
// have read.

/// Runs `test` on `io` until it ends or `timeout` passes (then the test fails); rethrows what it
/// threw, so a REQUIRE inside it fails the test case.
void run_async(asio::io_context& io, asio::awaitable<void> test, Duration timeout);

/// Waits (without blocking the loop) until `condition` holds or `timeout` passes; true when it
/// held. For states with no event to await (a count reached, a subscription's pending()).
asio::awaitable<bool> eventually(std::function<bool()> condition,
                                 Duration timeout = default_timeout);

/// Waits `duration` without blocking the loop: the window in which something must NOT happen.
asio::awaitable<void> pause(Duration duration);

/// The connection events one AsyncClient reported, in order.
class EventLog {
 public:
  EventLog() : events_(std::make_shared<std::vector<client::ConnectionEvent>>()) {}

  /// For ConnectOptions::on_event (it shares the log, so it may outlive this object).
  std::function<void(const client::ConnectionEvent&)> recorder() const;

  template <class T>
  std::size_t count() const {
    return count_of<T>(*events_);
  }
  /// Waits until `n` events of kind T were reported; true when they were in time.
  template <class T>
  asio::awaitable<bool> wait_for(std::size_t n, Duration timeout = default_timeout) const {
    return eventually([events = events_, n] { return count_of<T>(*events) >= n; }, timeout);
  }
  /// wait_for(), and the test fails (naming the events seen) when they were not reported in time.
  template <class T>
  asio::awaitable<void> expect(std::size_t n, Duration timeout = default_timeout) const {
    const bool seen = co_await wait_for<T>(n, timeout);
    REQUIRE_MESSAGE(seen, "events so far: " << describe());
  }
  const std::vector<client::ConnectionEvent>& events() const { return *events_; }
  /// "Disconnected(reason) Reconnected(127.0.0.1:5000, 2) ...", for failure messages.
  std::string describe() const;

 private:
  template <class T>
  static std::size_t count_of(const std::vector<client::ConnectionEvent>& events) {
    return static_cast<std::size_t>(std::count_if(
        events.begin(), events.end(), [](const auto& e) { return std::holds_alternative<T>(e); }));
  }

  std::shared_ptr<std::vector<client::ConnectionEvent>> events_;
};

/// ConnectOptions that log into `log` and retry fast: a test's broker comes back within seconds.
client::ConnectOptions reconnecting_options(const EventLog& log, std::string name);

/// The next event of `subscription`, which must be a message.
asio::awaitable<client::Message> next_message(client::Subscription subscription);

/// The payload of the next event of `subscription`, which must be a message.
asio::awaitable<std::string> next_payload(client::Subscription subscription);

/// Connects a new AsyncClient on `executor` to 127.0.0.1:port.
asio::awaitable<std::unique_ptr<client::AsyncClient>> connect_async(asio::any_io_executor executor,
                                                                    std::uint16_t port,
                                                                    client::ConnectOptions options);
/// With the default options. (Not a default argument: g++ 12 frees a coroutine's defaulted
/// ConnectOptions twice.)
asio::awaitable<std::unique_ptr<client::AsyncClient>> connect_async(asio::any_io_executor executor,
                                                                    std::uint16_t port);

}  // namespace paperboy::itest
