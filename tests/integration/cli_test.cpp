// The `paperboy` command line itself, run as processes against the real daemon: what it prints,
// and its exit status (0 done, 1 failed, 2 usage).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "checks.hpp"
#include "command.hpp"
#include "daemon.hpp"

#ifndef PAPERBOY_CLI_PATH
#error "PAPERBOY_CLI_PATH must name the paperboy binary under test"
#endif

using namespace paperboy::itest;

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

TEST_CASE("cli: listen --format json shows channel, reply-to and payload of each message") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Command send = cli(at(daemon, {"send", "--channel", "/queue/json", "--data", "hi \"there\""}));
  CHECK(send.exit_code() == 0);
  Command listen =
      cli(at(daemon, {"listen", "--channel", "/queue/json", "--count", "1", "--format", "json"}));
  CHECK(listen.exit_code() == 0);
  CHECK(listen.out() ==
        "{\"channel\":\"/queue/json\",\"reply_to\":\"\",\"payload\":\"hi \\\"there\\\"\"}\n");
  expect_clean_exit(daemon);
}

TEST_CASE("cli: request gets the answer of reply, and both exit 0") {
  Daemon daemon;
  INFO(daemon.log_tail());
  // The request waits in the queue until the responder subscribes.
  Command request = cli(
      at(daemon, {"request", "--channel", "/queue/upper", "--data", "hello", "--timeout", "15s"}));
  Command reply = cli(
      at(daemon, {"reply", "--channel", "/queue/upper", "--count", "1", "--exec", "tr a-z A-Z"}));
  CHECK(request.exit_code() == 0);
  CHECK(request.out() == "HELLO\n");
  CHECK(reply.exit_code() == 0);
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("cli: a request nobody answers exits 1 saying it timed out") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Command request =
      cli(at(daemon, {"request", "--channel", "/queue/nobody", "--data", "x", "--timeout", "0.3"}));
  CHECK(request.exit_code() == 1);
  CHECK(request.out().empty());
  CHECK(request.err() ==
        "paperboy: timed out waiting for a reply to the request on /queue/nobody\n");
  expect_clean_exit(daemon);
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
