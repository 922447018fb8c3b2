#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ack_ledger.hpp"
#include "authenticator.hpp"
#include "name_map.hpp"
#include "outbox.hpp"
#include "paperboy/broker/snapshot.hpp"
#include "paperboy/protocol/errc.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "publication.hpp"
#include "publish_gate.hpp"
#include "queue_consumer.hpp"
#include "rate_limited_log.hpp"
#include "recent_reply_tos.hpp"
#include "router.hpp"
#include "transport.hpp"

namespace paperboy::broker {

class Server;

/// One client connection: its life (State), a read loop that parses frames and hands each to
/// the handlers of its dialect (pb1_handler.cpp, pb0_handler.cpp), and a write loop that gathers
/// the outbox into few large writes. Its PUBs go through its PublishGate; its bytes go through its
/// Transport.
class Session final : public std::enable_shared_from_this<Session> {
 public:
  using Clock = std::chrono::steady_clock;

  /// `refusal` (non-empty): over a connection limit; answer the first frame with ERR 7 and this
  /// text, and close.
  Session(std::unique_ptr<Transport> transport, Server& server, std::uint64_t id,
          std::string refusal = {});
  ~Session();

  void start();

  /// Ends the connection at once: closes the transport, wakes both loops, leaves every channel,
  /// and drops out of the server. Idempotent.
  void stop(std::string_view reason);

  /// The daemon is stopping: PB1 peers get ERR 6, everyone gets what is queued, then close.
  void shut_down();

  /// Enforces the frame and handshake timeouts, the closing grace, the PINGs of a silent peer,
  /// the idle timeout and the write deadline; called by the server's housekeeping.
  void check_deadlines(Clock::time_point now);

  std::uint64_t id() const noexcept { return id_; }
  /// It was refused admission: it only answers the first frame with ERR 7.
  bool refusing() const noexcept { return !refusal_.empty(); }

  /// The memory alarm cleared: PUBs parked for it may go on.
  void on_memory_relieved();

  /// What /stats shows of this connection.
  ConnectionSnapshot describe() const;
  /// What its send queue still holds (frames of any kind, and their bytes).
  struct Unsent {
    std::uint64_t frames = 0;
    std::uint64_t bytes = 0;
  };
  Unsent unsent() const noexcept { return {outbox_.size(), outbox_.queued_bytes()}; }
  /// "pb0", "pb1v1", "pb1v2", or "handshake" before the first frame.
  std::string_view protocol_name() const noexcept;
  /// Its send queue is at the cap: it is not keeping up.
  bool slow() const noexcept { return outbox_.full(); }
  std::uint64_t messages_in() const noexcept { return messages_in_; }
  std::uint64_t messages_out() const noexcept { return outbox_.messages_out(); }

  /// PUBs of this connection wait for room (a full queue or the memory alarm).
  bool publishing_blocked() const noexcept { return !gate_.empty(); }

  /// The --users file was reloaded: this connection takes its user's new permissions, loses the
  /// subscriptions they no longer allow (ERR 4 each), and is closed if its user is gone or has
  /// a new token.
  void on_users_reloaded();

  /// The journal has every batch up to `durable_through` on disk, and those after it up to
  /// `failed_through` failed: the OKs waiting for them go out, or ERR 12. True while OKs still
  /// wait (for later batches).
  bool on_stored(std::uint64_t durable_through, std::uint64_t failed_through);

 private:
  /// Where the connection is in its life. It only moves forward, through enter().
  enum class State {
    handshake,  ///< no complete first frame yet: the dialect is still unknown
    open,       ///< reading requests, writing answers and messages
    finishing,  ///< the peer finished sending while PUBs were parked: they go first, then close
    closing,    ///< nothing more is read; what is queued goes out within the grace, then stop
    stopped,    ///< transport closed, channels left, out of the server
  };
  /// How fail() ends the connection.
  enum class Ending {
    in_order,  ///< what is queued goes out first, then ERR (PB1), then close
    urgent,    ///< what is queued is dropped first: a slow consumer would never read to the ERR
    at_once,   ///< nothing more is sent: the peer's bytes cannot be read on, and it has no ERR
  };
  /// What a closing connection does with deliveries already in its send queue: give queue
  /// messages back to their channels and send the rest, drop everything unsent (the peer is too
  /// slow to read it), or send it all (the whole broker is shutting down).
  enum class Queued { give_back, drop, send };

  /// Channel name -> its queue consumer (null for a topic). Hashed: an UNSUB flood must not cost
  /// a scan of the connection's subscriptions per frame.
  using Subscriptions = NameMap<std::unique_ptr<QueueConsumer>>;

