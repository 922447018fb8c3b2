#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "paperboy/broker/config.hpp"
#include "paperboy/broker/snapshot.hpp"

namespace paperboy::broker {

namespace storage {
class Journal;
}

/// The journal in --data-dir cannot be used as it is (a corrupt record before its end, without
/// --recover skip-corrupt): the start stops, as for a bad setting (paperboyd exits 2).
class UnusableJournal : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Authenticator;
class ConnectionLimits;
class MemoryBudget;
class RateLimitedLog;
class ReplyOwners;
class Router;
class Session;
class TlsListener;
class Transport;
struct Traffic;

/// The daemon as a library: owns the acceptor, the router and the live sessions, so it can
/// count, find and stop them. Runs on the one thread that runs its io_context.
class Server {
 public:
  /// Binds and listens; throws std::system_error when the address cannot be used.
  Server(asio::io_context& io, Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The bound port (the chosen one when the config asked for port 0); 0 with --no-plain.
  std::uint16_t port() const noexcept { return port_; }
  /// The bound TLS port; 0 without --tls-port.
  std::uint16_t tls_port() const noexcept;

  /// Starts accepting connections and the housekeeping timer.
  void start();

  /// Stops accepting, tells every client, flushes for up to shutdown_grace, then closes all.
  /// The io_context runs out of work once everything is closed. A second call cuts the grace.
  void shut_down();

  /// Called once everything is closed after shut_down() (to release what keeps the loop alive).
  void on_stopped(std::function<void()> handler) { on_stopped_ = std::move(handler); }

  /// True when an internal failure stopped the daemon (the io_context was stopped).
  bool failed() const noexcept { return failed_; }

  /// What reconfigure() did, each setting by its flag name (`max-payload`).
  struct Reconfigured {
    std::vector<std::string> changed;        ///< applied
    std::vector<std::string> needs_restart;  ///< differs, kept as it was
  };

  /// Applies a new configuration while clients stay connected (SIGHUP). Sessions, channels and
  /// the router read the Server's one Config when they decide, so a changed value applies:
  /// - from the next decision on, for every connection: max-payload (a PUB over it gets ERR 2),
  ///   max-subscriptions, max-queues, max-unacked-bytes, channel-backlog(-bytes),
  ///   max-redeliveries, default-prefetch and max-prefetch (for the next SUB), max-connections,
  ///   max-protocol-version (the next HELLO), frame-timeout, shutdown-grace;
  /// - to connections opened after it: client-queue-bytes, slow-consumer and max-read-ahead
  ///   (each connection's send queue and publish gate take them when it opens), and the frame
  ///   size cap and WELCOME's max-payload (an open connection keeps the cap it was told).
  /// Needing a restart (kept, and named in needs_restart): bind, port, server-id, max-memory
  /// (the memory budget is sized once), dead-letter-suffix (it names existing channels) and the
  /// TLS settings (tls-port, tls-cert, tls-key, tls-ca, tls-map-user, no-plain: the listener
  /// and its certificates are set up once), and durability (data-dir, durable, recover: the
  /// journal is opened and recovered once). A TLS handshake's deadline follows
  /// handshake-timeout.
  /// The users file is reread every time (named `users` when it loaded): new connections use the
  /// new users, open ones are checked again at once (Session::on_users_reloaded); a file that
  /// does not load keeps the users in force. Turning users on or off needs a restart.
  Reconfigured reconfigure(const Config& next);

  /// What /metrics, /stats and `paperboy stats` show; call on the event loop's thread. Without
  /// `with_connections` the per-connection detail is left out (a scrape of a busy broker).
  ServerSnapshot snapshot(bool with_connections = true) const;

  /// Discards the messages waiting in a queue channel's backlog (not those handed out and not
  /// yet acked); how many, or nothing when no queue channel has that name.
  std::optional<std::uint64_t> purge_queue(std::string_view name);

  /// What an admin request (the HTTP listener's purge) may do.
  enum class AdminCheck {
    allowed,          ///< a user whose token checks and whose `admin` is true; anyone without users
    unauthenticated,  ///< no name, an unknown one or a wrong token (or the address's budget used
                      ///< up)
    forbidden,        ///< a user who is not an admin
  };
  /// Decides on an admin request's credentials against the users in force, counting failures in
  /// the address's failure budget as a HELLO's are. Call on the event loop's thread; `done` runs
  /// there, later when the token needs hashing.
  void check_admin(std::string_view name, std::string_view token, const std::string& address,
                   std::function<void(AdminCheck)> done);

  // For sessions.
  const Config& config() const noexcept { return config_; }
  Router& router() noexcept { return *router_; }
  Traffic& traffic() noexcept { return *traffic_; }
  MemoryBudget& memory_budget() noexcept { return *memory_budget_; }
  /// Lets paused publishers go on once the memory alarm clears (cheap while it is off).
  void check_memory();
  bool shutting_down() const noexcept { return shutting_down_; }
  /// With --users: who may connect and what they may do; null without (everything allowed).
  Authenticator* authenticator() noexcept { return authenticator_.get(); }
  ReplyOwners& reply_owners() noexcept { return *reply_owners_; }
  /// HELLOs refused past a failure budget: a line a second at most, however many.
  RateLimitedLog& auth_refusal_log() noexcept { return *auth_refusal_log_; }
  /// The session has OKs waiting for journal batches: tell it (Session::on_stored) after each.
  void await_stored(std::uint64_t session_id) { awaiting_storage_.push_back(session_id); }
  /// Drops a closed session from the live set.
  void forget(std::uint64_t session_id);
  /// Connections that did not finish their handshake in time: a line a second at most.
  RateLimitedLog& handshake_log() noexcept { return *handshake_log_; }
  /// For the listeners: a connection from `from` (plain, or TLS with its handshake done) is
  /// served, or refused by the connection limits (ERR 7 to its first frame, or closed at once).
  void admit(std::unique_ptr<Transport> transport, const asio::ip::address& from);

 private:
  void listen();
  /// --data-dir: opens the journal (recovering it) and puts what it kept back into the queues.
  void open_journal();
  /// The journal finished a batch: confirms (or refuses) the PUBs waiting for it.
  void on_committed(std::uint64_t durable_through, std::uint64_t failed_through,
                    std::error_code error);
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> housekeeping_loop();
  /// Frees the queue backlogs during the shutdown grace, a slice per loop turn.
  asio::awaitable<void> discard_loop();
  /// Why a new connection from `from` may not be served, as the ERR 7 text with its retry hint
  /// (empty: admitted, and counted against its address).
  std::string refusal(const asio::ip::address& from, std::chrono::steady_clock::time_point now);
  void report_drops(std::chrono::steady_clock::time_point now);
  /// Rereads the users file on reconfigure(): applies it to new connections and open ones, or
  /// logs why it is unusable and keeps the users in force.
  void reload_users(const Config& next, Reconfigured& result);
  /// Pings the service manager's watchdog from the event loop itself, so a wedged loop misses it.
  asio::awaitable<void> watchdog_loop(std::chrono::microseconds interval);
  /// What `systemctl status` shows: counts the server keeps anyway, nothing added per message.
  std::string status_line(double messages_per_second) const;
  /// PUBs taken since start, by every connection.
  std::uint64_t messages_in_total() const;
  void refresh_status(std::chrono::steady_clock::time_point now);

  asio::io_context& io_;
  Config config_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer housekeeping_timer_;
  asio::steady_timer watchdog_timer_;
  /// Declared before the router: destroyed after the channels that hold its ids.
  std::unique_ptr<storage::Journal> journal_;
  /// Sessions with OKs waiting for a journal batch, by id (a closed one is skipped).
  std::vector<std::uint64_t> awaiting_storage_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<Traffic> traffic_;
  std::unique_ptr<MemoryBudget> memory_budget_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<ReplyOwners> reply_owners_;
  std::unique_ptr<RateLimitedLog> auth_refusal_log_;
  std::unique_ptr<TlsListener> tls_listener_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions_;
  std::uint64_t next_session_id_ = 1;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::uint16_t port_ = 0;
  bool shutting_down_ = false;
  bool failed_ = false;
  std::function<void()> on_stopped_;
  std::unique_ptr<ConnectionLimits> connection_limits_;
  /// Where each admitted connection came from, for its address's count when it closes.
  std::unordered_map<std::uint64_t, asio::ip::address> admitted_from_;
  /// Sessions that only answer their first frame with ERR 7 (at most max_refusing).
  std::size_t refusing_ = 0;
  std::unique_ptr<RateLimitedLog> refusal_log_;
  std::unique_ptr<RateLimitedLog> handshake_log_;
  std::chrono::steady_clock::time_point shutdown_deadline_{};
  std::chrono::steady_clock::time_point last_drop_report_{};
  const bool notifying_;  ///< a service manager listens ($NOTIFY_SOCKET)
  std::chrono::steady_clock::time_point last_status_{};
  std::uint64_t status_messages_in_ = 0;  ///< messages_in_total() at the last STATUS=
};

}  // namespace paperboy::broker
