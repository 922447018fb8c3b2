#include <algorithm>
#include <utility>

#include "authenticator.hpp"
#include "memory_gauge.hpp"
#include "paperboy/broker/server.hpp"
#include "paperboy/protocol/errc.hpp"
#include "rate_limited_log.hpp"
#include "router.hpp"
#include "session.hpp"
#include "storage/journal.hpp"
#include "traffic.hpp"

namespace paperboy::broker {

namespace {

template <std::size_t n>
Histogram histogram_of(const std::array<std::uint64_t, n>& counts,
                       std::vector<double> upper_bounds) {
  Histogram histogram;
  histogram.upper_bounds_seconds = std::move(upper_bounds);
  histogram.bucket_counts.assign(counts.begin(), counts.end());
  for (const std::uint64_t count : counts) histogram.count += count;
  return histogram;
}

StorageSnapshot describe_storage(const storage::JournalStats& stats) {
  StorageSnapshot taken;
  taken.bytes_on_disk = stats.bytes_on_disk;
  taken.segments = stats.segments;
  taken.fsyncs = stats.fsyncs;
  taken.batches = stats.batches;
  taken.records = stats.records;
  taken.write_failures = stats.write_failures;
  taken.compacted_segments = stats.compacted_segments;
  taken.deleted_segments = stats.deleted_segments;
  // The contract's buckets: fsync latency in ms, batch sizes in records.
  taken.fsync_seconds = histogram_of(
      stats.fsync_latency_buckets, {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  taken.fsync_seconds.sum_seconds = double(stats.fsync_latency_sum_ns) / 1e9;
  taken.batch_records =
      histogram_of(stats.batch_size_buckets, {1, 4, 16, 64, 256, 1024, 4096});
  taken.accepting = stats.accepting;
  taken.recovery_seconds = std::chrono::duration<double>(stats.recovery_duration).count();
  return taken;
}

}  // namespace

ServerSnapshot Server::snapshot(bool with_connections) const {
  ServerSnapshot taken;
  taken.server_id = config_.server_id;
  taken.version = PAPERBOY_VERSION;
  taken.uptime_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  taken.memory_bytes = MemoryGauge::held();
  const Traffic& traffic = *traffic_;
  taken.connections_total = traffic.connections_accepted;
  taken.bytes_in = traffic.bytes_in;
  taken.bytes_out = traffic.bytes_out;
  taken.messages_in = traffic.closed_messages_in;
  taken.messages_out = traffic.closed_messages_out;
  taken.tls_handshake_failures = traffic.tls_handshake_failures;
  for (std::uint16_t code = 0; code < traffic.refusals.size(); ++code) {
    if (traffic.refusals[code] != 0) {
      taken.refusals[std::string(protocol::errc_name(code))] = traffic.refusals[code];
    }
  }
  taken.time_in_queue = router_->time_in_queue().snapshot();
  taken.publish_to_write = traffic.publish_to_write.snapshot();
  if (journal_) taken.storage = describe_storage(journal_->stats());
  for (const auto& [id, session] : sessions_) {
    taken.messages_in += session->messages_in();
    taken.messages_out += session->messages_out();
    ++taken.connections[std::string(session->protocol_name())];
    if (session->slow()) ++taken.slow_consumers;
    if (session->publishing_blocked()) ++taken.blocked_publishers;
    if (with_connections) taken.connections_detail.push_back(session->describe());
  }
  std::sort(taken.connections_detail.begin(), taken.connections_detail.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  router_->describe_channels(taken.channels);
  std::sort(taken.channels.begin(), taken.channels.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return taken;
}

std::optional<std::uint64_t> Server::purge_queue(std::string_view name) {
  return router_->purge_queue(name);
}

void Server::check_admin(std::string_view name, std::string_view token, const std::string& address,
                         std::function<void(AdminCheck)> done) {
  // Without users the broker trusts whoever reaches it, its HTTP listener included.
  if (!authenticator_) return done(AdminCheck::allowed);
  auto decide = [this, address, name = std::string(name),
                 done = std::move(done)](const Authenticator::Verdict& verdict) {
    const bool accepted = verdict.kind == Authenticator::Verdict::Kind::accepted;
    const AdminCheck check = !accepted             ? AdminCheck::unauthenticated
                             : verdict.user->admin ? AdminCheck::allowed
                                                   : AdminCheck::forbidden;
    if (check != AdminCheck::allowed) {
      (*auth_refusal_log_)("auth.admin_refused peer={} name={:?} reason={:?}", address, name,
                           accepted ? std::string_view("not an admin") : verdict.reason);
    }
    done(check);
  };
  authenticator_->check(name, token, address, io_.get_executor(), std::move(decide));
}

}  // namespace paperboy::broker
