#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace paperboy::broker {

/// A latency distribution as Prometheus keeps one: a count per bucket (not cumulative), the
/// last bucket being +Inf, with the sum and count of every observation.
struct Histogram {
  std::vector<double> upper_bounds_seconds;  ///< ascending; +Inf is implied after the last
  std::vector<std::uint64_t> bucket_counts;  ///< upper_bounds_seconds.size() + 1 entries
  double sum_seconds = 0;
  std::uint64_t count = 0;
};

/// One channel as it is now. A channel exists while it is used (a topic while it has
/// subscribers, a queue while it has consumers, a backlog or a blocked publisher); its counters
/// start at zero when it is created, as a Prometheus counter may reset.
struct ChannelSnapshot {
  enum class Kind { topic, queue };
  std::string name;  ///< a topic wildcard subscription is a channel named by its pattern
  Kind kind = Kind::topic;
  std::uint64_t published = 0;         ///< messages taken (a queue: accepted into it)
  std::uint64_t delivered = 0;         ///< deliveries queued for a subscriber's socket
  std::uint64_t dropped = 0;           ///< topic: lost to slow subscribers
  std::uint64_t gaps = 0;              ///< topic: GAP frames sent to its subscribers
  std::uint64_t expired = 0;           ///< queue: discarded for their TTL
  std::uint64_t dead_lettered = 0;     ///< queue: moved to its dead-letter channel
  std::uint64_t backlog_messages = 0;  ///< queue: waiting for a consumer
  std::uint64_t backlog_bytes = 0;
  std::uint64_t consumers = 0;           ///< queue consumers, or topic subscribers
  std::uint64_t unacked = 0;             ///< queue: handed out with manual ack and not yet settled
  std::uint64_t blocked_publishers = 0;  ///< queue: publishers waiting for its room
  std::optional<double> oldest_age_seconds;  ///< queue: age of the message at its head
  bool durable = false;                      ///< queue: its messages are kept in --data-dir
};

/// The journal of the durable queues (--data-dir) as it is now.
struct StorageSnapshot {
  std::uint64_t bytes_on_disk = 0;
  std::uint64_t segments = 0;
  std::uint64_t fsyncs = 0;
  std::uint64_t batches = 0;
  std::uint64_t records = 0;
  std::uint64_t write_failures = 0;  ///< batches whose write or fsync failed
  std::uint64_t compacted_segments = 0;
  std::uint64_t deleted_segments = 0;
  Histogram fsync_seconds;
  Histogram batch_records;  ///< records per batch (its bounds are counts, not seconds)
  bool accepting = true;    ///< false while the disk refuses writes (durable PUBs get ERR 12)
  double recovery_seconds = 0;
};

/// One client connection as it is now.
struct ConnectionSnapshot {
  std::uint64_t id = 0;
  std::string peer;         ///< "address:port"
  std::string protocol;     ///< "pb0", "pb1v1", "pb1v2", or "handshake" before the first frame
  std::string client_name;  ///< from HELLO; empty if none
  std::vector<std::string> subscriptions;  ///< channel names, sorted
  std::uint64_t send_queue_bytes = 0;      ///< queued for its socket, not yet written
  std::uint64_t unacked = 0;               ///< its manual-ack deliveries not yet settled
  std::uint64_t dropped = 0;               ///< topic messages it lost (slow subscriber)
  bool slow = false;                       ///< its send queue is at the cap
  bool publishing_blocked = false;         ///< its PUBs wait for room
  std::uint64_t messages_in = 0;           ///< PUBs it sent
  std::uint64_t messages_out = 0;          ///< messages delivered to it
};

/// Everything /metrics, /stats and `paperboy stats` show, taken on the event loop in one pass.
struct ServerSnapshot {
  std::string server_id;
  std::string version;
  double uptime_seconds = 0;
  /// Open connections by protocol ("pb0", "pb1v1", "pb1v2", "handshake").
  std::map<std::string, std::uint64_t> connections;
  std::uint64_t connections_total = 0;   ///< accepted since start
  std::uint64_t messages_in = 0;         ///< PUBs taken, every channel
  std::uint64_t messages_out = 0;        ///< deliveries queued for sockets, every channel
  std::uint64_t bytes_in = 0;            ///< read from sockets
  std::uint64_t bytes_out = 0;           ///< written to sockets
  std::uint64_t slow_consumers = 0;      ///< connections whose send queue is at the cap now
  std::uint64_t blocked_publishers = 0;  ///< connections whose PUBs wait for room now
  std::uint64_t memory_bytes = 0;        ///< what the memory budget counts as held now
  /// ERR frames sent, and connections refused, by error name ("payload_too_large", ...).
  std::map<std::string, std::uint64_t> refusals;
  /// Connections to the TLS port that did not finish their handshake (failed or timed out).
  std::uint64_t tls_handshake_failures = 0;
  /// From a queue message's publish to its hand-out (queue channels), sampled.
  Histogram time_in_queue;
  /// From a message's publish to the write that sent it to a subscriber, sampled.
  Histogram publish_to_write;
  std::optional<StorageSnapshot> storage;              ///< none without --data-dir
  std::vector<ChannelSnapshot> channels;               ///< sorted by name
  std::vector<ConnectionSnapshot> connections_detail;  ///< sorted by id
};

}  // namespace paperboy::broker
