#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "paperboy/client/async_client.hpp"
#include "paperboy/client/client.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "server_stream.hpp"
#include "wait_list.hpp"

namespace paperboy::client {

/// One subscription as the client keeps it across connections.
class ClientCore;

/// The time point `timeout` from now (now for a zero or negative one), saturating.
inline std::chrono::steady_clock::time_point deadline_after(Timeout timeout) {
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  if (timeout <= Timeout::zero()) return now;
  const auto room = std::chrono::duration_cast<Timeout>(Clock::time_point::max() - now);
  return timeout >= room ? Clock::time_point::max() : now + timeout;
}

/// What an event held for the application costs the process: the event itself and the bytes of
/// every string in it (the bound of ConnectOptions::max_pending_bytes counts this).
std::size_t held_bytes(const Message& message) noexcept;
std::size_t held_bytes(const Gap& gap) noexcept;
std::size_t held_bytes(const SubscriptionEvent& event) noexcept;

struct SubscriptionState {
  std::string channel;
  SubscribeOptions options;
  SubscriptionHandler handler;  // both empty: events wait in `queue` for next()
  MessageViewHandler view_handler;
  std::deque<SubscriptionEvent> queue;
  std::size_t queued_bytes = 0;
  std::uint64_t dropped = 0;
  // Manual-ack deliveries received on this connection and neither acked nor nacked.
  std::size_t unsettled = 0;
  bool confirmed = false;  // the broker said OK to its SUB on the current connection
  bool ended = false;      // left, or the client closed: nothing more is queued
  bool draining = false;   // drain(): deliveries that arrive now are given back at once
  bool full = false;       // counted in ClientCore::full_streams_
  std::optional<Error> refusal;
  WaitList waiters;
  std::weak_ptr<ClientCore> core;  // for Subscription's calls
};

/// The protocol logic both front ends share (AsyncClient on the caller's executor, the blocking
/// Client on an io_context of its own): the connection and its reconnection, encoding,
/// dispatching what the broker sends, confirmations, requests, the offline buffer, keepalive.
/// Coroutines it starts hold it alive; close() ends them.
class ClientCore : public std::enable_shared_from_this<ClientCore> {
 public:
  using Clock = std::chrono::steady_clock;

  // No coroutine here takes an aggregate (ConnectOptions, PublishOptions) by value: GCC 12
  // copies such a parameter into the coroutine frame wrongly (a std::string in it goes on
  // pointing into the caller's object). The functions that take one are plain functions that
  // use it, then return a coroutine for the waiting. The AsyncClient's functions, likewise, only
  // return these.

  explicit ClientCore(asio::any_io_executor executor);
  ~ClientCore();
  ClientCore(const ClientCore&) = delete;
  ClientCore& operator=(const ClientCore&) = delete;

  asio::awaitable<void> connect(std::vector<Server> servers, ConnectOptions options);
  bool connected() const noexcept { return state_ == State::connected; }
  bool closed() const noexcept { return state_ == State::closed; }
  /// Names the current connection (Message::connection of what it delivers).
  std::uint64_t generation() const noexcept { return generation_; }
  /// Why the client closed itself (connection lost without reconnect, gave up); empty when it
  /// was closed by close() or drain().
  const std::optional<Error>& close_reason() const noexcept { return close_reason_; }

  std::uint32_t server_max_payload() const noexcept { return max_payload_; }
  const std::string& server_id() const noexcept { return server_id_; }
  std::uint8_t protocol_version() const noexcept { return version_; }
  const std::string& server_version() const noexcept { return server_version_; }
  std::string server() const;

  void publish(std::string_view channel, std::string_view payload, const PublishOptions& options);
  asio::awaitable<void> publish_confirmed(std::string_view channel, std::string_view payload,
                                          const PublishOptions& options,
                                          Clock::time_point deadline);

  /// Records a subscription (sent now, or on the next connection) and waits for its OK.
  asio::awaitable<std::shared_ptr<SubscriptionState>> subscribe(std::string channel,
                                                                SubscribeOptions options,
                                                                SubscriptionHandler handler,
                                                                MessageViewHandler view_handler,
                                                                Clock::time_point deadline);
  asio::awaitable<void> unsubscribe(std::shared_ptr<SubscriptionState> subscription,
                                    Clock::time_point deadline);
  asio::awaitable<std::optional<SubscriptionEvent>> next_event(
      std::shared_ptr<SubscriptionState> subscription);
  /// The event a stream holds at its front, without waiting.
  std::optional<SubscriptionEvent> take_event(SubscriptionState& subscription);
  /// The subscription of `channel` (exact name), if any.
  std::shared_ptr<SubscriptionState> find_subscription(std::string_view channel) const;

  /// Acks (or nacks) a manual-ack delivery of connection `connection`; one of an earlier
  /// connection, or delivery 0, needs nothing.
  void settle(std::uint64_t delivery, std::uint64_t connection, bool ack);

