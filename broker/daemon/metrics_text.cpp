#include "metrics_text.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string_view>
#include <utility>

namespace paperboy::daemon {
namespace {

using broker::ChannelSnapshot;
using broker::Histogram;
using broker::ServerSnapshot;

using Label = std::pair<std::string_view, std::string_view>;

// Every protocol a connection can speak, so that each has a series (0 when none is open) rather
// than one that appears and vanishes.
constexpr std::string_view known_protocols[] = {"pb0", "pb1v1", "pb1v2", "handshake"};

std::string_view kind_name(ChannelSnapshot::Kind kind) {
  return kind == ChannelSnapshot::Kind::queue ? "queue" : "topic";
}

/// Appends samples to a text exposition: a family's HELP and TYPE once, then its samples.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
  }

  /// A family of one unlabelled sample.
  template <class Value>
  void single(std::string_view name, std::string_view type, std::string_view help, Value value) {
    family(name, type, help);
    sample(name, {}, value);
  }

  void sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value) {
    begin_sample(name, labels);
    fmt::format_to(std::back_inserter(text_), "{}\n", value);
  }

  void sample(std::string_view name, std::initializer_list<Label> labels, double value) {
    begin_sample(name, labels);
    append_float(value);
    text_ += '\n';
  }

  void histogram(std::string_view name, std::string_view help, const Histogram& histogram) {
    family(name, "histogram", help);
    const std::string bucket = fmt::format("{}_bucket", name);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < histogram.bucket_counts.size(); ++i) {
      cumulative += histogram.bucket_counts[i];
      const bool last = i >= histogram.upper_bounds_seconds.size();
      const std::string bound = last ? "+Inf" : float_text(histogram.upper_bounds_seconds[i]);
      sample(bucket, {{"le", bound}}, cumulative);
    }
    if (histogram.bucket_counts.empty()) sample(bucket, {{"le", "+Inf"}}, histogram.count);
    sample(fmt::format("{}_sum", name), {}, histogram.sum_seconds);
    sample(fmt::format("{}_count", name), {}, histogram.count);
  }

  std::string take() { return std::move(text_); }

 private:
  void begin_sample(std::string_view name, std::initializer_list<Label> labels) {
    text_ += name;
    if (labels.size() != 0) {
      text_ += '{';
      bool first = true;
      for (const auto& [label, value] : labels) {
        if (!first) text_ += ',';
        first = false;
        text_ += label;
        text_ += "=\"";
        append_escaped(value);
        text_ += '"';
      }
      text_ += '}';
    }
    text_ += ' ';
  }

  // A label value escapes backslash, double quote and line feed; nothing else.
  void append_escaped(std::string_view value) {
    for (const char c : value) {
      switch (c) {
        case '\\': text_ += "\\\\"; break;
        case '"': text_ += "\\\""; break;
        case '\n': text_ += "\\n"; break;
        default: text_ += c;
      }
    }
  }

  void append_float(double value) { text_ += float_text(value); }

  // The shortest text that reads back as the same double, in the spellings Prometheus parses
  // (Go's ParseFloat): 0.25, 1e-05, +Inf, NaN.
  static std::string float_text(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", value);
  }

  std::string text_;
};

