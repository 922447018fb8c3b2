#include "metrics_text.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace paperboy::daemon {
namespace {

using broker::ChannelSnapshot;
using broker::ServerSnapshot;

ChannelSnapshot queue_channel(std::string name) {
  ChannelSnapshot channel;
  channel.name = std::move(name);
  channel.kind = ChannelSnapshot::Kind::queue;
  channel.published = 30;
  channel.delivered = 10;
  channel.backlog_messages = 20;
  channel.backlog_bytes = 640;
  channel.consumers = 1;
  channel.unacked = 6;
  channel.oldest_age_seconds = 0.25;
  return channel;
}

ChannelSnapshot topic_channel(std::string name) {
  ChannelSnapshot channel;
  channel.name = std::move(name);
  channel.published = 50;
  channel.delivered = 100;
  channel.consumers = 2;
  return channel;
}

/// Whether `text` has `line` as a whole line.
bool has_line(const std::string& text, std::string_view line) {
  std::size_t at = 0;
  while ((at = text.find(line, at)) != std::string::npos) {
    const bool starts_line = at == 0 || text[at - 1] == '\n';
    const bool ends_line = at + line.size() == text.size() || text[at + line.size()] == '\n';
    if (starts_line && ends_line) return true;
    at += line.size();
  }
  return false;
}

std::size_t count_of(const std::string& text, std::string_view part) {
  std::size_t count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

TEST_CASE("render_prometheus: a counter with its HELP and TYPE, once") {
  ServerSnapshot snapshot;
  snapshot.connections_total = 7;
  const std::string text = render_prometheus(snapshot);
  CHECK(has_line(text,
                 "# HELP paperboy_connections_accepted_total Client connections accepted since "
                 "start."));
  CHECK(has_line(text, "# TYPE paperboy_connections_accepted_total counter"));
  CHECK(has_line(text, "paperboy_connections_accepted_total 7"));
  CHECK(count_of(text, "# TYPE paperboy_connections_accepted_total ") == 1);
  CHECK(text.back() == '\n');
}

TEST_CASE("render_prometheus: failed TLS handshakes") {
  ServerSnapshot snapshot;
  snapshot.tls_handshake_failures = 3;
  const std::string text = render_prometheus(snapshot);
  CHECK(has_line(text, "# TYPE paperboy_tls_handshake_failures_total counter"));
  CHECK(has_line(text, "paperboy_tls_handshake_failures_total 3"));
}

TEST_CASE("render_prometheus: connections by protocol, every known protocol present") {
  ServerSnapshot snapshot;
  snapshot.connections = {{"pb1v2", 3}, {"pb0", 1}};
  const std::string text = render_prometheus(snapshot);
  CHECK(has_line(text, "# TYPE paperboy_connections gauge"));
  CHECK(has_line(text, R"(paperboy_connections{protocol="pb1v2"} 3)"));
  CHECK(has_line(text, R"(paperboy_connections{protocol="pb0"} 1)"));
  CHECK(has_line(text, R"(paperboy_connections{protocol="pb1v1"} 0)"));
  CHECK(has_line(text, R"(paperboy_connections{protocol="handshake"} 0)"));
}

TEST_CASE("render_prometheus: labelled per-channel gauges and counters") {
  ServerSnapshot snapshot;
  snapshot.channels = {queue_channel("/queue/jobs"), topic_channel("/topic/a")};
  const std::string text = render_prometheus(snapshot);
  CHECK(has_line(text, "# TYPE paperboy_queue_depth gauge"));
  CHECK(has_line(text, R"(paperboy_queue_depth{channel="/queue/jobs",kind="queue"} 20)"));
  CHECK(has_line(text, R"(paperboy_queue_unacked{channel="/queue/jobs",kind="queue"} 6)"));
  CHECK(has_line(text, R"(paperboy_queue_consumers{channel="/queue/jobs",kind="queue"} 1)"));
  CHECK(has_line(
      text,
      R"(paperboy_queue_oldest_message_age_seconds{channel="/queue/jobs",kind="queue"} 0.25)"));
  CHECK(has_line(text, R"(paperboy_messages_published_total{channel="/topic/a",kind="topic"} 50)"));
  CHECK(
      has_line(text, R"(paperboy_messages_delivered_total{channel="/topic/a",kind="topic"} 100)"));
  CHECK(has_line(text, R"(paperboy_topic_subscribers{channel="/topic/a",kind="topic"} 2)"));
  // Queue gauges are for queues, the subscriber gauge for topics.
  CHECK(text.find(R"(paperboy_queue_depth{channel="/topic/a")") == std::string::npos);
  CHECK(text.find(R"(paperboy_topic_subscribers{channel="/queue/jobs")") == std::string::npos);
}

TEST_CASE("render_prometheus: a queue without a backlog has no oldest-message age") {
  ServerSnapshot snapshot;
  ChannelSnapshot empty = queue_channel("/queue/idle");
  empty.backlog_messages = 0;
  empty.oldest_age_seconds.reset();
  snapshot.channels = {empty};
  const std::string text = render_prometheus(snapshot);
  CHECK(has_line(text, R"(paperboy_queue_depth{channel="/queue/idle",kind="queue"} 0)"));
  CHECK(text.find("paperboy_queue_oldest_message_age_seconds{") == std::string::npos);
}

TEST_CASE("render_prometheus: a channel name with a quote, a backslash and a line feed") {
  ServerSnapshot snapshot;
  snapshot.channels = {topic_channel("/topic/say \"hi\"\\now\nthen")};
  const std::string text = render_prometheus(snapshot);
  CHECK(has_line(
      text,
      R"(paperboy_messages_published_total{channel="/topic/say \"hi\"\\now\nthen",kind="topic"} 50)"));
}

TEST_CASE("render_prometheus: refusals by code, the info gauge") {
  ServerSnapshot snapshot;
  snapshot.version = "1.2.3";
  snapshot.server_id = "pb-1";
  snapshot.refusals = {{"frame_too_large", 2}, {"bad_channel", 1}};
  const std::string text = render_prometheus(snapshot);
  CHECK(has_line(text, "# TYPE paperboy_refusals_total counter"));
  CHECK(has_line(text, R"(paperboy_refusals_total{code="frame_too_large"} 2)"));
  CHECK(has_line(text, R"(paperboy_refusals_total{code="bad_channel"} 1)"));
  CHECK(has_line(text, R"(paperboy_info{version="1.2.3",server_id="pb-1"} 1)"));
}

TEST_CASE("render_prometheus: a histogram's buckets are cumulative and end at +Inf") {
  ServerSnapshot snapshot;
  snapshot.time_in_queue.upper_bounds_seconds = {0.001, 0.25, 2.5};
  snapshot.time_in_queue.bucket_counts = {3, 0, 4, 2};  // the last: over 2.5 s
  snapshot.time_in_queue.sum_seconds = 31.5;
  snapshot.time_in_queue.count = 9;
  const std::string text = render_prometheus(snapshot);
  CHECK(has_line(text, "# TYPE paperboy_time_in_queue_seconds histogram"));
  CHECK(has_line(text, R"(paperboy_time_in_queue_seconds_bucket{le="0.001"} 3)"));
  CHECK(has_line(text, R"(paperboy_time_in_queue_seconds_bucket{le="0.25"} 3)"));
  CHECK(has_line(text, R"(paperboy_time_in_queue_seconds_bucket{le="2.5"} 7)"));
  CHECK(has_line(text, R"(paperboy_time_in_queue_seconds_bucket{le="+Inf"} 9)"));
  CHECK(has_line(text, "paperboy_time_in_queue_seconds_sum 31.5"));
  CHECK(has_line(text, "paperboy_time_in_queue_seconds_count 9"));
  CHECK(count_of(text, "# TYPE paperboy_time_in_queue_seconds ") == 1);
}

TEST_CASE("render_prometheus: floats in the spellings Prometheus parses") {
  ServerSnapshot snapshot;
  snapshot.uptime_seconds = 12.5;
  snapshot.publish_to_write.upper_bounds_seconds = {1e-05};
  snapshot.publish_to_write.bucket_counts = {0, 0};
  const std::string text = render_prometheus(snapshot);
  CHECK(has_line(text, "paperboy_uptime_seconds 12.5"));
  CHECK(has_line(text, R"(paperboy_publish_to_write_seconds_bucket{le="1e-05"} 0)"));
  CHECK(has_line(text, "paperboy_publish_to_write_seconds_sum 0"));
}

}  // namespace
}  // namespace paperboy::daemon
