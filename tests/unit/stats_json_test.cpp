#include "stats_json.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace paperboy::daemon {
namespace {

using broker::ChannelSnapshot;
using broker::ConnectionSnapshot;
using broker::ServerSnapshot;
using nlohmann::json;

ServerSnapshot sample_snapshot() {
  ServerSnapshot snapshot;
  snapshot.server_id = "pb-1";
  snapshot.version = "1.2.3";
  snapshot.uptime_seconds = 3.5;
  snapshot.connections = {{"pb1v2", 2}};
  snapshot.connections_total = 5;
  snapshot.messages_in = 80;
  snapshot.messages_out = 110;
  snapshot.refusals = {{"bad_channel", 1}};
  snapshot.tls_handshake_failures = 4;
  snapshot.time_in_queue.upper_bounds_seconds = {0.001};
  snapshot.time_in_queue.bucket_counts = {1, 2};
  snapshot.time_in_queue.sum_seconds = 4.5;
  snapshot.time_in_queue.count = 3;

  ChannelSnapshot queue;
  queue.name = "/queue/jobs";
  queue.kind = ChannelSnapshot::Kind::queue;
  queue.published = 30;
  queue.backlog_messages = 20;
  queue.unacked = 6;
  queue.oldest_age_seconds = 0.5;
  ChannelSnapshot topic;
  topic.name = "/topic/\"quoted\"";
  topic.published = 50;
  snapshot.channels = {queue, topic};

  ConnectionSnapshot connection;
  connection.id = 9;
  connection.peer = "127.0.0.1:5000";
  connection.protocol = "pb1v2";
  connection.client_name = "worker";
  connection.subscriptions = {"/queue/jobs"};
  connection.unacked = 6;
  connection.slow = true;
  snapshot.connections_detail = {connection};
  return snapshot;
}

TEST_CASE("render_stats_json: the server object") {
  const json doc = json::parse(render_stats_json(sample_snapshot()));
  const json& server = doc.at("server");
  CHECK(server.at("server_id") == "pb-1");
  CHECK(server.at("version") == "1.2.3");
  CHECK(server.at("uptime_seconds").get<double>() == 3.5);
  CHECK(server.at("connections") == json{{"pb1v2", 2}});
  CHECK(server.at("connections_total") == 5);
  CHECK(server.at("messages_in") == 80);
  CHECK(server.at("messages_out") == 110);
  CHECK(server.at("refusals") == json{{"bad_channel", 1}});
  CHECK(server.at("tls_handshake_failures") == 4);
  for (const char* key :
       {"bytes_in", "bytes_out", "slow_consumers", "blocked_publishers", "memory_bytes"}) {
    CAPTURE(key);
    CHECK(server.at(key) == 0);
  }
  const json& histogram = server.at("time_in_queue");
  CHECK(histogram.at("upper_bounds_seconds") == json::array({0.001}));
  CHECK(histogram.at("bucket_counts") == json::array({1, 2}));
  CHECK(histogram.at("sum_seconds").get<double>() == 4.5);
  CHECK(histogram.at("count") == 3);
  CHECK(server.at("publish_to_write").at("count") == 0);
}

TEST_CASE("render_stats_json: channels, with the oldest age null when there is no backlog") {
  const json doc = json::parse(render_stats_json(sample_snapshot()));
  const json& channels = doc.at("channels");
  REQUIRE(channels.size() == 2);
  const json& queue = channels[0];
  CHECK(queue.at("name") == "/queue/jobs");
  CHECK(queue.at("kind") == "queue");
  CHECK(queue.at("published") == 30);
  CHECK(queue.at("backlog_messages") == 20);
  CHECK(queue.at("unacked") == 6);
  CHECK(queue.at("oldest_age_seconds").get<double>() == 0.5);
  for (const char* key : {"delivered", "dropped", "gaps", "expired", "dead_lettered",
                          "backlog_bytes", "consumers", "blocked_publishers"}) {
    CAPTURE(key);
    CHECK(queue.at(key) == 0);
  }
  const json& topic = channels[1];
  CHECK(topic.at("name") == "/topic/\"quoted\"");
  CHECK(topic.at("kind") == "topic");
  CHECK(topic.at("oldest_age_seconds").is_null());
}

TEST_CASE("render_stats_json: connections with their subscriptions") {
  const json doc = json::parse(render_stats_json(sample_snapshot()));
  REQUIRE(doc.at("connections").size() == 1);
  const json& connection = doc.at("connections")[0];
  CHECK(connection.at("id") == 9);
  CHECK(connection.at("peer") == "127.0.0.1:5000");
  CHECK(connection.at("protocol") == "pb1v2");
  CHECK(connection.at("client_name") == "worker");
  CHECK(connection.at("subscriptions") == json::array({"/queue/jobs"}));
  CHECK(connection.at("unacked") == 6);
  CHECK(connection.at("slow") == true);
  CHECK(connection.at("publishing_blocked") == false);
  for (const char* key : {"send_queue_bytes", "dropped", "messages_in", "messages_out"}) {
    CAPTURE(key);
    CHECK(connection.at(key) == 0);
  }
}

TEST_CASE("render_stats_json: an empty server has empty lists and objects, not nulls") {
  const json doc = json::parse(render_stats_json(ServerSnapshot{}));
  CHECK(doc.at("channels") == json::array());
  CHECK(doc.at("connections") == json::array());
  CHECK(doc.at("server").at("connections") == json::object());
  CHECK(doc.at("server").at("refusals") == json::object());
}

TEST_CASE("render_stats_json: a client's invalid UTF-8 is replaced, not thrown on") {
  ServerSnapshot snapshot;
  ConnectionSnapshot connection;
  connection.client_name = "bad\xff name";
  snapshot.connections_detail = {connection};
  const json doc = json::parse(render_stats_json(snapshot));
  CHECK(doc.at("connections")[0].at("client_name") == "bad\xEF\xBF\xBD name");
}

}  // namespace
}  // namespace paperboy::daemon
