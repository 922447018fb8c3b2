#include "paperboy/client/client.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <type_traits>
#include <utility>

#include "client_core.hpp"
#include "errors.hpp"

// The blocking front end: each call runs the shared ClientCore on an io_context of the Client's
// own until the call's operation completes (or, for next(), until an event or the deadline).
// Nothing runs between calls: reading, keepalive and reconnecting happen while a call waits.
namespace paperboy::client {
namespace {

using Clock = ClientCore::Clock;

// The core's notices, in next()'s queue among the deliveries (a moved Client keeps the queue).
void queue_notice(std::deque<std::variant<Event, Refused>>& pending,
                  const std::function<void(const Event&)>& flow_control_handler,
                  const ConnectionEvent& event) {
  std::visit(
      [&](const auto& notice) {
        using Notice = std::decay_t<decltype(notice)>;
        if constexpr (std::is_same_v<Notice, Blocked> || std::is_same_v<Notice, Unblocked>) {
          if (flow_control_handler) {
            flow_control_handler(Event{notice});
          } else {
            pending.emplace_back(Event{notice});
          }
        } else if constexpr (std::is_same_v<Notice, Disconnected> ||
                             std::is_same_v<Notice, Reconnected>) {
          pending.emplace_back(Event{notice});
        } else if constexpr (std::is_same_v<Notice, Refused>) {
          pending.emplace_back(notice);
        }
        // GaveUp: the core is closed, and next() throws why.
      },
      event);
}

}  // namespace

// next()'s queue: deliveries and notices in arrival order, bounded as a stream is (the core stops
// reading while it is full).
struct Client::Queue {
  std::deque<Pending> items;
  std::size_t held = 0;  // held_bytes() of the messages in it
  std::size_t max_messages = 0;
  std::size_t max_bytes = 0;
  bool full() const noexcept { return items.size() >= max_messages || held >= max_bytes; }
};

struct Client::Loop {
  asio::io_context io;

  // Runs `operation` to completion, then throws what a handler threw meanwhile, or its own error.
  template <class T>
  T run(ClientCore& core, asio::awaitable<T> operation) {
    struct Outcome {
      std::conditional_t<std::is_void_v<T>, bool, std::optional<T>> value{};
      std::exception_ptr error;
      bool done = false;
    };
    auto outcome = std::make_shared<Outcome>();
    if constexpr (std::is_void_v<T>) {
      asio::co_spawn(io, std::move(operation), [outcome](std::exception_ptr error) {
        outcome->error = error;
        outcome->done = true;
      });
    } else {
      asio::co_spawn(io, std::move(operation), [outcome](std::exception_ptr error, T value) {
        outcome->error = error;
        if (!error) outcome->value = std::move(value);
        outcome->done = true;
      });
    }
    while (!outcome->done) {
      if (io.stopped()) io.restart();
      io.run_one();
    }
    if (auto thrown = core.take_handler_exception()) std::rethrow_exception(thrown);
    if (outcome->error) std::rethrow_exception(outcome->error);
    if constexpr (!std::is_void_v<T>) return std::move(*outcome->value);
  }

