#include "stats_json.hpp"

#include <nlohmann/json.hpp>

namespace paperboy::daemon {
namespace {

using broker::ChannelSnapshot;
using broker::ConnectionSnapshot;
using broker::Histogram;
using broker::ServerSnapshot;
// Keys in the order written (server first), so that a person reading `curl /stats` finds them.
using json = nlohmann::ordered_json;

json histogram_json(const Histogram& histogram) {
  return {{"upper_bounds_seconds", histogram.upper_bounds_seconds},
          {"bucket_counts", histogram.bucket_counts},
          {"sum_seconds", histogram.sum_seconds},
          {"count", histogram.count}};
}

json server_json(const ServerSnapshot& snapshot) {
  return {{"server_id", snapshot.server_id},
          {"version", snapshot.version},
          {"uptime_seconds", snapshot.uptime_seconds},
          {"connections", snapshot.connections},
          {"connections_total", snapshot.connections_total},
          {"messages_in", snapshot.messages_in},
          {"messages_out", snapshot.messages_out},
          {"bytes_in", snapshot.bytes_in},
          {"bytes_out", snapshot.bytes_out},
          {"slow_consumers", snapshot.slow_consumers},
          {"blocked_publishers", snapshot.blocked_publishers},
          {"memory_bytes", snapshot.memory_bytes},
          {"refusals", snapshot.refusals},
          {"tls_handshake_failures", snapshot.tls_handshake_failures},
          {"time_in_queue", histogram_json(snapshot.time_in_queue)},
          {"publish_to_write", histogram_json(snapshot.publish_to_write)}};
}

json storage_json(const broker::StorageSnapshot& storage) {
  return {{"accepting", storage.accepting},
          {"bytes_on_disk", storage.bytes_on_disk},
          {"segments", storage.segments},
          {"fsyncs", storage.fsyncs},
          {"batches", storage.batches},
          {"records", storage.records},
          {"write_failures", storage.write_failures},
          {"compacted_segments", storage.compacted_segments},
          {"deleted_segments", storage.deleted_segments},
          {"recovery_seconds", storage.recovery_seconds},
          {"fsync_seconds", histogram_json(storage.fsync_seconds)},
          {"batch_records", histogram_json(storage.batch_records)}};
}

json channel_json(const ChannelSnapshot& channel) {
  return {{"name", channel.name},
          {"kind", channel.kind == ChannelSnapshot::Kind::queue ? "queue" : "topic"},
          {"published", channel.published},
          {"delivered", channel.delivered},
          {"dropped", channel.dropped},
          {"gaps", channel.gaps},
          {"expired", channel.expired},
          {"dead_lettered", channel.dead_lettered},
          {"backlog_messages", channel.backlog_messages},
          {"backlog_bytes", channel.backlog_bytes},
          {"consumers", channel.consumers},
          {"unacked", channel.unacked},
          {"blocked_publishers", channel.blocked_publishers},
          {"durable", channel.durable},
          {"oldest_age_seconds",
           channel.oldest_age_seconds ? json(*channel.oldest_age_seconds) : json(nullptr)}};
}

json connection_json(const ConnectionSnapshot& connection) {
  return {{"id", connection.id},
          {"peer", connection.peer},
          {"protocol", connection.protocol},
          {"client_name", connection.client_name},
          {"subscriptions", connection.subscriptions},
          {"send_queue_bytes", connection.send_queue_bytes},
          {"unacked", connection.unacked},
          {"dropped", connection.dropped},
          {"slow", connection.slow},
          {"publishing_blocked", connection.publishing_blocked},
          {"messages_in", connection.messages_in},
          {"messages_out", connection.messages_out}};
}

}  // namespace

std::string render_stats_json(const ServerSnapshot& snapshot) {
  json channels = json::array();
  for (const ChannelSnapshot& channel : snapshot.channels)
    channels.push_back(channel_json(channel));
  json connections = json::array();
  for (const ConnectionSnapshot& connection : snapshot.connections_detail) {
    connections.push_back(connection_json(connection));
  }
  json server = server_json(snapshot);
  server["storage"] = snapshot.storage ? storage_json(*snapshot.storage) : json(nullptr);
  json document = {{"server", std::move(server)},
                   {"channels", std::move(channels)},
                   {"connections", std::move(connections)}};
  // Names and peers come from clients: replace invalid UTF-8 rather than throw.
  return document.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace paperboy::daemon
