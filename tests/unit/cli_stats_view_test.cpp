// What `paperboy stats` and `paperboy queues` print, from /stats documents as CONTRACT_stats.md
// describes them, without a daemon: rates from two samples, the tables, humanised ages and sizes.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "queues_view.hpp"
#include "stats_view.hpp"
#include "text_table.hpp"

namespace paperboy::cli {
namespace {

using nlohmann::json;

json channel(const std::string& name, const std::string& kind, std::uint64_t published,
             std::uint64_t delivered) {
  return {{"name", name},
          {"kind", kind},
          {"published", published},
          {"delivered", delivered},
          {"dropped", 0},
          {"gaps", 0},
          {"expired", 0},
          {"dead_lettered", 0},
          {"backlog_messages", 0},
          {"backlog_bytes", 0},
          {"consumers", 0},
          {"unacked", 0},
          {"blocked_publishers", 0},
          {"oldest_age_seconds", nullptr}};
}

enum class Trouble { none, slow, blocked };

json connection(std::uint64_t id, const std::string& peer, const std::string& protocol,
                const std::string& name, std::uint64_t send_queue_bytes, std::uint64_t dropped,
                Trouble trouble) {
  return {{"id", id},
          {"peer", peer},
          {"protocol", protocol},
          {"client_name", name},
          {"subscriptions", json::array()},
          {"send_queue_bytes", send_queue_bytes},
          {"unacked", 0},
          {"dropped", dropped},
          {"slow", trouble == Trouble::slow},
          {"publishing_blocked", trouble == Trouble::blocked},
          {"messages_in", 0},
          {"messages_out", 0}};
}

// A document as the daemon gives it, `uptime` seconds after its start.
json document(double uptime, std::uint64_t messages_in, std::uint64_t messages_out,
              std::uint64_t bytes_in, std::uint64_t bytes_out, json channels) {
  return {{"server",
           {{"server_id", "NB4Q"},
            {"version", "0.9.0"},
            {"uptime_seconds", uptime},
            {"connections", {{"pb1v2", 3}, {"pb0", 1}}},
            {"connections_total", 9},
            {"messages_in", messages_in},
            {"messages_out", messages_out},
            {"bytes_in", bytes_in},
            {"bytes_out", bytes_out},
            {"slow_consumers", 1},
            {"blocked_publishers", 1},
            {"memory_bytes", 3 * 1024 * 1024},
            {"refusals", {{"payload_too_large", 2}}}}},
          {"channels", std::move(channels)},
          {"connections", json::array()}};
}

TEST_CASE("cli stats: rates are the counters' increase over the daemon's uptime difference") {
  const json before = document(
      100.0, 1000, 2000, 50'000, 90'000,
      {channel("/queue/jobs", "queue", 100, 40), channel("/topic/news", "topic", 500, 1000)});
  const json after = document(
      102.0, 1600, 3000, 70'000, 130'000,
      {channel("/queue/jobs", "queue", 300, 40), channel("/topic/news", "topic", 510, 1020)});
  // The measured time is only a fallback: the uptimes say 2 s.
  const auto rates = rates_between(before, after, 5.0);
  CHECK(rates.interval_seconds == doctest::Approx(2.0));
  CHECK(rates.messages_in_per_second == doctest::Approx(300.0));
  CHECK(rates.messages_out_per_second == doctest::Approx(500.0));
  CHECK(rates.bytes_in_per_second == doctest::Approx(10'000.0));
  CHECK(rates.bytes_out_per_second == doctest::Approx(20'000.0));
  REQUIRE(rates.channels.size() == 2);
  // Busiest first, by messages published per second.
  CHECK(rates.channels[0].name == "/queue/jobs");
  CHECK(rates.channels[0].published_per_second == doctest::Approx(100.0));
  CHECK(rates.channels[0].delivered_per_second == doctest::Approx(0.0));
  CHECK(rates.channels[1].name == "/topic/news");
  CHECK(rates.channels[1].published_per_second == doctest::Approx(5.0));
  CHECK(rates.channels[1].delivered_per_second == doctest::Approx(10.0));
}

TEST_CASE("cli stats: a new channel counts from zero, a reset one from its reset") {
  const json before =
      document(10.0, 0, 0, 0, 0, {channel("/queue/gone-and-back", "queue", 1000, 1000)});
  const json after = document(
      11.0, 0, 0, 0, 0,
      {channel("/queue/gone-and-back", "queue", 7, 3), channel("/topic/new", "topic", 4, 8)});
  const auto rates = rates_between(before, after, 1.0);
  REQUIRE(rates.channels.size() == 2);
  CHECK(rates.channels[0].name == "/queue/gone-and-back");
  CHECK(rates.channels[0].published_per_second == doctest::Approx(7.0));
  CHECK(rates.channels[1].name == "/topic/new");
  CHECK(rates.channels[1].delivered_per_second == doctest::Approx(8.0));
}

TEST_CASE("cli stats: a restarted daemon's rates are measured from its start") {
  const json before = document(500.0, 90'000, 90'000, 0, 0, json::array());
  const json after = document(2.0, 100, 50, 0, 0, json::array());
  const auto rates = rates_between(before, after, 1.0);
  CHECK(rates.interval_seconds == doctest::Approx(2.0));
  CHECK(rates.messages_in_per_second == doctest::Approx(50.0));
  CHECK(rates.messages_out_per_second == doctest::Approx(25.0));
}

TEST_CASE("cli stats: equal uptimes fall back to the time measured between the samples") {
  const json sample = document(7.0, 10, 10, 0, 0, json::array());
  json later = sample;
  later["server"]["messages_in"] = 30;
  const auto rates = rates_between(sample, later, 0.5);
  CHECK(rates.interval_seconds == doctest::Approx(0.5));
  CHECK(rates.messages_in_per_second == doctest::Approx(40.0));
}

TEST_CASE("cli stats: the view shows the server, the busiest channels and troubled connections") {
  json queue = channel("/queue/jobs", "queue", 300, 40);
  queue["backlog_messages"] = 25;
  queue["consumers"] = 2;
  queue["unacked"] = 4;
  json topic = channel("/topic/news", "topic", 510, 1020);
  topic["consumers"] = 2;
  const json before = document(
      100.0, 1000, 2000, 0, 0,
      {channel("/queue/jobs", "queue", 100, 40), channel("/topic/news", "topic", 500, 1000),
       channel("/topic/quiet", "topic", 0, 0)});
  json after = document(102.0, 1600, 3000, 4096, 2 * 1024 * 1024,
                        {queue, topic, channel("/topic/quiet", "topic", 0, 0)});
  after["connections"] = {
      connection(4, "127.0.0.1:40001", "pb1v2", "reader", 1024, 17, Trouble::slow),
      connection(5, "127.0.0.1:40002", "pb1v2", "", 0, 0, Trouble::none),
      connection(6, "127.0.0.1:40003", "pb0", "", 0, 0, Trouble::blocked)};
  const std::string view = render_stats(after, rates_between(before, after, 1.0), 2);
  CHECK(view ==
        "paperboyd 0.9.0  server NB4Q  up 1m42s  (rates over 2.0s)\n"
        "connections   4 (pb0 1, pb1v2 3), 9 accepted\n"
        "messages      in 300/s  out 500/s\n"
        "bytes         in 2.0 KiB/s  out 1.0 MiB/s\n"
        "memory        3.0 MiB\n"
        "flow          slow consumers 1, blocked publishers 1\n"
        "refusals      2 (payload_too_large 2)\n"
        "\n"
        "busiest channels (2 of 3, by messages in per second)\n"
        "CHANNEL      KIND   IN/S  OUT/S  CONSUMERS  DEPTH  UNACKED\n"
        "/queue/jobs  queue   100      0          2     25        4\n"
        "/topic/news  topic   5.0   10.0          2      —        —\n"
        "\n"
        "slow consumers and blocked publishers (2 of 2)\n"
        "ID  PEER             CLIENT  PROTOCOL  STATE    SEND QUEUE  DROPPED\n"
        " 4  127.0.0.1:40001  reader  pb1v2     slow        1.0 KiB       17\n"
        " 6  127.0.0.1:40003  —       pb0       blocked         0 B        0\n");
}

TEST_CASE("cli stats: a quiet daemon says so rather than printing empty tables") {
  const json sample = document(1.0, 0, 0, 0, 0, json::array());
  json later = sample;
  later["server"]["uptime_seconds"] = 2.0;
  later["server"]["refusals"] = json::object();
  const std::string view = render_stats(later, rates_between(sample, later, 1.0), 10);
  CHECK(view.find("refusals      0\n") != std::string::npos);
  CHECK(view.find("channels: none\n") != std::string::npos);
  CHECK(view.find("slow consumers and blocked publishers: none\n") != std::string::npos);
}

TEST_CASE("cli stats: a document missing fields shows zeros, not an exception") {
  const json sparse = {{"server", {{"version", "0.1"}}}, {"channels", {{{"name", "/queue/a"}}}}};
  const auto rates = rates_between(json::object(), sparse, 1.0);
  CHECK(rates.channels.size() == 1);
  CHECK_NOTHROW(render_stats(sparse, rates, 10));
  CHECK_NOTHROW(render_queues(sparse));
}

TEST_CASE("cli queues: a row per queue channel, topics left out, ages humanised") {
  json jobs = channel("/queue/jobs", "queue", 25, 0);
  jobs["backlog_messages"] = 25;
  jobs["backlog_bytes"] = 2500;
  jobs["oldest_age_seconds"] = 3.24;
  json work = channel("/queue/work", "queue", 3, 3);
  work["consumers"] = 1;
  work["unacked"] = 3;
  json slow = channel("/queue/slow", "queue", 1, 0);
  slow["backlog_messages"] = 1;
  slow["backlog_bytes"] = 10;
  slow["blocked_publishers"] = 2;
  slow["oldest_age_seconds"] = 250.0;
  slow["durable"] = true;
  const json stats =
      document(1.0, 0, 0, 0, 0, {jobs, slow, channel("/topic/news", "topic", 5, 5), work});
  CHECK(render_queues(stats) ==
        "QUEUE        DEPTH    BYTES  CONSUMERS  UNACKED  BLOCKED  OLDEST  DURABLE\n"
        "/queue/jobs     25  2.4 KiB          0        0        0    3.2s  no\n"
        "/queue/slow      1     10 B          0        0        2   4m10s  yes\n"
        "/queue/work      0      0 B          1        3        0       —  no\n");
  const json queues = queue_channels(stats);
  REQUIRE(queues.size() == 3);
  CHECK(queues[0]["name"] == "/queue/jobs");
  CHECK(find_queue(stats, "/queue/work").has_value());
  CHECK_FALSE(find_queue(stats, "/topic/news").has_value());
  CHECK_FALSE(find_queue(stats, "/queue/none").has_value());
  CHECK(render_queues(document(1.0, 0, 0, 0, 0, json::array())) == "no queue channels\n");
}

TEST_CASE("cli humanising: ages, rates, sizes and counts") {
  CHECK(format_age(std::nullopt) == "—");
  CHECK(format_age(0.0) == "0.0s");
  CHECK(format_age(3.25) == "3.2s");
  CHECK(format_age(59.99) == "59.9s");
  CHECK(format_age(60.0) == "1m00s");
  CHECK(format_age(250.7) == "4m10s");
  CHECK(format_age(3600.0 + 5 * 60 + 59) == "1h05m");
  CHECK(format_age(3 * 86400.0 + 4 * 3600 + 59) == "3d04h");
  CHECK(format_age(-1.0) == "0.0s");
  CHECK(format_rate(0) == "0");
  CHECK(format_rate(0.4) == "0.4");
  CHECK(format_rate(12.5) == "12.5");
  CHECK(format_rate(417.2) == "417");
  CHECK(format_rate(41'240) == "41.2k");
  CHECK(format_rate(1'300'000) == "1.3M");
  CHECK(format_bytes(0) == "0 B");
  CHECK(format_bytes(1023) == "1023 B");
  CHECK(format_bytes(1536) == "1.5 KiB");
  CHECK(format_bytes(12.0 * 1024 * 1024) == "12.0 MiB");
  CHECK(format_bytes(3.2 * 1024 * 1024 * 1024) == "3.2 GiB");
  CHECK(format_count(9999) == "9999");
  CHECK(format_count(41'240) == "41.2k");
}

TEST_CASE("cli tables: columns as wide as their widest cell, no trailing spaces") {
  TextTable table({{"NAME"}, {"N", TextTable::Align::right}, {"NOTE"}});
  table.add_row({"a", "100", ""});
  table.add_row({"longer", "—", "x"});
  CHECK(table.render() ==
        "NAME      N  NOTE\n"
        "a       100\n"
        "longer    —  x\n");
  CHECK_THROWS_AS(table.add_row({"too few"}), std::logic_error);
}

TEST_CASE("cli queue purge: only y or yes confirms") {
  for (const char* yes : {"y", "Y", "yes", "YES", " yes\r", "y\n"}) {
    CAPTURE(yes);
    CHECK(is_yes(yes));
  }
  for (const char* no : {"", "n", "no", "N", "yess", "y es", "sure", "1"}) {
    CAPTURE(no);
    CHECK_FALSE(is_yes(no));
  }
}

}  // namespace
}  // namespace paperboy::cli
