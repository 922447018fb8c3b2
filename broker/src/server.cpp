#include "paperboy/broker/server.hpp"

#include <malloc.h>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "authenticator.hpp"
#include "connection_limits.hpp"
#include "endpoint_format.hpp"
#include "memory_budget.hpp"
#include "paperboy/broker/systemd_notify.hpp"
#include "rate_limited_log.hpp"
#include "reply_owners.hpp"
#include "router.hpp"
#include "session.hpp"
#include "socket_activation.hpp"
#include "storage/journal.hpp"
#include "tcp_transport.hpp"
#include "tls_listener.hpp"
#include "traffic.hpp"
#include "use_nothrow.hpp"

namespace paperboy::broker {

namespace {

// Refused connections (over a connection limit or rate) still get a session so a PB1 peer can be
// told ERR 7 with a retry hint; this many at once at most, so a flood of them costs nothing more:
// past it a refused connection is closed at once.
constexpr std::size_t max_refusing = 64;

// How often the sweep runs: often enough for the shortest deadline it enforces to be kept within
// a quarter of itself, at most once a second, at least every 10 ms.
std::chrono::steady_clock::duration sweep_period(const Config& config) {
  std::chrono::steady_clock::duration shortest =
      std::min(config.frame_timeout, config.handshake_timeout);
  for (const auto setting : {config.ping_interval, config.idle_timeout, config.write_deadline}) {
    if (setting.count() > 0)
      shortest = std::min<std::chrono::steady_clock::duration>(shortest, setting);
  }
  return std::clamp<std::chrono::steady_clock::duration>(
      shortest / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
}

// "in 20 ms", "in 2 s": the retry hint of a rate refusal.
std::string retry_hint(std::chrono::steady_clock::duration after) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(after).count();
  return ms < 1000 ? fmt::format("retry in {} ms", ms)
                   : fmt::format("retry in {} s", (ms + 999) / 1000);
}

// Channels listed one by one in the shutdown report; the rest are only in its total.
constexpr std::size_t listed_discards = 20;

// The share of the shutdown grace kept for what follows the last connection (leaving its
// channels, counting and freeing what is discarded, tearing the broker down), so the daemon exits
// within the grace: connections get the rest to flush. A quarter: with 100,000 unacked
// deliveries the tear-down took 0.1 s of a 2 s grace on an idle machine and up to five times
// that on a loaded one.
constexpr int teardown_share = 4;

// Messages one loop turn discards at shutdown: freeing a million queued messages takes long
// enough to stall the closing connections' last flushes and to overrun the grace if left for
// the end.
constexpr std::size_t discard_slice = 16 * 1024;

// How often the service manager's STATUS= line is refreshed: fresh enough for `systemctl status`,
// and a pass over the sessions costs nothing at this rate.
constexpr auto status_period = std::chrono::seconds(5);

// Once every connection is closed, what is left in the queue channels is discarded (queues are
// in memory). Say so: a line for each of the fullest channels, then the total.
void log_discarded(Router& router) {
  std::vector<const QueueChannel*> left;
  QueueChannel::Discarded total;
  std::uint64_t kept = 0;
  router.for_each_queue([&](QueueChannel& channel) {
    // Given back after the sliced discard finished: few by now.
    channel.discard(SIZE_MAX);
    const auto& discarded = channel.discarded();
    if (discarded.messages == 0) return;
    // Freed from memory only: the journal has them, and the next start puts them back.
    if (channel.durable()) {
      kept += discarded.messages;
      return;
    }
    left.push_back(&channel);
    total.messages += discarded.messages;
    total.delivered_before += discarded.delivered_before;
    total.bytes += discarded.bytes;
  });
  if (kept > 0) spdlog::info("server.kept_on_disk messages={}", kept);
  if (left.empty()) return;
  const auto listed = std::min(left.size(), listed_discards);
  std::partial_sort(left.begin(), left.begin() + static_cast<std::ptrdiff_t>(listed), left.end(),
                    [](const QueueChannel* a, const QueueChannel* b) {
                      return a->discarded().messages > b->discarded().messages;
                    });
  for (std::size_t i = 0; i < listed; ++i) {
    const auto& discarded = left[i]->discarded();
    spdlog::warn("server.discarded channel={:?} messages={} unacked={} bytes={}", left[i]->name(),
                 discarded.messages, discarded.delivered_before, discarded.bytes);
  }
  spdlog::warn("server.discarded_total channels={} messages={} unacked={} bytes={} listed={}",
               left.size(), total.messages, total.delivered_before, total.bytes, listed);
}

// "812", "41k", "1.2M": what an operator reads at a glance in `systemctl status`.
std::string human_rate(double per_second) {
  if (per_second >= 999'500) return fmt::format("{:.1f}M", per_second / 1e6);
  if (per_second >= 9'999.5) return fmt::format("{:.0f}k", per_second / 1e3);
  return fmt::format("{:.0f}", per_second);
}

// Once the shutdown grace is over, what the connections still had queued is lost: say how much,
// in one line, before they are closed.
void log_unsent(const std::vector<std::shared_ptr<Session>>& sessions) {
  std::size_t connections = 0;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  for (const auto& session : sessions) {
    const auto unsent = session->unsent();
    if (unsent.frames == 0) continue;
    ++connections;
    messages += unsent.frames;
    bytes += unsent.bytes;
  }
  if (connections == 0) return;
  spdlog::warn("server.unsent connections={} frames={} bytes={} reason=\"shutdown grace expired\"",
               connections, messages, bytes);
}

std::string default_server_id() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return fmt::format("paperboyd-{}-{}", host.data(), ::getpid());
}

}  // namespace

Server::Server(asio::io_context& io, Config config)
    : io_(io),
      config_(std::move(config)),
      acceptor_(io),
      housekeeping_timer_(io),
      watchdog_timer_(io),
      router_(std::make_unique<Router>(config_, io.get_executor())),
      traffic_(std::make_unique<Traffic>()),
      memory_budget_(std::make_unique<MemoryBudget>(config_.max_memory)),
      reply_owners_(std::make_unique<ReplyOwners>()),
      auth_refusal_log_(std::make_unique<RateLimitedLog>(spdlog::level::warn)),
      notifying_(std::getenv("NOTIFY_SOCKET") != nullptr) {
  connection_limits_ = std::make_unique<ConnectionLimits>();
  refusal_log_ = std::make_unique<RateLimitedLog>(spdlog::level::warn);
  handshake_log_ = std::make_unique<RateLimitedLog>(spdlog::level::info);
  if (config_.server_id.empty()) config_.server_id = default_server_id();
  if (!config_.users_file.empty()) {
    LoadedUsers loaded = load_users(config_.users_file);
    if (!loaded.users) throw std::runtime_error(loaded.error);
    if (!config_.pb0_user.empty() && !loaded.users->find(config_.pb0_user)) {
      throw std::runtime_error(
          fmt::format("--pb0-user {:?} is not in {}", config_.pb0_user, config_.users_file));
    }
    authenticator_ =
        std::make_unique<Authenticator>(std::move(loaded.users), config_.auth_failures_per_minute);
  }
  if (const std::string error = tls_settings_error(config_); !error.empty()) {
    throw std::runtime_error(error);
  }
  // Before listening: a client connects to queues that hold what the journal kept.
  if (!config_.data_dir.empty()) open_journal();
  if (!config_.no_plain) {
    listen();
    port_ = acceptor_.local_endpoint().port();
  }
  if (config_.tls_port) tls_listener_ = std::make_unique<TlsListener>(io, *this);
}

Server::~Server() = default;

void Server::open_journal() {
  storage::JournalOptions options;
  options.dir = config_.data_dir;
  options.skip_corrupt = config_.recover_skip_corrupt;
  try {
    journal_ = std::make_unique<storage::Journal>(io_.get_executor(), options);
  } catch (const storage::CorruptJournal& corrupt) {
    throw UnusableJournal(fmt::format(
        "{} (the journal in {} has a corrupt record before its end; start with --recover "
        "skip-corrupt to skip it, losing what it held)",
        corrupt.what(), config_.data_dir));
  }
  storage::RecoveryReport recovered = journal_->take_recovery();
  router_->store().attach(*journal_, durable_patterns(config_));
  journal_->on_committed(
      [this](std::uint64_t durable_through, std::uint64_t failed_through, std::error_code error) {
        on_committed(durable_through, failed_through, error);
      });
  // In append order, so each queue gets its messages back in publish order. Each hand-out that
  // was not acked counts one failure, as a NACK or the consumer leaving would have: a poison
  // message keeps its way to the dead letters across restarts, and its next delivery is flagged
  // redelivered. After a crash a message may have been handed out in a batch that never reached
  // the disk, its DELIVERED record lost with it: every recovered message is flagged, as RabbitMQ
  // flags what a crashed classic queue recovers.
  const bool unclean = !recovered.clean_shutdown;
  std::size_t queues_before = router_->queue_count();
  for (const storage::StoredMessage& stored : recovered.messages) {
    router_->restore(stored.queue, stored.id, stored.frame,
                     stored.failures + std::max(stored.deliveries, unclean ? 1U : 0U),
                     MessageStore::deadline_of(stored.expires_unix_ms));
  }
  // The journal logged what it read (storage.recovered); this is what the queues got back.
  spdlog::info(
      "storage.restored messages={} queues={} clean_shutdown={} torn_tail_bytes={} "
      "skipped_records={} skipped_bytes={} durable={:?}",
      recovered.messages.size(), router_->queue_count() - queues_before, !unclean,
      recovered.torn_tail_bytes, recovered.skipped_records, recovered.skipped_bytes,
      fmt::format("{}", fmt::join(durable_patterns(config_), ",")));
  if (recovered.skipped_records > 0) {
    spdlog::warn(
        "storage.skipped_corrupt records={} bytes={} reason=\"--recover skip-corrupt: what "
        "they held is lost\"",
        recovered.skipped_records, recovered.skipped_bytes);
  }
}

void Server::on_committed(std::uint64_t durable_through, std::uint64_t failed_through,
                          std::error_code error) {
  if (error) {
    spdlog::debug("storage.batch_failed durable_through={} failed_through={} error={:?}",
                  durable_through, failed_through, error.message());
  }
  const std::uint64_t settled_through = std::max(durable_through, failed_through);
  std::vector<std::uint64_t> waiting;
  waiting.swap(awaiting_storage_);
  for (const std::uint64_t id : waiting) {
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) continue;
    if (it->second->on_stored(durable_through, settled_through)) awaiting_storage_.push_back(id);
  }
  router_->on_committed();
}

std::uint16_t Server::tls_port() const noexcept {
  return tls_listener_ ? tls_listener_->port() : 0;
}

Server::Reconfigured Server::reconfigure(const Config& next) {
  Reconfigured result;
  auto live = [&](const char* key, auto member) {
    if (config_.*member == next.*member) return;
    config_.*member = next.*member;
    result.changed.emplace_back(key);
  };
  auto fixed = [&](const char* key, auto member) {
    if (!(config_.*member == next.*member)) result.needs_restart.emplace_back(key);
  };
  fixed("bind", &Config::bind_address);
  fixed("port", &Config::port);
  // An empty server-id means the one derived at start-up, which stays.
  if (!next.server_id.empty() && next.server_id != config_.server_id) {
    result.needs_restart.emplace_back("server-id");
  }
  fixed("max-memory", &Config::max_memory);
  fixed("dead-letter-suffix", &Config::dead_letter_suffix);
  fixed("tls-port", &Config::tls_port);
  fixed("tls-cert", &Config::tls_cert);
  fixed("tls-key", &Config::tls_key);
  fixed("tls-ca", &Config::tls_ca);
  fixed("tls-map-user", &Config::tls_map_user);
  fixed("no-plain", &Config::no_plain);
  fixed("data-dir", &Config::data_dir);
  fixed("durable", &Config::durable);
  fixed("recover", &Config::recover_skip_corrupt);
  live("max-payload", &Config::max_payload);
  live("max-protocol-version", &Config::max_protocol_version);
  live("client-queue-bytes", &Config::client_queue_bytes);
  live("channel-backlog", &Config::channel_backlog_messages);
  live("channel-backlog-bytes", &Config::channel_backlog_bytes);
  live("slow-consumer", &Config::slow_consumer);
  live("max-connections", &Config::max_connections);
  live("max-queues", &Config::max_queues);
  live("max-subscriptions", &Config::max_subscriptions);
  live("default-prefetch", &Config::default_prefetch);
  live("max-prefetch", &Config::max_prefetch);
  live("max-redeliveries", &Config::max_redeliveries);
  live("max-unacked-bytes", &Config::max_unacked_bytes);
  live("max-read-ahead", &Config::max_read_ahead);
  live("frame-timeout", &Config::frame_timeout);
  live("shutdown-grace", &Config::shutdown_grace);
  live("handshake-timeout", &Config::handshake_timeout);
  live("ping-interval", &Config::ping_interval);
  live("ping-max-missed", &Config::ping_max_missed);
  live("idle-timeout", &Config::idle_timeout);
  live("write-deadline", &Config::write_deadline);
  live("max-connect-rate", &Config::max_connect_rate);
  live("max-connect-rate-per-address", &Config::max_connect_rate_per_address);
  live("max-connections-per-address", &Config::max_connections_per_address);
  reload_users(next, result);
  return result;
}

void Server::reload_users(const Config& next, Reconfigured& result) {
  // Switching authentication on or off would change what every open connection is: a restart.
  if (next.users_file.empty() != config_.users_file.empty()) {
    result.needs_restart.emplace_back("users");
    return;
  }
  if (next.users_file.empty()) return;
  LoadedUsers loaded = load_users(next.users_file);
  if (loaded.users && !next.pb0_user.empty() && !loaded.users->find(next.pb0_user)) {
    loaded = {nullptr, fmt::format("--pb0-user {:?} is not in {}", next.pb0_user, next.users_file)};
  }
  if (!loaded.users) {
    spdlog::error("users.reload_failed file={:?} reason={:?} kept=\"the users in force\"",
                  next.users_file, loaded.error);
    return;
  }
  config_.users_file = next.users_file;
  config_.pb0_user = next.pb0_user;
  config_.auth_failures_per_minute = next.auth_failures_per_minute;
  authenticator_->set_failures_per_minute(next.auth_failures_per_minute);
  spdlog::info("users.reloaded file={:?} users={}", next.users_file, loaded.users->size());
  authenticator_->replace(std::move(loaded.users));
  result.changed.emplace_back("users");
  // Open connections lose what is revoked now, not at their next reconnect. Copied first: a
  // session closed by it leaves the set.
  std::vector<std::shared_ptr<Session>> open;
  open.reserve(sessions_.size());
  for (const auto& entry : sessions_) open.push_back(entry.second);
  for (const auto& session : open) session->on_users_reloaded();
}

void Server::listen() {
  if (const auto fd = activated_listener()) {
    // systemd holds the socket across our restarts, so connections made meanwhile wait in its
    // backlog instead of being refused.
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    std::error_code ec;
    if (::getsockname(*fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::system_error(errno, std::generic_category(), "getsockname LISTEN_FDS fd 3");
    }
    acceptor_.assign(address.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), *fd,
                     ec);
    if (ec) throw std::system_error(ec, "LISTEN_FDS fd 3");
    spdlog::info("server.socket_activated fd={} address={} ignored_bind={} ignored_port={}", *fd,
                 acceptor_.local_endpoint(), config_.bind_address, config_.port);
    return;
  }
  listen_on(acceptor_, config_.bind_address, config_.port, "");
}

void Server::start() {
  // One format for both listeners (tests and scripts read the port from it), TLS marked.
  if (acceptor_.is_open()) {
    spdlog::info("server.listening address={} port={} server_id={:?}",
                 acceptor_.local_endpoint().address().to_string(), port_, config_.server_id);
  }
  if (tls_listener_) {
    spdlog::info("server.listening address={} port={} server_id={:?} tls=true mtls={}",
                 config_.bind_address, tls_listener_->port(), config_.server_id,
                 !config_.tls_ca.empty());
  }
  if (authenticator_) {
    spdlog::info("server.users file={:?} users={} pb0_user={:?}", config_.users_file,
                 authenticator_->users().size(), config_.pb0_user);
  } else {
    spdlog::warn(
        "server.open_access reason=\"no --users: any client may publish and subscribe to any "
        "channel; for trusted networks only\"");
  }
  // Without either loop the daemon would look alive and serve nobody: fail loudly instead.
  auto on_exit = [this](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::critical("server.failed what={:?}", e.what());
    }
    failed_ = true;
    io_.stop();
  };
  if (acceptor_.is_open()) asio::co_spawn(io_, accept_loop(), on_exit);
  if (tls_listener_) tls_listener_->start();
  asio::co_spawn(io_, housekeeping_loop(), on_exit);
  if (const auto interval = systemd::watchdog_interval()) {
    spdlog::info("server.watchdog interval_ms={}",
                 std::chrono::duration_cast<std::chrono::milliseconds>(*interval).count());
    asio::co_spawn(io_, watchdog_loop(*interval), on_exit);
  }
  // The listener was bound and listening in the constructor: connections made from now on are
  // taken (the backlog holds them until the loop runs), so the manager may start dependants.
  if (notifying_) {
    systemd::notify_ready(status_line(0));
    last_status_ = std::chrono::steady_clock::now();
  }
}