  asio::awaitable<void> ensure_reply_inbox(Clock::time_point deadline);
  RequestToken send_request(std::string_view channel, std::string_view payload,
                            Clock::time_point deadline);
  /// The reply, or nothing at the deadline; throws the refusal of the request's PUB, or
  /// connection_lost() when the connection was lost first (the request is then done).
  asio::awaitable<std::optional<Message>> await_reply(RequestToken token,
                                                      Clock::time_point deadline);
  /// ensure_reply_inbox, send_request and await_reply in one: the reply, or Error with
  /// timed_out() (the request cancelled), no_responders() or connection_lost().
  asio::awaitable<Message> request(std::string channel, std::string payload,
                                   Clock::time_point deadline);
  /// Publishes `payload` to the request's reply_to; Error (invalid_argument) when it has none.
  void reply(const Message& request, std::string_view payload);
  bool request_in_flight(RequestToken token) const { return requests_.contains(token.correlation); }
  void cancel_request(RequestToken token) noexcept { requests_.erase(token.correlation); }
  std::size_t requests_in_flight() const noexcept { return requests_.size(); }

  asio::awaitable<void> flush(Clock::time_point deadline);
  asio::awaitable<std::chrono::microseconds> ping(Clock::time_point deadline);
  /// Waits until no PUB of this connection is held back for a full queue (BLOCKED..UNBLOCKED).
  asio::awaitable<void> await_unblocked(Clock::time_point deadline);
  asio::awaitable<void> drain(Clock::time_point deadline);
  void close();

  /// Bytes queued and not yet handed to the socket.
  std::size_t buffered_bytes() const noexcept;

  /// The blocking Client's next() queue: while `full` says so, nothing more is read.
  void hold_reading_while(std::function<bool()> full) { reading_held_ = std::move(full); }
  void resume_reading() { room_.notify_all(); }
  /// Every subscription's handler feeds one queue (the blocking Client): a message that matches
  /// several of them is handed to the first only.
  void deliver_once() noexcept { deliver_once_ = true; }

  /// An exception a handler (or on_event) threw, once: the blocking Client rethrows it.
  std::exception_ptr take_handler_exception() noexcept { return std::exchange(handler_error_, {}); }

 private:
  enum class State { idle, connecting, connected, reconnecting, closed };

  // An answer (OK or ERR) someone waits for: a confirmed PUB's, an UNSUB's.
  struct Completion {
    std::string frame;  // a confirmed PUB, kept for a resend after reconnecting
    bool ok = false;
    std::optional<Error> error;
    WaitList waiters;
  };
  struct PendingRequest {
    std::uint32_t req = 0;
    std::optional<Message> reply;
    std::optional<Error> error;
    WaitList waiters;
  };
  // What an OK or ERR with a request id answers.
  struct Answer {
    enum class Kind { subscribe, unsubscribe, confirm, request } kind;
    std::shared_ptr<SubscriptionState> subscription;
    std::shared_ptr<Completion> completion;
    std::uint64_t correlation = 0;
  };
  // A PUB waiting for a connection, in publish order.
  struct Parked {
    std::string frame;
    std::shared_ptr<Completion> completion;  // null for a plain publish
  };
  struct Welcomed {
    std::shared_ptr<ServerStream> stream;
    Server server;
    std::uint8_t version = 0;
    std::uint32_t max_payload = 0;
    std::string server_id;
    std::string server_version;
  };

  asio::awaitable<void> connect_first();
  asio::awaitable<void> await_confirmation(std::shared_ptr<Completion> completion,
                                           std::string channel, Clock::time_point deadline);
  asio::awaitable<std::shared_ptr<SubscriptionState>> await_subscribed(
      std::shared_ptr<SubscriptionState> subscription, Clock::time_point deadline);
  asio::awaitable<Welcomed> handshake(const Server& server, std::uint8_t version,
                                      Clock::time_point deadline);
  asio::awaitable<Welcomed> establish_next(unsigned count);
  void start_connection(Welcomed welcomed);
  asio::awaitable<void> read_loop(std::uint64_t generation);
  asio::awaitable<void> write_loop(std::uint64_t generation);
  asio::awaitable<void> keepalive_loop(std::uint64_t generation);
  asio::awaitable<void> reconnect_loop();
  void lose(std::uint64_t generation, const Error& why);
  void park_unsent();
  void finish(std::optional<Error> reason);

  void on_frame(std::string_view body);
  void on_msg(const protocol::Msg& msg);
  void on_gap(const protocol::Gap& gap);
  void on_ok(std::uint32_t req);
  void on_err(const protocol::Err& err);
  // Counts an event just queued on a stream, and wakes its reader.
  void queued(SubscriptionState& subscription, std::size_t bytes);
  // The subscriptions a message on `channel` goes to: the exact name, then every matching
  // pattern, oldest first (only the first with `first_only`, or for the blocking Client).
  std::span<const std::shared_ptr<SubscriptionState>> route(std::string_view channel,
                                                            bool first_only) const;
  void add_subscription(const std::shared_ptr<SubscriptionState>& subscription);
  // Records a subscription and sends its SUB when connected (else on connecting).
  std::shared_ptr<SubscriptionState> add_subscription(std::string channel, SubscribeOptions options,
                                                      SubscriptionHandler handler,
                                                      MessageViewHandler view_handler);
  bool remove_subscription(const std::shared_ptr<SubscriptionState>& subscription);
  bool is_reply(std::string_view channel) const noexcept;
  void take_reply(const protocol::Msg& msg);
  void emit(ConnectionEvent event);
  template <class Handler, class Event>
  void call_handler(const Handler& handler, Event&& event);

