#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "paperboy/client/error.hpp"
#include "paperboy/client/event.hpp"
#include "paperboy/client/options.hpp"

namespace paperboy::client {

class ClientCore;

/// Names a request sent with Client::send_request(), to collect its reply with wait_reply().
struct RequestToken {
  std::uint64_t correlation = 0;  ///< the last segment of the request's reply_to channel
  friend bool operator==(RequestToken, RequestToken) = default;
};

/// A blocking PB1 client: the AsyncClient's core run on an io_context of its own while a call
/// waits, so no threads, and nothing happens between calls (reading, keepalive and reconnecting
/// happen inside them). Calls that wait for the server take a timeout. Deliveries that arrive
/// while a call waits for its own answer are kept, in order, for next(), and so are the
/// Disconnected and Reconnected notices when the connection is lost and regained
/// (ConnectOptions::reconnect; with it off, or once reconnecting gave up, next() throws why the
/// connection ended). Not thread-safe: use one Client per thread.
///
/// Errors are thrown as paperboy::client::Error. A refusal of something sent without a request
/// id (ERR with req 0 and code 3, 4 or 5, e.g. a publish() to a bad channel or an ack() of an
/// unknown delivery) belongs to no call: it is thrown by next() in its place among the
/// deliveries, or by the next ping(), whichever reaches it first.
class Client {
 public:
  Client();
  ~Client();  ///< Closes the connection without flushing; call flush() or close() first.
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Connects, sends HELLO and waits for WELCOME. Replaces any previous connection and forgets
  /// what it had buffered. A host name is resolved before the timeout starts (numeric addresses
  /// need no lookup).
  void connect(std::string_view host, std::uint16_t port, const ConnectOptions& options = {});

  /// True from a successful connect() until close() or an error that lost the connection.
  bool connected() const noexcept;

  /// Largest payload the broker accepts (from WELCOME).
  std::uint32_t server_max_payload() const noexcept;

  /// The broker's self-description (from WELCOME).
  const std::string& server_id() const noexcept;

  /// The PB1 version spoken on this connection (from WELCOME): 2, or 1 with a version-1 broker
  /// (or ConnectOptions::protocol_version 1); 0 when not connected.
  std::uint8_t protocol_version() const noexcept;

  /// The broker's release ("0.2.0", from WELCOME); empty on a version 1 connection.
  const std::string& server_version() const noexcept;

  /// Subscribes and waits for the broker's OK; throws Error on its ERR or on timeout.
  void subscribe(std::string_view channel, const SubscribeOptions& options = {},
                 Timeout timeout = default_timeout);

  /// Unsubscribes and waits for the broker's OK; throws Error on its ERR or on timeout.
  void unsubscribe(std::string_view channel, Timeout timeout = default_timeout);

  /// Queues a PUB that asks for no answer; written once publish_buffer_bytes are pending, by
  /// flush(), or before any call waits for the server. Throws Error (connection kept) when the
  /// payload (with its headers) exceeds server_max_payload(), or for a bad header key.
  void publish(std::string_view channel, std::string_view payload, std::string_view reply_to = {});
  void publish(std::string_view channel, std::string_view payload, const PublishOptions& options);

  /// Publishes with a request id and waits until the broker confirms it with OK (publisher
  /// confirm); throws Error on its ERR (Error::no_responders() for ERR 11) or on timeout.
  void publish_confirmed(std::string_view channel, std::string_view payload,
                         std::string_view reply_to = {}, Timeout timeout = default_timeout);
  void publish_confirmed(std::string_view channel, std::string_view payload,
                         const PublishOptions& options, Timeout timeout = default_timeout);

  /// Writes everything buffered (publishes, acks) to the socket.
  void flush(Timeout timeout = default_timeout);

  /// The next delivery, gap or flow-control notice, or nothing when none arrives within the timeout
  /// (or a signal handler ran: poll(2) was interrupted, so a signal-driven loop can check its flag
  /// at once). Writes buffered frames before it waits.
  std::optional<Event> next(Timeout timeout);

  /// Acknowledges a manual-ack delivery (buffered like publish). Delivery 0 needs none: no-op.
  void ack(std::uint64_t delivery);
  void ack(const Message& message);