asio::awaitable<void> Server::watchdog_loop(std::chrono::microseconds interval) {
  while (!shutting_down_) {
    systemd::notify_watchdog();
    watchdog_timer_.expires_after(interval);
    co_await watchdog_timer_.async_wait(use_nothrow);
  }
}

std::string Server::status_line(double messages_per_second) const {
  std::size_t slow = 0;
  std::size_t blocked = 0;
  for (const auto& [id, session] : sessions_) {
    if (session->slow()) ++slow;
    if (session->publishing_blocked()) ++blocked;
  }
  return fmt::format(
      "{} connections, {} msg/s in, {} slow consumers, {} blocked publishers, {} messages dropped "
      "for slow subscribers, {} topics, {} queues",
      sessions_.size(), human_rate(messages_per_second), slow, blocked,
      traffic_->drops.dropped_total, router_->topic_count(), router_->queue_count());
}

std::uint64_t Server::messages_in_total() const {
  std::uint64_t total = traffic_->closed_messages_in;
  for (const auto& [id, session] : sessions_) total += session->messages_in();
  return total;
}

void Server::refresh_status(std::chrono::steady_clock::time_point now) {
  if (!notifying_ || shutting_down_ || now - last_status_ < status_period) return;
  const std::uint64_t messages_in = messages_in_total();
  const double seconds = std::chrono::duration<double>(now - last_status_).count();
  systemd::notify_status(status_line(double(messages_in - status_messages_in_) / seconds));
  status_messages_in_ = messages_in;
  last_status_ = now;
}