  /// The one transition: false when the connection is already there or past it.
  bool enter(State next) noexcept;
  /// Ends the connection over an error, the one way: one log line, ERR(req, code, text) to a
  /// PB1 peer, then close as `ending` says. Ignored once the connection is finishing.
  void fail(protocol::Errc code, std::string_view text, Ending ending = Ending::in_order,
            std::uint32_t req = 0);

  // Each loop holds `self` so the session outlives its last suspension.
  asio::awaitable<void> read_loop([[maybe_unused]] std::shared_ptr<Session> self);
  asio::awaitable<void> write_loop([[maybe_unused]] std::shared_ptr<Session> self);
  asio::awaitable<void> drain_input();
  void process_frames();
  void loop_done();
  void on_frame(std::string_view body);
  void on_first_frame(std::string_view body);

  // PB1 (pb1_handler.cpp)
  void on_pb1_first_frame(std::string_view body);
  /// A refused connection's answer to its first frame: ERR 7 (PB1), then close.
  void refuse();
  void on_pb1_frame(std::string_view body);
  void on_hello(const protocol::Hello& hello);
  void on_sub(const protocol::Sub& sub);
  void on_unsub(const protocol::Unsub& unsub);
  void on_pub(const protocol::Pub& pub);
  void on_ack(const protocol::Ack& ack);
  void on_nack(const protocol::Nack& nack);
  /// An ACK or NACK's delivery, taken from the ledger, and the consumer it was for (both empty
  /// when the id is not outstanding).
  struct Settled {
    std::optional<AckLedger::Unacked> unacked;
    QueueConsumer* consumer = nullptr;
  };
  Settled settle(std::uint64_t delivery, std::string_view op);
  void on_ping(const protocol::Ping& ping);
  /// WELCOME in the negotiated version; from here on the peer is served.
  void welcome(std::uint8_t version);
  /// The Authenticator's verdict on this connection's HELLO.
  void on_authenticated(const Authenticator::Verdict& verdict);
  /// With users configured: whether this connection's user may subscribe (a reply inbox: if
  /// nobody else owns it) or publish (its permissions, or a reply-to it was delivered).
  bool may_subscribe(std::string_view channel) const;
  bool may_publish(std::string_view channel);
  /// The peer's IP without its port: what failed authentications are counted by.
  std::string peer_address() const;
  /// OK(req) for a request that asked for one (req 0 asks for none); inline: once per PUB.
  void reply_ok(std::uint32_t req) {
    if (req != 0) outbox_.push(control_frame(protocol::Ok{req}));
  }
  void reply_err(std::uint32_t req, protocol::Errc code, std::string_view text);

  // PB0 (pb0_handler.cpp)
  void on_pb0_first_frame(std::string_view channel);
  void on_pb0_frame(std::string_view body);

  bool speaks_pb1() const noexcept { return outbox_.dialect() != Dialect::pb0; }
  std::string_view dialect_name() const noexcept;

  /// This connection's unacked deliveries cost --max-unacked-bytes: no more for it until it acks.
  bool at_unacked_bound() const noexcept;
  void subscribe(std::string_view channel, bool manual_ack = false, std::uint16_t prefetch = 0);
  bool subscribed(std::string_view channel) const;
  bool unsubscribe(std::string_view channel);
  void leave(const Subscriptions::value_type& subscription);
  /// Leaves every channel: a slice now, the rest a slice per turn of the router's bulk work.
  void leave_channels();
  /// Leaves up to `at_most` more channels; how many it left.
  std::size_t leave_some(std::size_t at_most);
  bool leaving() const noexcept { return left_channels_ && not_left_ != subscriptions_.end(); }

  void publish(Publication&& message, std::uint32_t req, bool require_subscriber = false);
  /// The version of PB1 this connection speaks (1 until HELLO says more).
  std::uint8_t pb1_version() const noexcept {
    return outbox_.dialect() == Dialect::pb1_v2 ? protocol::pb1_version_2 : protocol::pb1_version;
  }
  /// Answers a PUB the router has dealt with: OK, or its refusal.
  void on_published(const PublishGate::Settled& settled);
  /// A PUB taken into a durable queue: its OK waits until its journal batch is on disk.
  void confirm_when_stored(std::uint64_t batch, std::uint32_t req);
  void post_retry();
  void retry_parked();
  /// Sends BLOCKED / UNBLOCKED (version 2) when the full queue its PUBs wait for changes.
  void report_blocking();
  void on_room();
  bool input_blocked() const noexcept;
  void unblock_input();
  void peer_finished();
  void begin_close(Queued queued);
  /// No complete first frame in time: a PB1 peer whose HELLO has begun gets ERR 1, anything
  /// else is closed at once. One line a second for all such connections.
  void end_handshake();
  /// Counts the bytes of a first frame as they are read, noting whether they open PB1.
  void note_opening(const char* data, std::size_t n) noexcept;
  /// Liveness (check_deadlines, the sweep): what the peer and its socket did since the last
  /// sweep, then the PINGs, the idle timeout and the write deadline. False when it closed.
  bool check_liveness(Clock::time_point now);