void render_server(Exposition& out, const ServerSnapshot& snapshot) {
  out.family("paperboy_info", "gauge", "The broker's version and server id (always 1).");
  out.sample("paperboy_info", {{"version", snapshot.version}, {"server_id", snapshot.server_id}},
             std::uint64_t{1});
  out.single("paperboy_uptime_seconds", "gauge", "Seconds since paperboyd started.",
             snapshot.uptime_seconds);

  out.family("paperboy_connections", "gauge", "Client connections open now, by protocol.");
  for (const std::string_view protocol : known_protocols) {
    const auto open = snapshot.connections.find(std::string(protocol));
    out.sample("paperboy_connections", {{"protocol", protocol}},
               open == snapshot.connections.end() ? std::uint64_t{0} : open->second);
  }
  for (const auto& [protocol, open] : snapshot.connections) {
    if (std::find(std::begin(known_protocols), std::end(known_protocols), protocol) ==
        std::end(known_protocols)) {
      out.sample("paperboy_connections", {{"protocol", protocol}}, open);
    }
  }
  out.single("paperboy_connections_accepted_total", "counter",
             "Client connections accepted since start.", snapshot.connections_total);

  out.single("paperboy_server_messages_in_total", "counter", "PUBs taken, every channel.",
             snapshot.messages_in);
  out.single("paperboy_server_messages_out_total", "counter",
             "Deliveries queued for client sockets, every channel.", snapshot.messages_out);
  out.single("paperboy_bytes_in_total", "counter", "Bytes read from client sockets.",
             snapshot.bytes_in);
  out.single("paperboy_bytes_out_total", "counter", "Bytes written to client sockets.",
             snapshot.bytes_out);

  out.single("paperboy_tls_handshake_failures_total", "counter",
             "Connections to the TLS port closed before their handshake finished (failed, timed "
             "out, or over the handshakes in progress).",
             snapshot.tls_handshake_failures);

  out.family("paperboy_refusals_total", "counter",
             "ERR frames sent and connections refused, by error code name.");
  for (const auto& [code, count] : snapshot.refusals) {
    out.sample("paperboy_refusals_total", {{"code", code}}, count);
  }

  out.single("paperboy_slow_consumers", "gauge", "Connections whose send queue is at its cap now.",
             snapshot.slow_consumers);
  out.single("paperboy_blocked_publishers", "gauge", "Connections whose PUBs wait for room now.",
             snapshot.blocked_publishers);
  out.single("paperboy_memory_bytes", "gauge",
             "Bytes the memory budget counts as held for clients now.", snapshot.memory_bytes);
}

/// One per-channel family: a sample for each channel `applies` to, labelled channel and kind.
template <class Applies, class Value>
void render_channel_family(Exposition& out, const ServerSnapshot& snapshot, std::string_view name,
                           std::string_view type, std::string_view help, Applies applies,
                           Value value) {
  out.family(name, type, help);
  for (const ChannelSnapshot& channel : snapshot.channels) {
    if (!applies(channel)) continue;
    out.sample(name, {{"channel", channel.name}, {"kind", kind_name(channel.kind)}},
               value(channel));
  }
}

void render_channels(Exposition& out, const ServerSnapshot& snapshot) {
  const auto every = [](const ChannelSnapshot&) { return true; };
  const auto queues = [](const ChannelSnapshot& c) {
    return c.kind == ChannelSnapshot::Kind::queue;
  };
  const auto topics = [](const ChannelSnapshot& c) {
    return c.kind == ChannelSnapshot::Kind::topic;
  };
  const auto queue_with_backlog = [](const ChannelSnapshot& c) {
    return c.kind == ChannelSnapshot::Kind::queue && c.oldest_age_seconds.has_value();
  };
  render_channel_family(out, snapshot, "paperboy_messages_published_total", "counter",
                        "Messages published to the channel (a queue: accepted into it).", every,
                        [](const ChannelSnapshot& c) { return c.published; });
  render_channel_family(out, snapshot, "paperboy_messages_delivered_total", "counter",
                        "Deliveries queued for a subscriber's socket.", every,
                        [](const ChannelSnapshot& c) { return c.delivered; });
  render_channel_family(out, snapshot, "paperboy_messages_dropped_total", "counter",
                        "Topic messages lost to slow subscribers.", every,
                        [](const ChannelSnapshot& c) { return c.dropped; });
  render_channel_family(out, snapshot, "paperboy_gaps_total", "counter",
                        "GAP frames sent to the topic's subscribers.", every,
                        [](const ChannelSnapshot& c) { return c.gaps; });
  render_channel_family(out, snapshot, "paperboy_messages_expired_total", "counter",
                        "Queue messages discarded for their TTL.", every,
                        [](const ChannelSnapshot& c) { return c.expired; });
  render_channel_family(out, snapshot, "paperboy_messages_dead_lettered_total", "counter",
                        "Queue messages moved to the dead-letter channel.", every,
                        [](const ChannelSnapshot& c) { return c.dead_lettered; });

  render_channel_family(out, snapshot, "paperboy_queue_depth", "gauge",
                        "Messages in the queue waiting for a consumer.", queues,
                        [](const ChannelSnapshot& c) { return c.backlog_messages; });
  render_channel_family(out, snapshot, "paperboy_queue_bytes", "gauge",
                        "Bytes of the messages waiting in the queue.", queues,
                        [](const ChannelSnapshot& c) { return c.backlog_bytes; });
  render_channel_family(out, snapshot, "paperboy_queue_consumers", "gauge",
                        "Consumers subscribed to the queue.", queues,
                        [](const ChannelSnapshot& c) { return c.consumers; });
  render_channel_family(out, snapshot, "paperboy_queue_unacked", "gauge",
                        "Queue messages handed out with manual ack and not yet settled.", queues,
                        [](const ChannelSnapshot& c) { return c.unacked; });
  render_channel_family(out, snapshot, "paperboy_queue_blocked_publishers", "gauge",
                        "Publishers waiting for room in the queue.", queues,
                        [](const ChannelSnapshot& c) { return c.blocked_publishers; });
  render_channel_family(out, snapshot, "paperboy_queue_oldest_message_age_seconds", "gauge",
                        "Age of the message at the head of the queue's backlog.",
                        queue_with_backlog,
                        [](const ChannelSnapshot& c) { return *c.oldest_age_seconds; });
  render_channel_family(out, snapshot, "paperboy_queue_durable", "gauge",
                        "1 when the queue's messages are kept in --data-dir, else 0.", queues,
                        [](const ChannelSnapshot& c) { return std::uint64_t{c.durable}; });
  render_channel_family(out, snapshot, "paperboy_topic_subscribers", "gauge",
                        "Subscribers of the topic (a wildcard pattern counts as its own channel).",
                        topics, [](const ChannelSnapshot& c) { return c.consumers; });
}

