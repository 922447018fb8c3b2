#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "paperboy/client/error.hpp"
#include "paperboy/client/event.hpp"
#include "paperboy/client/options.hpp"

namespace paperboy::client {

class ClientCore;
struct SubscriptionState;

/// One subscription of an AsyncClient: an awaitable stream of its messages and gaps, or (when
/// made with a handler) nothing to read. Copies share the subscription. It outlives a lost
/// connection: the client subscribes again on reconnect.
class Subscription {
 public:
  Subscription() = default;

  /// The next message or gap, in order; nothing once the subscription has ended (unsubscribed,
  /// drained, or the client closed or gave up) and everything it held was handed out. One
  /// coroutine at a time may wait on it.
  asio::awaitable<std::optional<SubscriptionEvent>> next();

  /// Leaves the channel and waits for the broker's OK. What was received before stays to be
  /// read; then next() returns nothing. A manual-ack delivery not acked by then goes back to the
  /// queue.
  asio::awaitable<void> unsubscribe(Timeout timeout = default_timeout);

  const std::string& channel() const;
  /// Messages the broker reported lost to this subscription (the sum of its GAPs).
  std::uint64_t dropped() const;
  /// Messages received and not yet handed out by next().
  std::size_t pending() const;
  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  friend class AsyncClient;
  explicit Subscription(std::shared_ptr<SubscriptionState> state) : state_(std::move(state)) {}
  std::shared_ptr<SubscriptionState> state_;
};

/// Takes each message or gap of a subscription the moment it is read, on the client's
/// executor. A manual-ack message is acked (or nacked) with AsyncClient::ack() whenever the
/// handler is done with it, also later.
using SubscriptionHandler = std::function<void(SubscriptionEvent&&)>;

/// Takes each message of a subscription in place, the moment it is read (no copy, no
/// allocation): the fastest way to consume. Gaps are only counted (Subscription::dropped()).
using MessageViewHandler = std::function<void(const MessageView&)>;

/// An asynchronous PB1 client on Asio coroutines. It runs on the caller's executor (no thread of
/// its own; not thread-safe: use it from that executor only) and keeps its connection: when the
/// connection is lost it reconnects (ConnectOptions::reconnect), subscribes again to every
/// channel, in order, before anything else, then sends what was published meanwhile. Errors are
/// thrown as paperboy::client::Error.
///
/// A MSG carries no subscription id: the broker sends a connection one copy of a message however
/// many of its subscriptions match, and the client hands a copy to each subscription that
/// matches it (the one with exactly that channel, and every matching wildcard subscription), as
/// the Python client does. A manual-ack delivery (always on a /queue, where there are no
/// wildcards) goes to its one subscription.
class AsyncClient {
 public:
  explicit AsyncClient(asio::any_io_executor executor);
  /// Closes the connection without flushing; drain() or flush() first to send what is buffered.
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  /// Connects (HELLO/WELCOME) to host:port, else to each of options.more_servers in turn; throws
  /// the last Error when none lets us in. Only a connection that was once established is
  /// reconnected.
  asio::awaitable<void> connect(std::string host, std::uint16_t port, ConnectOptions options = {});

  /// True while a connection is established (false while reconnecting).
  bool connected() const noexcept;
  /// True once closed, drained or given up: every call but the queries throws.
  bool closed() const noexcept;

  std::uint32_t server_max_payload() const noexcept;
  const std::string& server_id() const noexcept;
  std::uint8_t protocol_version() const noexcept;
  const std::string& server_version() const noexcept;
  /// "host:port" of the broker connected to (or last connected to).
  std::string server() const;

  /// Queues a PUB that asks for no answer and returns at once; queued frames go out together
  /// in large writes. While disconnected it is kept in the offline buffer. Throws Error (nothing
  /// kept) when the buffer is full (buffer_full()), the payload is too large, or a header bad.
  void publish(std::string_view channel, std::string_view payload,
               const PublishOptions& options = {});

  /// Publishes with a request id and completes when the broker confirms it with OK; throws its
  /// ERR (no_responders() for ERR 11), Error with timed_out(), or connection_lost() when the
  /// connection was lost before the OK and resend_unconfirmed is off. Never completes unless
  /// the broker said OK.
  asio::awaitable<void> publish_confirmed(std::string channel, std::string payload,
                                          PublishOptions options = {},
                                          Timeout timeout = default_timeout);

  /// Subscribes, waits for the broker's OK and returns the stream of what arrives.
  asio::awaitable<Subscription> subscribe(std::string channel, SubscribeOptions options = {},
                                          Timeout timeout = default_timeout);
  /// Subscribes with a handler that takes every message and gap as it is read.
  asio::awaitable<Subscription> subscribe(std::string channel, SubscribeOptions options,
                                          SubscriptionHandler handler,
                                          Timeout timeout = default_timeout);
  /// Subscribes with a handler that sees every message in place (MessageView) as it is read.
  asio::awaitable<Subscription> subscribe_views(std::string channel, SubscribeOptions options,
                                                MessageViewHandler handler,
                                                Timeout timeout = default_timeout);

  /// Acknowledges (or gives back) a manual-ack delivery; queued like publish(). Delivery 0
  /// needs none, and a delivery of an earlier connection means nothing now: no-op.
  void ack(const Message& message);
  void nack(const Message& message);
  void ack(const MessageView& message);
  void nack(const MessageView& message);

  /// Publishes a request to `channel` (requiring a subscriber, with a TTL of `timeout`, in
  /// version 2) and completes with its reply. Throws Error with no_responders() at once when
  /// nothing consumes the channel, timed_out() when no reply came in time, connection_lost()
  /// when the connection was lost first. Any number may be in flight at once.
  asio::awaitable<Message> request(std::string channel, std::string payload,
                                   Timeout timeout = default_timeout);

  /// Answers a request (publishes `payload` to its reply_to, queued like publish()). Throws
  /// Error (std::errc::invalid_argument) when it has no reply_to.
  void reply(const Message& request, std::string_view payload);

  /// Completes once everything queued so far was written to the socket.
  asio::awaitable<void> flush(Timeout timeout = default_timeout);

  /// A PING/PONG round trip: completes once the broker has processed everything sent before.
  asio::awaitable<std::chrono::microseconds> ping(Timeout timeout = default_timeout);

  /// Ends the client gracefully: leaves every channel (a manual-ack /queue subscription only
  /// once what it holds was handed out and acked or nacked: a delivery that arrives meanwhile is
  /// given back at once), lets the subscriptions hand out what they hold, sends every buffered
  /// publish, waits for the confirmations in flight, then closes.
  asio::awaitable<void> drain(Timeout timeout = default_timeout);

  /// Closes at once: nothing more is sent, streams end, waiting calls fail. Idempotent.
  void close();

  /// Bytes queued and not yet written (publishes, acks, and while disconnected the offline
  /// buffer).
  std::size_t buffered_bytes() const noexcept;

 private:
  static asio::awaitable<Subscription> wrap(
      asio::awaitable<std::shared_ptr<SubscriptionState>> subscribing);

  std::shared_ptr<ClientCore> core_;
};

}  // namespace paperboy::client