  std::unique_ptr<Transport> transport_;
  Server& server_;
  Router& router_;
  const Config& config_;
  std::uint64_t id_;
  std::string peer_;
  /// Reply-tos of messages delivered here, which it may answer (only recorded with users).
  RecentReplyTos reply_tos_;
  Outbox outbox_;
  protocol::FrameBuffer reader_;
  /// The reader sleeps on it while its input is blocked (back-pressure); cancel() wakes it.
  asio::steady_timer read_gate_;

  State state_ = State::handshake;
  const std::string refusal_;
  int loops_running_ = 2;
  bool left_channels_ = false;  ///< once: on closing (unless the broker is stopping), or stop
  /// The subscriptions still to leave once left_channels_ is set; none are added or removed after.
  Subscriptions::iterator not_left_;
  std::string client_name_;
  /// With users configured: who this connection is (null until HELLO is accepted, and always
  /// without users, when everything is allowed).
  std::shared_ptr<const User> user_;
  /// The HELLO waits for the Authenticator: no frame is read meanwhile.
  bool authenticating_ = false;
  std::uint8_t hello_version_ = protocol::pb1_version;
  /// A failed HELLO's ERR 10 waits for it (Config::auth_failure_delay).
  asio::steady_timer auth_delay_;
  /// Reply inboxes this connection owns (ReplyOwners), released when it closes.
  std::vector<std::string> owned_inboxes_;
  /// The channel of the last PUB permitted: a publisher's run on one channel is checked once.
  std::string last_permitted_pub_;
  std::uint64_t messages_in_ = 0;  ///< PUBs it sent
  /// When the frames being processed were read: their PUBs' timestamp and TTL start. Read at
  /// the first PUB of a read, so a read of ACKs alone reads no clock.
  std::optional<Acceptance> accepted_;
  const Acceptance& accepted() {
    if (!accepted_) accepted_ = Acceptance::now();
    return *accepted_;
  }
  /// OKs of PUBs taken into a durable queue, waiting for their journal batch (ascending), in
  /// order: (batch, req).
  std::deque<std::pair<std::uint64_t, std::uint32_t>> unconfirmed_;
  /// The full queue this connection was last told (BLOCKED) its PUBs wait for; empty if none.
  std::string blocked_on_;
  /// PB0 comes in frame(channel) frame(data) pairs: the channel of a pair whose data is due.
  std::string pb0_channel_;
  bool pb0_data_due_ = false;
  AckLedger ledger_;
  Subscriptions subscriptions_;
  PublishGate gate_;
  /// Refused requests: one line each, but a client refused in a loop gets a line a second.
  RateLimitedLog refusal_log_{spdlog::level::info};

  Clock::time_point
      frame_started_;  ///< when the peer began owing us bytes; max() when it owes none
  Clock::time_point close_deadline_ = Clock::time_point::max();
  /// The peer finished sending while PUBs were parked: they get the closing grace to move.
  Clock::time_point parked_deadline_ = Clock::time_point::max();

  // Liveness. The read loop only sets heard_ and the outbox only counts bytes written; the
  // sweep turns them into times, so no clock is read per read or per write.
  const Clock::time_point opened_at_;
  std::size_t opening_bytes_ = 0;       ///< bytes read before the first frame was complete
  bool began_pb1_ = false;              ///< they opened a PB1 frame (a HELLO, or another op)
  bool heard_ = false;                  ///< something was read since the last sweep
  Clock::time_point last_heard_;        ///< the sweep that last found heard_ (or the connect)
  Clock::time_point last_written_;      ///< the sweep that last found bytes written
  std::uint64_t written_at_sweep_ = 0;  ///< Outbox::bytes_written() at the last sweep
  /// The first sweep that found the send queue full with nothing written since the one before.
  Clock::time_point stuck_since_ = Clock::time_point::max();
  std::uint32_t pings_unanswered_ = 0;  ///< PINGs sent since anything was last read
  std::uint64_t pings_sent_ = 0;        ///< the token of the last PING
};

}  // namespace paperboy::broker
