// Durable queues (issue 14): with --data-dir a confirmed PUB to a /queue channel is on disk before
// its OK, and what was confirmed and not acked comes back after kill -9 or a clean restart, in
// order, flagged redelivered when it had been handed out (after a crash: every one). A torn last
// record is cut off, a corrupt one before it stops the start (unless --recover skip-corrupt), a
// full disk refuses durable PUBs with ERR 12 and recovers by itself.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "checks.hpp"
#include "command.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "deadline.hpp"
#include "http_get.hpp"
#include "paperboy/protocol/errc.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "pb0_conn.hpp"
#include "restartable_daemon.hpp"
#include "temp_dir.hpp"
#include "version2.hpp"

namespace p = paperboy::protocol;
namespace fs = std::filesystem;
using namespace paperboy::itest;

namespace {

constexpr auto long_timeout = std::chrono::seconds(30);

/// A message as a consumer saw it.
struct Got {
  std::string payload;
  std::uint64_t delivery = 0;
  bool redelivered = false;
};

std::string numbered(std::string_view who, std::size_t i) {
  std::string n = std::to_string(i);
  return std::string(who) + ":" + std::string(6 - std::min<std::size_t>(6, n.size()), '0') + n;
}

std::size_t number_of(const std::string& payload) {
  return std::stoul(payload.substr(payload.find(':') + 1));
}

/// The next `count` MSGs (nothing else may come in between).
std::vector<Got> receive(Conn& c, std::size_t count, Duration timeout = long_timeout) {
  std::vector<Got> got;
  for (std::size_t i = 0; i < count; ++i) {
    const auto msg = c.expect<p::Msg>(timeout);
    got.push_back(
        {std::string(msg->payload), msg->delivery, (msg->flags & p::msg_flag_redelivered) != 0});
  }
  return got;
}

/// Sends `count` PUBs to `channel` with reqs first_req.. in one write, payloads numbered(who, i).
void publish_burst(Conn& c, std::string_view channel, std::string_view who, std::size_t from,
                   std::size_t count, std::uint32_t first_req) {
  std::string bytes;
  std::vector<std::string> payloads;
  payloads.reserve(count);
  for (std::size_t i = 0; i < count; ++i) payloads.push_back(numbered(who, from + i));
  for (std::size_t i = 0; i < count; ++i) {
    p::append_frame(bytes,
                    p::Pub{first_req + static_cast<std::uint32_t>(i), channel, "", payloads[i]});
  }
  c.send_raw(bytes, long_timeout);
}

/// The journal's newest segment file.
fs::path last_segment(const fs::path& data_dir) {
  std::vector<fs::path> segments;
  for (const auto& entry : fs::directory_iterator(data_dir / "journal")) {
    if (entry.path().extension() == ".seg") segments.push_back(entry.path());
  }
  REQUIRE_FALSE(segments.empty());
  std::sort(segments.begin(), segments.end());
  return segments.back();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

/// A confirmed PUB to another durable queue: once its OK is in, every record written before it
/// (ACKs included) is on disk, since batches reach the disk in order.
void barrier(Conn& c) {
  c.publish("/queue/_barrier", "barrier");
}

/// kill -9 once everything recorded so far is on disk (barrier), then a start on the same dir.
void crash_after_barrier(RestartableDaemon& daemon, Conn& publisher) {
  barrier(publisher);
  daemon.kill();
  daemon.start();
}

}  // namespace

TEST_CASE(
    "durable: kill -9 during a confirmed publish stream loses no confirmed message, and each "
    "publisher's order is kept") {
  TempDir data;
  RestartableDaemon daemon({"--data-dir", data.path().string()});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/invoices";
  constexpr std::size_t per_publisher = 3000;
  Conn a(daemon.port(), "a");
  Conn b(daemon.port(), "b");
  a.hello();
  b.hello();
  publish_burst(a, channel, "a", 1, per_publisher, 1);
  publish_burst(b, channel, "b", 1, per_publisher, 1);
  // Confirmed: every OK read before the kill (in order: a batch confirms its PUBs in order).
  std::map<std::string, std::size_t> confirmed;
  for (std::uint32_t r = 1; r <= per_publisher / 2; ++r) a.expect_ok(r, long_timeout);
  confirmed["a"] = per_publisher / 2;
  for (std::uint32_t r = 1; r <= per_publisher / 3; ++r) b.expect_ok(r, long_timeout);
  confirmed["b"] = per_publisher / 3;
  daemon.kill();

  daemon.start();
  INFO(daemon.log_tail());
  CHECK(daemon.current().log_count("storage.restored messages=") == 1);
  CHECK(daemon.current().log_count("clean_shutdown=false") == 1);
  Conn consumer(daemon.port(), "consumer");
  consumer.hello();
  consumer.subscribe(channel);
  // Each publisher's messages come back as a gapless run from its first: all confirmed ones,
  // maybe some written but not confirmed yet, none twice.
  std::map<std::string, std::size_t> last;
  for (;;) {
    const bool all_back = last["a"] >= confirmed["a"] && last["b"] >= confirmed["b"];
    const auto frame = consumer.poll_message(all_back ? quiet_period : long_timeout);
    if (!frame) break;
    REQUIRE(std::holds_alternative<p::Msg>(**frame));
    const auto& msg = std::get<p::Msg>(**frame);
    const std::string payload(msg.payload);
    const std::string who = payload.substr(0, payload.find(':'));
    REQUIRE_MESSAGE(number_of(payload) == last[who] + 1, payload << " after " << last[who]);
    last[who] = number_of(payload);
    // Never handed out, but after a crash nothing can tell: every recovered message is flagged.
    CHECK((msg.flags & p::msg_flag_redelivered) != 0);
  }
  CHECK(last["a"] >= confirmed["a"]);
  CHECK(last["b"] >= confirmed["b"]);
}

TEST_CASE(
    "durable: kill -9 during manual-ack consumption brings back every unacked message flagged "
    "redelivered, and none acked before a later confirm") {
  TempDir data;
  RestartableDaemon daemon({"--data-dir", data.path().string()});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/jobs";
  constexpr std::size_t total = 100;
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  publish_burst(publisher, channel, "j", 1, total, 1);
  for (std::uint32_t r = 1; r <= total; ++r) publisher.expect_ok(r, long_timeout);

  Conn consumer(daemon.port(), "consumer");
  consumer.hello();
  consumer.subscribe_manual(channel, 10);
  // 40 acked, then 10 more handed out and held unacked.
  std::size_t seen = 0;
  while (seen < 40) {
    for (const Got& got : receive(consumer, 10)) {
      CHECK(number_of(got.payload) == ++seen);
      consumer.ack(got.delivery);
    }
  }
  const auto held = receive(consumer, 10);
  CHECK(number_of(held.front().payload) == 41);
  crash_after_barrier(daemon, publisher);  // the 40 ACKs are on disk
  INFO(daemon.log_tail());
  Conn again(daemon.port(), "again");
  again.hello();
  again.subscribe_manual(channel, 100);
  const auto back = receive(again, total - 40);
  for (std::size_t i = 0; i < back.size(); ++i) {
    CAPTURE(back[i].payload);
    CHECK(number_of(back[i].payload) == 41 + i);
    // 41 to 50 were handed out; the rest may have been, for all a crashed journal can tell.
    CHECK(back[i].redelivered);
  }
  again.expect_nothing();  // nothing acked came back
}

TEST_CASE(
    "durable: after a clean restart nothing acked returns, unacked ones return flagged, and "
    "/stats and paperboy queues say the queue is durable") {
  TempDir data;
  RestartableDaemon daemon(
      {"--data-dir", data.path().string(), "--durable", "/queue/kept/>", "--http", "127.0.0.1:0"});
  INFO(daemon.log_tail());
  const std::string kept = "/queue/kept/work";
  const std::string memory = "/queue/memory";
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  for (std::size_t i = 1; i <= 20; ++i) publisher.publish(kept, numbered("k", i));
  for (std::size_t i = 1; i <= 5; ++i) publisher.publish(memory, numbered("m", i));
  Conn consumer(daemon.port(), "consumer");
  consumer.hello();
  consumer.subscribe_manual(kept, 8);
  const auto first = receive(consumer, 8);
  for (std::size_t i = 0; i < 5; ++i) consumer.ack(first[i].delivery);
  // Their credit comes back: 9 to 13 are handed out too, and held.
  const auto more = receive(consumer, 5);
  CHECK(number_of(more.back().payload) == 13);
  consumer.ping_pong();
  daemon.terminate();

  daemon.start();
  INFO(daemon.log_tail());
  Conn again(daemon.port(), "again");
  again.hello();
  again.subscribe_manual(kept, 100);
  const auto back = receive(again, 15);
  for (std::size_t i = 0; i < back.size(); ++i) {
    CAPTURE(back[i].payload);
    CHECK(number_of(back[i].payload) == 6 + i);
    CHECK(back[i].redelivered == (6 + i <= 13));  // a clean close: the flags are exact
  }
  again.expect_nothing();
#ifdef PAPERBOY_CLI_PATH
  static const std::regex http_line(R"(http\.listening[^\n]*\bport=(\d+))");
  const auto http = "127.0.0.1:" + std::to_string(logged_port(daemon.current(), http_line));
  const Run queues = run_to_end({PAPERBOY_CLI_PATH, "queues", "--http", http});
  INFO(queues.out);
  const auto row = queues.out.find(kept);
  REQUIRE(row != std::string::npos);
  const std::string line = queues.out.substr(row, queues.out.find('\n', row) - row);
  CHECK(line.ends_with("yes"));
#endif
  // The non-durable queue's messages were in memory only.
  Conn other(daemon.port(), "other");
  other.hello();
  other.subscribe(memory);
  other.expect_nothing();
}

TEST_CASE(
    "durable: a torn last record is cut off and the daemon starts with everything before it") {
  TempDir data;
  RestartableDaemon daemon({"--data-dir", data.path().string()});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/torn";
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  for (std::size_t i = 1; i <= 10; ++i) publisher.publish(channel, numbered("t", i));
  daemon.kill();
  // Half a record: a length that promises more than follows.
  const fs::path segment = last_segment(data.path());
  write_file(segment, read_file(segment) + std::string("\x40\x00\x00\x00\x12\x34", 6));

  daemon.start();
  INFO(daemon.log_tail());
  CHECK(daemon.current().log_count("storage.torn_tail file=") == 1);
  CHECK(daemon.current().log_count("torn_tail_bytes=6") >= 1);
  Conn consumer(daemon.port(), "consumer");
  consumer.hello();
  consumer.subscribe(channel);
  const auto back = receive(consumer, 10);
  for (std::size_t i = 0; i < back.size(); ++i) CHECK(number_of(back[i].payload) == i + 1);
  consumer.expect_nothing();
}

TEST_CASE(
    "durable: a corrupt record before the end stops the start naming its file and offset, and "
    "--recover skip-corrupt starts and says what it skipped") {
  TempDir data;
  const std::string dir = data.path().string();
  const std::string channel = "/queue/corrupt";
  {
    Daemon daemon({"--data-dir", dir});
    INFO(daemon.log_tail());
    Conn publisher(daemon.port(), "publisher");
    publisher.hello();
    for (std::size_t i = 1; i <= 10; ++i) publisher.publish(channel, numbered("c", i));
    expect_clean_exit(daemon);
  }
  const fs::path segment = last_segment(data.path());
  std::string bytes = read_file(segment);
  const auto at = bytes.find(numbered("c", 5));
  REQUIRE(at != std::string::npos);
  bytes[at + 2] ^= 0x55;  // inside message 5's payload: its record's checksum fails
  write_file(segment, bytes);

  const Run refused = run_paperboyd({"--port", "0", "--data-dir", dir});
  CHECK(refused.status.exited());
  CHECK(refused.status.code() == 2);
  INFO(refused.err);
  CHECK(refused.err.find(segment.filename().string()) != std::string::npos);
  CHECK(refused.err.find("offset") != std::string::npos);
  CHECK(refused.err.find("--recover skip-corrupt") != std::string::npos);

  Daemon daemon({"--data-dir", dir, "--recover", "skip-corrupt"});
  INFO(daemon.log_tail());
  CHECK(daemon.log_count("storage.skipped_corrupt records=1") == 1);
  Conn consumer(daemon.port(), "consumer");
  consumer.hello();
  consumer.subscribe(channel);
  const auto back = receive(consumer, 9);
  std::vector<std::size_t> numbers;
  for (const Got& got : back) numbers.push_back(number_of(got.payload));
  CHECK(numbers == std::vector<std::size_t>{1, 2, 3, 4, 6, 7, 8, 9, 10});
  consumer.expect_nothing();
}

TEST_CASE(
    "durable: a full disk refuses durable PUBs with ERR 12, the connection keeps serving, and "
    "durable PUBs are confirmed again once there is room") {
  TempDir data;
  ChildOptions options;
  options.file_size_limit = 256 * 1024;  // the journal's head segment hits it: EFBIG
  Daemon daemon({"--data-dir", data.path().string(), "--durable", "/queue/durable/>", "--http",
                 "127.0.0.1:0"},
                0, options);
  const std::uint16_t http = http_port(daemon);
  INFO(daemon.log_tail());
  const std::string durable = "/queue/durable/bills";
  const std::string plain = "/queue/plain";
  const std::string payload(4096, 'x');
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  // Confirmed ones until the disk refuses.
  std::size_t confirmed = 0;
  bool refused = false;
  for (std::size_t i = 1; i <= 200 && !refused; ++i) {
    const std::uint32_t req = publisher.next_req();
    publisher.pub(durable, numbered("d", i) + payload, req);
    const auto answer = publisher.expect_message(long_timeout);
    if (std::holds_alternative<p::Ok>(*answer)) {
      ++confirmed;
    } else {
      REQUIRE(std::holds_alternative<p::Err>(*answer));
      CHECK(std::get<p::Err>(*answer).code ==
            static_cast<std::uint16_t>(p::Errc::storage_unavailable));
      refused = true;
    }
  }
  REQUIRE(refused);
  CHECK(confirmed > 0);
  // Still serving: a refused durable PUB, and a non-durable queue works.
  const std::uint32_t again = publisher.next_req();
  publisher.pub(durable, "refused", again);
  publisher.expect_err(again, static_cast<std::uint16_t>(p::Errc::storage_unavailable));
  publisher.publish(plain, "in memory");
  publisher.ping_pong();
  const std::string refusing = http_get(http, "/metrics");
  CHECK(metric(refusing, "paperboy_storage_accepting") == 0);
  CHECK(metric(refusing, "paperboy_storage_write_failures_total") >= 1);
  const std::string stats = http_get(http, "/stats");
  CHECK(stats.find("\"name\":\"" + durable + "\"") != std::string::npos);
  CHECK(stats.find("\"durable\":true") != std::string::npos);
  CHECK(stats.find("\"durable\":false") != std::string::npos);  // the plain queue

  // Room again: raise the limit of the running daemon; its writer retries by itself.
  rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  rlimit old{};
  REQUIRE(::prlimit(daemon.pid(), RLIMIT_FSIZE, nullptr, &old) == 0);
  unlimited.rlim_max = old.rlim_max;
  unlimited.rlim_cur = old.rlim_max;
  REQUIRE(::prlimit(daemon.pid(), RLIMIT_FSIZE, &unlimited, nullptr) == 0);
  const Deadline deadline(long_timeout);
  bool accepted = false;
  while (!accepted && !deadline.expired()) {
    const std::uint32_t req = publisher.next_req();
    publisher.pub(durable, "after", req);
    const auto answer = publisher.expect_message(long_timeout);
    accepted = std::holds_alternative<p::Ok>(*answer);
    // Pacing only: the writer retries about once a second.
    if (!accepted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(accepted);
  CHECK(daemon.log_count("storage.writable_again") >= 1);
  CHECK(metric(http_get(http, "/metrics"), "paperboy_storage_accepting") == 1);

  // Every confirmed message is there, in order.
  Conn consumer(daemon.port(), "consumer");
  consumer.hello();
  consumer.subscribe(durable);
  const auto back = receive(consumer, confirmed);
  for (std::size_t i = 0; i < back.size(); ++i)
    CHECK(number_of(back[i].payload.substr(0, 8)) == i + 1);
}

TEST_CASE("durable: dead letters and TTLs survive a restart") {
  TempDir data;
  RestartableDaemon daemon({"--data-dir", data.path().string(), "--max-redeliveries", "0"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/failing";
  Conn publisher(daemon.port(), "publisher");
  hello_v2(publisher);
  publish_v2(publisher, channel, "poison");
  publish_v2(publisher, "/queue/timed", "long-lived", {}, 600'000);
  publish_v2(publisher, "/queue/timed", "short-lived", {}, 1);
  Conn consumer(daemon.port(), "consumer");
  hello_v2(consumer);
  consumer.subscribe_manual(channel, 1);
  const auto poison = consumer.expect<p::Msg>(long_timeout);
  consumer.nack(poison->delivery);  // over --max-redeliveries 0: to /queue/failing.dead
  consumer.ping_pong();
  crash_after_barrier(daemon, publisher);
  INFO(daemon.log_tail());
  Conn again(daemon.port(), "again");
  hello_v2(again);
  again.subscribe(channel + ".dead");
  const auto letter = again.expect<p::Msg>(long_timeout);
  CHECK(letter->payload == "poison");
  const auto headers = header_entries(letter->headers);
  CHECK(std::find(headers.begin(), headers.end(), HeaderEntry{"x-original-channel", channel}) !=
        headers.end());
  again.subscribe(channel);
  again.subscribe("/queue/timed");
  CHECK(again.expect<p::Msg>(long_timeout)->payload == "long-lived");
  again.expect_nothing();  // the original was settled when dead-lettered; the short TTL ran out
}

TEST_CASE("durable: NACKs before a restart count toward --max-redeliveries after it") {
  TempDir data;
  RestartableDaemon daemon({"--data-dir", data.path().string(), "--max-redeliveries", "2"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/flaky";
  Conn publisher(daemon.port(), "publisher");
  hello_v2(publisher);
  publish_v2(publisher, channel, "poison");
  Conn consumer(daemon.port(), "consumer");
  hello_v2(consumer);
  consumer.subscribe_manual(channel, 1);
  for (int failure = 1; failure <= 2; ++failure) {  // two failures: at the limit, not over it
    const auto msg = consumer.expect<p::Msg>(long_timeout);
    CHECK(msg->payload == "poison");
    consumer.nack(msg->delivery);
  }
  const auto third = consumer.expect<p::Msg>(long_timeout);  // handed out a third time, held
  CHECK(third->payload == "poison");
  consumer.ping_pong();
  daemon.terminate();

  daemon.start();
  INFO(daemon.log_tail());
  Conn again(daemon.port(), "again");
  hello_v2(again);
  again.subscribe(channel + ".dead");
  again.subscribe_manual(channel, 1);
  // The held delivery was the third failure; this NACK is the fourth, over the limit of 2.
  const auto after = again.expect<p::Msg>(long_timeout);
  CHECK(after->payload == "poison");
  CHECK((after->flags & p::msg_flag_redelivered) != 0);
  again.nack(after->delivery);
  const auto letter = again.expect<p::Msg>(long_timeout);
  CHECK(letter->channel == channel + ".dead");
  CHECK(letter->payload == "poison");
  again.expect_nothing();  // not handed out again
}

TEST_CASE(
    "durable: --check-config refuses a --durable pattern outside /queue or with a > not last") {
  TempDir data;
  const Run topic = run_paperboyd(
      {"--check-config", "--data-dir", data.path().string(), "--durable", "/topic/x"});
  CHECK(topic.status.code() == 2);
  CHECK(topic.err.find("--durable") != std::string::npos);
  const Run inner = run_paperboyd({"--check-config", "--durable", "/queue/>/x"});
  CHECK(inner.status.code() == 2);
  CHECK(inner.err.find("/queue/>/x") != std::string::npos);
  const Run good =
      run_paperboyd({"--check-config", "--data-dir", data.path().string(), "--durable",
                     "/queue/billing/>", "--durable", "/queue/jobs", "--recover", "skip-corrupt"});
  CHECK(good.status.code() == 0);
}

TEST_CASE("durable: a PB0 publisher's messages to a durable queue are kept too (it gets no OK)") {
  TempDir data;
  RestartableDaemon daemon({"--data-dir", data.path().string(), "--http", "127.0.0.1:0"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/pb0";
  Pb0Conn pb0(daemon.port(), "/topic/pb0-idle");
  for (std::size_t i = 1; i <= 5; ++i) pb0.publish(channel, numbered("p", i));
  // Taken once the queue holds them; a later confirmed PUB then puts their records on disk.
  const std::uint16_t http = http_port(daemon.current());
  const std::string depth = "\"name\":\"" + channel + "\"";
  REQUIRE(wait_until(
      [&] {
        const std::string stats = http_get(http, "/stats");
        const auto at = stats.find(depth);
        return at != std::string::npos &&
               stats.find("\"backlog_messages\":5", at) < stats.find('}', at);
      },
      long_timeout));
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  crash_after_barrier(daemon, publisher);
  INFO(daemon.log_tail());
  Conn consumer(daemon.port(), "consumer");
  consumer.hello();
  consumer.subscribe(channel);
  const auto back = receive(consumer, 5);
  for (std::size_t i = 0; i < back.size(); ++i) CHECK(number_of(back[i].payload) == i + 1);
}