asio::awaitable<void> Server::accept_loop() {
  RateLimitedLog failures;
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {
      // Out of descriptors or similar: say so (a line a second at most) and give the system a
      // moment instead of spinning on an acceptor that keeps failing.
      failures("server.accept_failed error={:?}", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    std::error_code gone;
    const auto from = canonical_address(socket.remote_endpoint(gone).address());
    if (gone) continue;
    admit(std::make_unique<TcpTransport>(std::move(socket)), from);
  }
}

void Server::admit(std::unique_ptr<Transport> transport, const asio::ip::address& from) {
  std::string refused = refusal(from, std::chrono::steady_clock::now());
  if (!refused.empty()) {
    // A flood of these gets a line a second, not a line each, and costs no memory.
    traffic_->count_refusal(static_cast<std::uint16_t>(protocol::Errc::too_many_connections));
    (*refusal_log_)("server.refused peer={} reason={:?}", from.to_string(), refused);
    if (refusing_ >= max_refusing) return;  // the connection closes as it goes out of scope
    ++refusing_;
  }
  ++traffic_->connections_accepted;
  const auto id = next_session_id_++;
  if (refused.empty()) admitted_from_.emplace(id, from);
  auto session = std::make_shared<Session>(std::move(transport), *this, id, std::move(refused));
  sessions_.emplace(id, session);
  session->start();
}

std::string Server::refusal(const asio::ip::address& from,
                            std::chrono::steady_clock::time_point now) {
  if (sessions_.size() - refusing_ >= config_.max_connections) {
    return fmt::format("the broker allows {} connections; retry later", config_.max_connections);
  }
  const auto decision = connection_limits_->admit(from, config_, now);
  switch (decision.verdict) {
    case ConnectionLimits::Verdict::admit: return {};
    case ConnectionLimits::Verdict::address_connections:
      return fmt::format(
          "{} connections from {} are open, the most one address may have; retry "
          "once one closes",
          config_.max_connections_per_address, from.to_string());
    case ConnectionLimits::Verdict::address_rate:
      return fmt::format("over {} new connections a second from {}; {}",
                         config_.max_connect_rate_per_address, from.to_string(),
                         retry_hint(decision.retry_after));
    case ConnectionLimits::Verdict::overall_rate:
      return fmt::format("over {} new connections a second; {}", config_.max_connect_rate,
                         retry_hint(decision.retry_after));
  }
  return {};
}

void Server::forget(std::uint64_t session_id) {
  const auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return;
  if (it->second->refusing()) --refusing_;
  if (const auto from = admitted_from_.find(session_id); from != admitted_from_.end()) {
    connection_limits_->release(from->second);
    admitted_from_.erase(from);
  }
  sessions_.erase(it);
}

void Server::shut_down() {
  if (shutting_down_) {
    // Asked twice: stop waiting for slow peers.
    spdlog::info("server.stopping_now sessions={}", sessions_.size());
    shutdown_deadline_ = std::chrono::steady_clock::now();
    housekeeping_timer_.cancel();
    return;
  }
  shutting_down_ = true;
  systemd::notify_stopping();
  watchdog_timer_.cancel();
  shutdown_deadline_ = std::chrono::steady_clock::now() + config_.shutdown_grace -
                       config_.shutdown_grace / teardown_share;
  router_->start_discarding();
  spdlog::info("server.stopping sessions={}", sessions_.size());
  std::error_code ignored;
  acceptor_.close(ignored);
  if (tls_listener_) tls_listener_->close();
  auto sessions = sessions_;
  for (auto& [id, session] : sessions) session->shut_down();
  housekeeping_timer_.cancel();
  // No connection takes queue messages any more: what waits in a backlog is going to be
  // discarded, so free it now, a slice per turn, while the connections flush.
  asio::co_spawn(io_, discard_loop(), asio::detached);
}

asio::awaitable<void> Server::discard_loop() {
  for (;;) {
    std::size_t budget = discard_slice;
    router_->for_each_queue([&](QueueChannel& channel) { budget -= channel.discard(budget); });
    if (budget == discard_slice) break;
    co_await asio::post(io_, asio::use_awaitable);
  }
  // Hand the freed pages back now, within the grace: left to the process exit, unmapping a
  // heap that held a million messages takes the kernel a good part of a second.
  ::malloc_trim(0);
}

asio::awaitable<void> Server::housekeeping_loop() {
  // Deadlines are checked by this one sweep rather than a timer per session: one clock read and
  // one pass over the sessions per tick, nothing per read or per message.
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<Session>> sessions;
    sessions.reserve(sessions_.size());
    for (auto& [id, session] : sessions_) sessions.push_back(session);
    for (auto& session : sessions) session->check_deadlines(now);
    if (shutting_down_ && now >= shutdown_deadline_ && !sessions.empty()) {
      log_unsent(sessions);
      for (auto& session : sessions) session->stop("shutdown grace expired");
    }
    report_drops(now);
    refresh_status(now);
    check_memory();
    connection_limits_->sweep(config_, now);
    if (shutting_down_ && sessions_.empty()) break;
    // Recomputed each time: a reload may shorten a deadline.
    housekeeping_timer_.expires_after(shutting_down_ ? std::chrono::milliseconds(10)
                                                     : sweep_period(config_));
    co_await housekeeping_timer_.async_wait(use_nothrow);
  }
  log_discarded(*router_);
  // After the sessions: the acks they sent last are written and fsync'd before the exit.
  if (journal_) {
    journal_->close();
    spdlog::info("storage.closed dir={:?}", config_.data_dir);
  }
  spdlog::info("server.stopped dead_lettered={} dead_letters_dropped={} messages_expired={}",
               router_->dead_lettered(), router_->dead_letters_dropped(),
               router_->messages_expired());
  if (on_stopped_) on_stopped_();
}

void Server::check_memory() {
  if (!memory_budget_->relieved()) return;
  std::vector<std::shared_ptr<Session>> sessions;
  sessions.reserve(sessions_.size());
  for (auto& [id, session] : sessions_) sessions.push_back(session);
  for (auto& session : sessions) session->on_memory_relieved();
}

void Server::report_drops(std::chrono::steady_clock::time_point now) {
  DropLog& drops = traffic_->drops;
  if (drops.dropped == 0 || now - last_drop_report_ < std::chrono::seconds(1)) return;
  spdlog::warn("topic.dropped messages={} first_channel={:?} reason=\"slow subscribers\"",
               drops.dropped, drops.first_channel);
  drops.dropped = 0;
  last_drop_report_ = now;
}

}  // namespace paperboy::broker
