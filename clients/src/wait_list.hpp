#pragma once

#include <algorithm>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <vector>

namespace paperboy::client {

/// Coroutines of one executor wait here until notify_all() or their deadline: a condition
/// variable without a mutex. A waiter checks its condition again when it wakes.
class WaitList {
 public:
  using Clock = std::chrono::steady_clock;

  WaitList() = default;
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;

  asio::awaitable<void> wait_until(Clock::time_point deadline) {
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    // Unregistered however the wait ends, also when the coroutine is destroyed mid-wait.
    const Registration registration(*this, timer);
    asio::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }

  void notify_all() noexcept {
    for (auto* timer : timers_) timer->cancel();
  }

  bool empty() const noexcept { return timers_.empty(); }

 private:
  struct Registration {
    Registration(WaitList& list, asio::steady_timer& timer) : list_(list), timer_(timer) {
      list_.timers_.push_back(&timer_);
    }
    ~Registration() { std::erase(list_.timers_, &timer_); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    WaitList& list_;
    asio::steady_timer& timer_;
  };

  std::vector<asio::steady_timer*> timers_;
};

}  // namespace paperboy::client