  // Appends a publish without reply-to, headers, TTL or require-a-subscriber from the encoded
  // PUB of its channel kept from the publish before (made anew for another channel); false, and
  // nothing appended, for any other publish.
  bool append_plain_pub(std::string_view channel, std::string_view payload,
                        const PublishOptions& options);
  // Checks a PUB as the broker would (refusing what it would close the connection for) and
  // encodes it at the end of `out`, or into a frame of its own.
  void encode_pub(std::string& out, std::uint32_t req, std::string_view channel,
                  std::string_view payload, const PublishOptions& options) const;
  std::string encode_pub(std::uint32_t req, std::string_view channel, std::string_view payload,
                         const PublishOptions& options) const;
  void append(const protocol::Message& message);
  void append_raw(std::string_view frame);
  // Counts what was appended to out_ since `before` and wakes the writer.
  void appended(std::size_t before);
  void send_sub(const std::shared_ptr<SubscriptionState>& subscription);
  std::uint32_t next_req() noexcept;
  void check_open() const;
  std::size_t room_limit() const noexcept { return options_.offline_buffer_bytes; }
  bool reading_held() const;
  template <class Pred>
  asio::awaitable<bool> wait(WaitList& list, Clock::time_point deadline, Pred pred);

  asio::any_io_executor executor_;
  ConnectOptions options_;
  std::vector<Server> servers_;
  unsigned server_index_ = 0;
  State state_ = State::idle;
  std::optional<Error> close_reason_;
  // Bumped for every connection and every loss: coroutines of an older one stop.
  std::uint64_t generation_ = 0;
  // Shared with the reader and writer of its connection: a TLS stream must outlive the
  // operations still running on it after a loss closed it.
  std::shared_ptr<ServerStream> stream_;
  std::optional<asio::ssl::context> tls_context_;  // made once by connect(), when TLS is on
  asio::steady_timer keepalive_timer_;
  asio::steady_timer reconnect_timer_;
  protocol::FrameBuffer in_;
  std::string out_;      // frames for the writer, not yet handed to the socket
  std::string writing_;  // the frames the writer is writing
  bool writer_idle_ = false;
  std::uint64_t queued_total_ = 0;   // bytes ever appended to out_
  std::uint64_t written_total_ = 0;  // bytes ever written (or dropped with a lost connection)
  Clock::time_point last_read_{};
  std::uint64_t last_ping_token_ = 0;
  std::uint64_t last_pong_token_ = 0;

  std::uint32_t max_payload_ = 0;
  std::string plain_pub_channel_;  // append_plain_pub's channel, version and encoded PUB
  std::uint8_t plain_pub_version_ = 0;
  std::string plain_pub_prefix_;
  std::uint8_t version_ = 0;
  std::string server_id_;
  std::string server_version_;

  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept {
      return std::hash<std::string_view>{}(name);
    }
  };
  // In the order they were made (resubscribed in that order); indexed for routing.
  std::list<std::shared_ptr<SubscriptionState>> subscriptions_;
  std::unordered_map<std::string, std::shared_ptr<SubscriptionState>, NameHash, std::equal_to<>>
      by_channel_;
  std::vector<std::shared_ptr<SubscriptionState>> patterns_;
  // The last channel routed, and where to (stale once any subscription came or went).
  mutable std::string last_route_channel_;
  mutable std::vector<std::shared_ptr<SubscriptionState>> last_targets_;
  mutable bool route_cached_ = false;
  bool deliver_once_ = false;
  std::shared_ptr<SubscriptionState> reply_inbox_;
  std::size_t full_streams_ = 0;
  std::unordered_map<std::uint32_t, Answer> answers_;
  std::uint32_t last_req_ = 0;
  std::unordered_map<std::uint64_t, std::shared_ptr<PendingRequest>> requests_;
  std::uint64_t last_correlation_ = 0;
  // Manual-ack deliveries of the current connection, by id.
  std::unordered_map<std::uint64_t, std::weak_ptr<SubscriptionState>> unsettled_;
  std::deque<Parked> parked_;
  std::size_t parked_bytes_ = 0;
  std::vector<std::string> blocked_on_;
  bool draining_ = false;

  std::function<bool()> reading_held_;
  WaitList room_;     // reading may go on
  WaitList writer_;   // out_ has frames
  WaitList changed_;  // written, PONG, connection state, blocked, settled
  std::exception_ptr handler_error_;
  std::minstd_rand jitter_;
};

}  // namespace paperboy::client