  // Runs handlers until `done` says so or the deadline passes.
  template <class Done>
  void run_until(ClientCore& core, Clock::time_point deadline, Done done) {
    while (!done() && Clock::now() < deadline) {
      if (io.stopped()) io.restart();
      if (io.run_one_until(deadline) == 0) break;
      if (auto thrown = core.take_handler_exception()) std::rethrow_exception(thrown);
    }
  }
};

Client::Client() = default;

Client::~Client() {
  if (core_) core_->close();
  // Let the core's coroutines see the close and end before the io_context goes.
  if (loop_) {
    loop_->io.restart();
    loop_->io.poll();
  }
}

Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

void Client::connect(std::string_view host, std::uint16_t port, const ConnectOptions& options) {
  if (core_) core_->close();
  loop_ = std::make_unique<Loop>();
  core_ = std::make_shared<ClientCore>(loop_->io.get_executor());
  pending_ = std::make_shared<Queue>();
  pending_->max_messages = options.max_pending_messages;
  pending_->max_bytes = options.max_pending_bytes;
  write_timeout_ = options.write_timeout;

  ConnectOptions core_options = options;
  const auto pending = pending_;
  core_options.on_event = [pending,
                           handler = options.on_flow_control](const ConnectionEvent& event) {
    queue_notice(pending->items, handler, event);
  };
  core_->hold_reading_while([pending] { return pending->full(); });
  core_->deliver_once();
  std::vector<Server> servers{Server{std::string(host), port}};
  servers.insert(servers.end(), options.more_servers.begin(), options.more_servers.end());
  try {
    loop_->run(*core_, core_->connect(std::move(servers), std::move(core_options)));
  } catch (...) {
    core_.reset();
    throw;
  }
}

bool Client::connected() const noexcept {
  return core_ != nullptr && core_->connected();
}

std::uint32_t Client::server_max_payload() const noexcept {
  return core_ ? core_->server_max_payload() : 0;
}

const std::string& Client::server_id() const noexcept {
  static const std::string none;
  return core_ ? core_->server_id() : none;
}

std::uint8_t Client::protocol_version() const noexcept {
  return connected() ? core_->protocol_version() : 0;
}

const std::string& Client::server_version() const noexcept {
  static const std::string none;
  return core_ ? core_->server_version() : none;
}

ClientCore& Client::core() {
  if (!core_) throw not_connected_error();
  return *core_;
}

void Client::subscribe(std::string_view channel, const SubscribeOptions& options, Timeout timeout) {
  auto& c = core();
  const auto pending = pending_;
  // Every subscription hands its events to the one queue next() reads, in arrival order.
  SubscriptionHandler handler = [pending](SubscriptionEvent&& event) {
    pending->held += held_bytes(event);
    std::visit([&](auto&& item) { pending->items.emplace_back(Event{std::move(item)}); },
               std::move(event));
  };
  loop_->run(c, c.subscribe(std::string(channel), options, std::move(handler), {},
                            deadline_after(timeout)));
}

void Client::unsubscribe(std::string_view channel, Timeout timeout) {
  auto& c = core();
  auto subscription = c.find_subscription(channel);
  if (!subscription) return;  // as the broker answers an UNSUB of a channel not subscribed: OK
  loop_->run(c, c.unsubscribe(std::move(subscription), deadline_after(timeout)));
}

void Client::publish(std::string_view channel, std::string_view payload,
                     std::string_view reply_to) {
  PublishOptions options;
  options.reply_to = reply_to;
  publish(channel, payload, options);
}

void Client::publish(std::string_view channel, std::string_view payload,
                     const PublishOptions& options) {
  core().publish(channel, payload, options);
  maybe_flush();
}

void Client::publish_confirmed(std::string_view channel, std::string_view payload,
                               std::string_view reply_to, Timeout timeout) {
  PublishOptions options;
  options.reply_to = reply_to;
  publish_confirmed(channel, payload, options, timeout);
}

void Client::publish_confirmed(std::string_view channel, std::string_view payload,
                               const PublishOptions& options, Timeout timeout) {
  auto& c = core();
  loop_->run(c, c.publish_confirmed(channel, payload, options, deadline_after(timeout)));
}

void Client::flush(Timeout timeout) {
  auto& c = core();
  loop_->run(c, c.flush(deadline_after(timeout)));
}

void Client::maybe_flush() {
  if (core_->buffered_bytes() >= publish_buffer_bytes && core_->connected()) {
    flush(write_timeout_);
  }
}

std::optional<Event> Client::next(Timeout timeout) {
  // Deliveries that arrived before the connection was lost are still handed out.
  if (pending_ && !pending_->items.empty()) return take_pending();
  auto& c = core();
  if (c.closed()) throw c.close_reason().value_or(not_connected_error());
  loop_->run_until(c, deadline_after(timeout),
                   [&] { return !pending_->items.empty() || c.closed(); });
  if (!pending_->items.empty()) return take_pending();
  if (c.closed()) throw c.close_reason().value_or(not_connected_error());
  return std::nullopt;
}

std::optional<Event> Client::take_pending() {
  const bool was_full = pending_->full();
  Pending item = std::move(pending_->items.front());
  pending_->items.pop_front();
  if (auto* refused = std::get_if<Refused>(&item)) {
    if (was_full && core_) core_->resume_reading();
    throw std::move(refused->error);
  }
  auto event = std::get<Event>(std::move(item));
  if (const auto* message = std::get_if<Message>(&event)) pending_->held -= held_bytes(*message);
  if (const auto* gap = std::get_if<Gap>(&event)) pending_->held -= held_bytes(*gap);
  if (was_full && core_ && !pending_->full()) core_->resume_reading();
  return event;
}

// A bare id names a delivery of the current connection.
void Client::ack(std::uint64_t delivery) {
  auto& c = core();
  c.settle(delivery, c.generation(), true);
  maybe_flush();
}

void Client::ack(const Message& message) {
  core().settle(message.delivery, message.connection, true);
  maybe_flush();
}

void Client::nack(std::uint64_t delivery) {
  auto& c = core();
  c.settle(delivery, c.generation(), false);
  maybe_flush();
}

void Client::nack(const Message& message) {
  core().settle(message.delivery, message.connection, false);
  maybe_flush();
}

RequestToken Client::send_request(std::string_view channel, std::string_view payload,
                                  Timeout timeout) {
  auto& c = core();
  const auto deadline = deadline_after(timeout);
  loop_->run(c, c.ensure_reply_inbox(deadline));
  const auto token = c.send_request(channel, payload, deadline);
  maybe_flush();
  return token;
}

std::optional<Message> Client::wait_reply(RequestToken token, Timeout timeout) {
  auto& c = core();
  return loop_->run(c, c.await_reply(token, deadline_after(timeout)));
}

void Client::cancel_request(RequestToken token) noexcept {
  if (core_) core_->cancel_request(token);
}

std::size_t Client::requests_in_flight() const noexcept {
  return core_ ? core_->requests_in_flight() : 0;
}

Message Client::request(std::string_view channel, std::string_view payload, Timeout timeout) {
  auto& c = core();
  return loop_->run(c,
                    c.request(std::string(channel), std::string(payload), deadline_after(timeout)));
}

void Client::reply(const Message& request, std::string_view payload) {
  core().reply(request, payload);
  maybe_flush();
}

std::chrono::microseconds Client::ping(Timeout timeout) {
  auto& c = core();
  const auto round_trip = loop_->run(c, c.ping(deadline_after(timeout)));
  throw_first_refusal();
  return round_trip;
}

void Client::sync(Timeout timeout) {
  auto& c = core();
  const auto deadline = deadline_after(timeout);
  loop_->run(c, c.ping(deadline));
  // The broker answers the PING while earlier PUBs wait parked on a full queue; it says so with
  // BLOCKED, and UNBLOCKED comes once they were all taken (after their OKs).
  loop_->run(c, c.await_unblocked(deadline));
  throw_first_refusal();
}

void Client::throw_first_refusal() {
  for (auto it = pending_->items.begin(); it != pending_->items.end(); ++it) {
    if (auto* refused = std::get_if<Refused>(&*it)) {
      const Error error = std::move(refused->error);
      pending_->items.erase(it);
      throw error;
    }
  }
}

void Client::close(Timeout timeout) {
  if (!connected()) {
    if (core_) core_->close();
    return;
  }
  try {
    flush(timeout);
  } catch (...) {
    core_->close();
    throw;
  }
  core_->close();
}

}  // namespace paperboy::client
