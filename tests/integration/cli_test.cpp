// The `paperboy` command line itself, run as processes against the real daemon: what it prints,
// and its exit status (0 done, 1 failed, 2 usage).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "checks.hpp"
#include "command.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/client/client.hpp"

#ifndef PAPERBOY_CLI_PATH
#error "PAPERBOY_CLI_PATH must name the paperboy binary under test"
#endif

using namespace paperboy::itest;
namespace pc = paperboy::client;

namespace {

// One `paperboy` run.
Command cli(std::vector<std::string> args) {
  args.insert(args.begin(), PAPERBOY_CLI_PATH);
  return Command(args);
}

std::vector<std::string> at(const Daemon& daemon, std::vector<std::string> args) {
  args.insert(args.begin() + 1, {"--port", std::to_string(daemon.port())});
  return args;
}

std::uint64_t unix_now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// An RFC 3339 UTC timestamp with nine decimals, as listen prints it, in Unix nanoseconds.
std::optional<std::uint64_t> unix_ns_of(const std::string& text) {
  std::tm utc{};
  unsigned long long nanoseconds = 0;
  int length = 0;
  if (text.size() != 30 ||
      std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%9lluZ%n", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &nanoseconds,
                  &length) != 7 ||
      length != 30) {
    return std::nullopt;
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return static_cast<std::uint64_t>(timegm(&utc)) * 1'000'000'000ULL + nanoseconds;
}

pc::Client connect_client(const Daemon& daemon) {
  pc::Client client;
  client.connect("127.0.0.1", daemon.port());
  return client;
}

// Repeats `attempt` (a publish that requires a subscriber, a request) while the broker refuses it
// for want of a subscriber on `channel`: a refused attempt reached nobody, so the one that
// succeeds is the only one delivered.
template <class Attempt>
void once_subscribed(const std::string& channel, Attempt&& attempt) {
  const bool done = wait_until([&] {
    try {
      attempt();
      return true;
    } catch (const pc::Error& e) {
      if (!e.no_responders()) throw;
      return false;
    }
  });
  REQUIRE_MESSAGE(done, "nobody subscribed to " << channel);
}

}  // namespace

TEST_CASE("cli: send --count puts numbered messages on a queue and listen --count prints them") {
  Daemon daemon;
  INFO(daemon.log_tail());
  // A queue keeps what is sent before the listener subscribes, so the order of the two does
  // not matter.
  Command send =
      cli(at(daemon, {"send", "--channel", "/queue/cli", "--count", "3", "--size", "8"}));
  CHECK(send.exit_code() == 0);
  CHECK(send.out().empty());
  Command listen = cli(at(daemon, {"listen", "--channel", "/queue/cli", "--count", "3"}));
  CHECK(listen.exit_code() == 0);
  CHECK(listen.out() == "00000001\n00000002\n00000003\n");
  CHECK(listen.err().empty());
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE(
    "cli: send --header and listen --format json show channel, reply-to, payload, the "
    "timestamp and the headers in order") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const auto before = unix_now_ns();
  Command send =
      cli(at(daemon, {"send", "--channel", "/queue/json", "--data", "hi \"there\"", "--header",
                      "trace=abc", "-H", "trace=x=y", "--header", "empty=", "--ttl", "1m"}));
  CHECK(send.exit_code() == 0);
  const auto after = unix_now_ns();
  Command listen =
      cli(at(daemon, {"listen", "--channel", "/queue/json", "--count", "1", "--format", "json"}));
  CHECK(listen.exit_code() == 0);
  const std::string out = listen.out();
  const std::string head =
      "{\"channel\":\"/queue/json\",\"reply_to\":\"\",\"payload\":\"hi \\\"there\\\"\","
      "\"published_at\":\"";
  const std::string tail =
      "\",\"headers\":[{\"key\":\"trace\",\"value\":\"abc\"},{\"key\":\"trace\",\"value\":\"x=y\"},"
      "{\"key\":\"empty\",\"value\":\"\"}]}\n";
  REQUIRE_MESSAGE(out.size() > head.size() + tail.size(), out);
  CHECK(out.starts_with(head));
  CHECK(out.ends_with(tail));
  const auto stamp = unix_ns_of(out.substr(head.size(), out.size() - head.size() - tail.size()));
  REQUIRE_MESSAGE(stamp.has_value(), out);
  CHECK(*stamp >= before);
  CHECK(*stamp <= after);
  expect_clean_exit(daemon);
}

TEST_CASE("cli: listen takes several --channel and wildcards, and --show-channel names each") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Command listen = cli(at(daemon, {"listen", "--channel", "/topic/news/*", "-c", "/topic/news/>",
                                   "-c", "/topic/weather", "--show-channel", "--count", "4"}));
  auto publisher = connect_client(daemon);
  // listen subscribes in order, so once /topic/weather has a subscriber all three are in place;
  // a publish that requires a subscriber is delivered only once there is one.
  pc::PublishOptions required;
  required.require_subscriber = true;
  once_subscribed("/topic/weather",
                  [&] { publisher.publish_confirmed("/topic/weather", "ready", required); });
  for (const char* channel :
       {"/topic/news/sports", "/topic/news", "/topic/news/a/b", "/topic/other", "/topic/weather"}) {
    publisher.publish(channel, "hello");
  }
  publisher.close();
  CHECK(listen.exit_code() == 0);
  CHECK(listen.out() ==
        "/topic/weather ready\n/topic/news/sports hello\n/topic/news/a/b hello\n"
        "/topic/weather hello\n");
  CHECK(listen.err().empty());
  expect_clean_exit(daemon);
}