  /// Gives a manual-ack delivery back to the broker for redelivery (buffered like publish).
  void nack(std::uint64_t delivery);
  void nack(const Message& message);

  /// Publishes a request and returns at once (the PUB is buffered like publish()); collect its
  /// reply with wait_reply(). Any number of requests may be in flight on one connection and
  /// their replies collected in any order. The first request on a connection subscribes to this
  /// connection's private reply channel, /topic/_reply/<random id>, and waits up to `timeout`
  /// for the broker's OK; every request's reply_to is /topic/_reply/<id>/<correlation>.
  /// Replies never reach next(): they wait for wait_reply(), and a reply to a request that is
  /// not in flight (cancelled, already answered) is discarded. In PB1 version 2 the request
  /// requires a subscriber (the broker refuses it at once when nothing consumes the channel)
  /// and has a TTL of `timeout`: it never waits in a queue longer than its requester does.
  RequestToken send_request(std::string_view channel, std::string_view payload,
                            Timeout timeout = default_timeout);

  /// The reply to a request in flight, or nothing when none arrives within the timeout (or a
  /// signal interrupted the wait, as in next()); the request stays in flight until it returns a
  /// reply or throws. Writes buffered frames before it waits; deliveries that arrive meanwhile
  /// are kept for next(). Throws the broker's ERR when it refused the request's PUB (e.g. ERR 3
  /// for a bad channel, ERR 11 with Error::no_responders() when nothing consumes the channel;
  /// the request is then done), and Error (std::errc::invalid_argument) for a token that is not
  /// in flight.
  std::optional<Message> wait_reply(RequestToken token, Timeout timeout = default_timeout);

  /// Forgets a request in flight: a reply that still comes for it is discarded. No-op for a
  /// token that is not in flight.
  void cancel_request(RequestToken token) noexcept;

  /// Requests sent and neither answered, refused nor cancelled yet.
  std::size_t requests_in_flight() const noexcept;

  /// send_request() and wait_reply() within one timeout: the reply, or Error with timed_out()
  /// when none came in time (the request is cancelled, and the broker discards it if it still
  /// waits in a queue), or at once Error with no_responders() ("no responders on /queue/x")
  /// when nothing consumes the channel (version 2; a version 1 broker lets it time out).
  Message request(std::string_view channel, std::string_view payload,
                  Timeout timeout = default_timeout);

  /// Answers a request: publishes `payload` to `request.reply_to` (buffered like publish()).
  /// Throws Error (std::errc::invalid_argument, connection kept) when it has no reply_to.
  void reply(const Message& request, std::string_view payload);

  /// PING/PONG round trip; returns its duration. The broker answers frames in order, so when
  /// ping() returns, everything sent before it has been processed, except PUBs it holds back
  /// for a full queue (see sync()): it throws the first pending refusal of an earlier request
  /// sent without an id, if there is one.
  std::chrono::microseconds ping(Timeout timeout = default_timeout);

  /// Writes everything buffered and waits until the broker has taken all of it: a PING round
  /// trip, then, in PB1 version 2, until no PUB of this connection is held back for a full
  /// queue (BLOCKED until UNBLOCKED). Throws like ping(), and Error with timed_out() when the
  /// queue's consumers do not make room in time. (In version 1 a held-back PUB is not seen:
  /// use publish_confirmed() to be sure.)
  void sync(Timeout timeout = default_timeout);

  /// Flushes what is buffered, then closes the connection. Idempotent.
  void close(Timeout timeout = default_timeout);

 private:
  // A refusal (ERR 3/4/5) of a frame sent without a request id, kept in order with deliveries.
  using Pending = std::variant<Event, Refused>;
  struct Loop;

  ClientCore& core();
  std::optional<Event> take_pending();
  void throw_first_refusal();
  void maybe_flush();

  // The io_context the core runs on while a call waits (declared first: destroyed last).
  std::unique_ptr<Loop> loop_;
  std::shared_ptr<ClientCore> core_;
  struct Queue;
  std::shared_ptr<Queue> pending_;
  Timeout write_timeout_ = default_timeout;
};

}  // namespace paperboy::client