// The journal of the durable queues; nothing without --data-dir.
void render_storage(Exposition& out, const broker::StorageSnapshot& storage) {
  out.single("paperboy_storage_accepting", "gauge",
             "1 while the journal writes; 0 while the disk refuses (durable PUBs get ERR 12).",
             std::uint64_t{storage.accepting});
  out.single("paperboy_storage_bytes", "gauge", "Bytes of journal segments on disk.",
             storage.bytes_on_disk);
  out.single("paperboy_storage_segments", "gauge", "Journal segment files on disk.",
             storage.segments);
  out.single("paperboy_storage_fsyncs_total", "counter", "fdatasync calls by the journal.",
             storage.fsyncs);
  out.single("paperboy_storage_batches_total", "counter", "Group-commit batches written.",
             storage.batches);
  out.single("paperboy_storage_records_total", "counter", "Journal records written.",
             storage.records);
  out.single("paperboy_storage_write_failures_total", "counter",
             "Batches whose write or fdatasync failed (disk full, I/O error).",
             storage.write_failures);
  out.single("paperboy_storage_compacted_segments_total", "counter",
             "Segments whose live records were copied forward and the segment deleted.",
             storage.compacted_segments);
  out.single("paperboy_storage_deleted_segments_total", "counter",
             "Segments deleted with nothing live in them.", storage.deleted_segments);
  out.single("paperboy_storage_recovery_seconds", "gauge",
             "How long reading the journal back took at start-up.", storage.recovery_seconds);
  out.histogram("paperboy_storage_fsync_seconds", "Latency of the journal's fdatasync calls.",
                storage.fsync_seconds);
  out.histogram("paperboy_storage_batch_records", "Records per group-commit batch.",
                storage.batch_records);
}

}  // namespace

std::string render_prometheus(const ServerSnapshot& snapshot) {
  Exposition out;
  render_server(out, snapshot);
  render_channels(out, snapshot);
  out.histogram("paperboy_time_in_queue_seconds",
                "From a queue message's publish to its hand-out to a consumer; sampled, one "
                "delivery in 64.",
                snapshot.time_in_queue);
  out.histogram("paperboy_publish_to_write_seconds",
                "From a message's publish to the socket write that sent it to a subscriber; "
                "sampled, one delivery in 64.",
                snapshot.publish_to_write);
  if (snapshot.storage) render_storage(out, *snapshot.storage);
  return out.take();
}

}  // namespace paperboy::daemon