TEST_CASE("cli: request gets the answer of reply, and both exit 0") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Command reply = cli(
      at(daemon, {"reply", "--channel", "/queue/upper", "--count", "2", "--exec", "tr a-z A-Z"}));
  // A request fails at once while nobody consumes its queue: ask until the responder is there.
  auto requester = connect_client(daemon);
  std::string first_answer;
  once_subscribed("/queue/upper",
                  [&] { first_answer = requester.request("/queue/upper", "ready?").payload; });
  requester.close();
  CHECK(first_answer == "READY?");
  Command request = cli(
      at(daemon, {"request", "--channel", "/queue/upper", "--data", "hello", "--timeout", "15s"}));
  CHECK(request.exit_code() == 0);
  CHECK(request.out() == "HELLO\n");
  CHECK(reply.exit_code() == 0);
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("cli: a request its consumer does not answer exits 1 saying it timed out") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn silent(daemon.port(), "silent-consumer");
  silent.hello();
  silent.subscribe("/queue/silent");
  Command request =
      cli(at(daemon, {"request", "--channel", "/queue/silent", "--data", "x", "--timeout", "0.3"}));
  CHECK(request.exit_code() == 1);
  CHECK(request.out().empty());
  CHECK(request.err() ==
        "paperboy: timed out waiting for a reply to the request on /queue/silent\n");
  silent.expect_msg("/queue/silent", "x");
  expect_clean_exit(daemon);
}

TEST_CASE("cli: a request to a queue nobody consumes says no responders and exits 1 at once") {
  Daemon daemon;
  INFO(daemon.log_tail());
  // Its --timeout is far beyond the command's deadline: finishing at all proves it did not wait.
  Command request = cli(
      at(daemon, {"request", "--channel", "/queue/x", "--data", "anyone?", "--timeout", "10m"}));
  CHECK(request.exit_code(command_timeout) == 1);
  CHECK(request.out().empty());
  CHECK(request.err() == "paperboy: no responders on /queue/x\n");
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("cli: send says on stderr when a full queue blocks it and when it is unblocked") {
  Daemon daemon({"--channel-backlog", "1"});
  INFO(daemon.log_tail());
  Command send = cli(at(daemon, {"send", "--channel", "/queue/b", "--count", "3", "--size", "1",
                                 "--timeout", "15s"}));
  // The backlog holds one message, so the second is parked until a consumer comes.
  REQUIRE_MESSAGE(wait_until([&] { return send.err().starts_with("blocked channel=/queue/b\n"); }),
                  "send did not report being blocked; stderr: " << send.err());
  Command listen = cli(at(daemon, {"listen", "--channel", "/queue/b", "--count", "3"}));
  CHECK(listen.exit_code() == 0);
  CHECK(listen.out() == "1\n2\n3\n");
  CHECK(send.exit_code() == 0);
  // Blocked and unblocked alternate (the third message may be parked again), and end unblocked.
  const std::string err = send.err();
  std::istringstream lines(err);
  std::string line;
  std::size_t n = 0;
  while (std::getline(lines, line)) {
    CHECK_MESSAGE(line == (n % 2 == 0 ? "blocked channel=/queue/b" : "unblocked channel=/queue/b"),
                  err);
    ++n;
  }
  CHECK_MESSAGE((n >= 2 && n % 2 == 0), err);
  expect_clean_exit(daemon);
}

TEST_CASE("cli: against a version-1 broker listen and send work as before, send --header exits 1") {
  Daemon daemon({"--max-protocol-version", "1"});
  INFO(daemon.log_tail());
  Command with_header =
      cli(at(daemon, {"send", "--channel", "/queue/v1", "--data", "x", "--header", "k=v"}));
  CHECK(with_header.exit_code() == 1);
  CHECK(with_header.err() ==
        "paperboy: not published to /queue/v1: the broker speaks PB1 version 1, which has no "
        "headers, TTL or require-a-subscriber\n");
  Command send = cli(at(daemon, {"send", "--channel", "/queue/v1", "--data", "plain"}));
  CHECK(send.exit_code() == 0);
  Command listen =
      cli(at(daemon, {"listen", "--channel", "/queue/v1", "--count", "1", "--format", "json"}));
  CHECK(listen.exit_code() == 0);
  CHECK(listen.out() == "{\"channel\":\"/queue/v1\",\"reply_to\":\"\",\"payload\":\"plain\"}\n");
  expect_clean_exit(daemon);
}

TEST_CASE("cli: a malformed --header or --ttl is a usage error") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"send", "--channel", "/queue/x", "--header", "novalue"},
        std::vector<std::string>{"send", "--channel", "/queue/x", "--header", "a b=c"},
        std::vector<std::string>{"send", "--channel", "/queue/x", "--ttl", "5 days"},
        std::vector<std::string>{"send", "--channel", "/queue/x", "--ttl", "-1s"},
        std::vector<std::string>{"listen", "--channel", "/queue/x", "--timeout", "0"}}) {
    Command command = cli(args);
    CHECK(command.exit_code() == 2);
    CHECK_MESSAGE(!command.err().empty(), args[3]);
  }
}

TEST_CASE("cli: the broker's refusal exits 1 with the ERR, a usage error exits 2") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Command bad_channel = cli(at(daemon, {"send", "--channel", "bogus", "--data", "x"}));
  CHECK(bad_channel.exit_code() == 1);
  CHECK(bad_channel.err() == "paperboy: ERR 3 bad_channel: bad channel name\n");

  Command no_channel = cli(at(daemon, {"listen"}));
  CHECK(no_channel.exit_code() == 2);
  CHECK(no_channel.err().find("--channel is required") != std::string::npos);

  check_serves(daemon.port());
  expect_clean_exit(daemon);
}
