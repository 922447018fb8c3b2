// SIGHUP reloads the --config file while clients stay connected: a lowered max-payload refuses
// the next PUB over it (ERR 2) even on a connection opened before, log-level debug shows debug
// lines, subscribers keep receiving; settings that need a restart are named and kept; a bad file
// keeps the running configuration and says why.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <string>

#include "checks.hpp"
#include "config_file.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "payloads.hpp"

using namespace paperboy::itest;

namespace {

constexpr const char* unanswered_reply = "/topic/_reply/nobody";  // logged at debug only

/// SIGHUP, then the daemon must log one more `config.reloaded` or `config.reload_failed` line;
/// that line.
std::string reload(Daemon& daemon) {
  const std::size_t before =
      daemon.log_count("config.reloaded") + daemon.log_count("config.reload_failed");
  daemon.signal(SIGHUP);
  REQUIRE_MESSAGE(wait_until([&] {
                    return daemon.log_count("config.reloaded") +
                               daemon.log_count("config.reload_failed") >
                           before;
                  }),
                  "no config.reloaded or config.reload_failed line after SIGHUP:\n"
                      << daemon.log_tail());
  const std::string log = daemon.log();
  std::size_t at = 0;
  for (const char* outcome : {"config.reloaded", "config.reload_failed"}) {
    const auto found = log.rfind(outcome);
    if (found != std::string::npos) at = std::max(at, found);
  }
  return log.substr(at, log.find('\n', at) - at);
}

}  // namespace

TEST_CASE("config reload: SIGHUP lowers max-payload and raises logging, clients stay connected") {
  ConfigFile file("max-payload = 4096\nlog-level = \"info\"\n");
  Daemon daemon({"--config", file.arg()});
  INFO(daemon.log_tail());
  const std::string channel = "/topic/reloaded";
  Conn subscriber(daemon.port(), "subscriber");
  subscriber.hello();
  subscriber.subscribe(channel);
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  publisher.publish(channel, numbered_payload(0, 3000));
  subscriber.expect_msg(channel, numbered_payload(0, 3000));
  publisher.publish(unanswered_reply, "before");
  publisher.ping_pong();
  CHECK(daemon.log_count("reply.dropped") == 0);

  file.write("max-payload = 1024\nlog-level = \"debug\"\n");
  const std::string reloaded = reload(daemon);
  CHECK_MESSAGE(reloaded.find("config.reloaded") == 0, reloaded);
  CHECK_MESSAGE(reloaded.find("changed=max-payload,log-level") != std::string::npos, reloaded);

  // The same connections: the subscriber still receives, the publisher is held to the new
  // limit (the debug line proves the new level).
  publisher.publish(channel, numbered_payload(1, 1024));
  subscriber.expect_msg(channel, numbered_payload(1, 1024));
  publisher.publish(unanswered_reply, "after");
  REQUIRE(wait_until([&] { return daemon.log_count("reply.dropped") == 1; }));
  publisher.pub(channel, numbered_payload(2, 1025), 99);
  publisher.expect_err_and_close(99, 2);
  subscriber.ping_pong();  // the refused message went nowhere
  Conn late(daemon.port(), "late-publisher");
  late.hello();
  late.publish(channel, numbered_payload(3, 10));
  subscriber.expect_msg(channel, numbered_payload(3, 10));
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("config reload: a bad file keeps the running configuration and says why") {
  ConfigFile file("max-payload = 2048\n");
  Daemon daemon({"--config", file.arg()});
  INFO(daemon.log_tail());
  const std::string channel = "/topic/kept";
  Conn subscriber(daemon.port(), "subscriber");
  subscriber.hello();
  subscriber.subscribe(channel);

  struct Bad {
    std::string what;
    std::string text;
    std::string said;
  };
  for (const Bad& bad :
       {Bad{"unknown key", "max-payload = 512\nmax-paylod = 512\n",
            ":2: unknown key \\\"max-paylod\\\""},
        Bad{"bad value", "max-payload = 512\nslow-consumer = \"maybe\"\n", "--slow-consumer"},
        Bad{"not TOML", "max-payload = 512\n{\"json\": true}\n", "unknown key"}}) {
    CAPTURE(bad.what);
    file.write(bad.text);
    const std::string failed = reload(daemon);
    CHECK_MESSAGE(failed.find("config.reload_failed") == 0, failed);
    CHECK_MESSAGE(failed.find(bad.said) != std::string::npos, failed);
    // The valid max-payload = 512 beside the error was not applied either: 2048 still passes.
    Conn publisher(daemon.port(), "publisher");
    publisher.hello();
    publisher.publish(channel, numbered_payload(0, 2048));
    subscriber.expect_msg(channel, numbered_payload(0, 2048));
  }
  file.write("max-payload = 512\n");
  CHECK(reload(daemon).find("changed=max-payload") != std::string::npos);
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  publisher.pub(channel, numbered_payload(1, 513), 5);
  publisher.expect_err_and_close(5, 2);
  expect_clean_exit(daemon);
}

TEST_CASE("config reload: what cannot change live is named and kept; flags still win") {
  ConfigFile file("max-subscriptions = 100\n");
  Daemon daemon({"--config", file.arg(), "--max-payload", "1024"});
  INFO(daemon.log_tail());
  // (Daemon gives --bind and --port on the command line, so the file cannot move those here;
  // max-memory and dead-letter-suffix take the same path.) The command line's --max-payload
  // still overrides the file's.
  file.write(
      "max-subscriptions = 50\nmax-memory = 1073741824\ndead-letter-suffix = \".dlq\"\n"
      "max-payload = 65536\n");
  const std::string reloaded = reload(daemon);
  CHECK_MESSAGE(reloaded.find("changed=max-subscriptions") != std::string::npos, reloaded);
  CHECK(daemon.log_count("config.reload_needs_restart key=max-memory") == 1);
  CHECK(daemon.log_count("config.reload_needs_restart key=dead-letter-suffix") == 1);
  CHECK(daemon.log_count("max-payload") == 0);  // neither changed nor needing a restart
  check_serves(daemon.port());
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  publisher.pub("/topic/any", numbered_payload(0, 1025), 3);
  publisher.expect_err_and_close(3, 2);
  expect_clean_exit(daemon);
}

TEST_CASE("config reload: SIGHUP applies liveness settings and connection limits live") {
  ConfigFile file("handshake-timeout = 600\n");
  Daemon daemon({"--config", file.arg()});
  INFO(daemon.log_tail());
  Conn before(daemon.port(), "silent-before");  // a long handshake allowed when it connected
  file.write("handshake-timeout = 0.3\nping-interval = 10\nmax-connections-per-address = 3\n");
  const std::string line = reload(daemon);
  CHECK_MESSAGE(line.find("handshake-timeout") != std::string::npos, line);
  CHECK_MESSAGE(line.find("ping-interval") != std::string::npos, line);
  CHECK_MESSAGE(line.find("max-connections-per-address") != std::string::npos, line);
  // The deadline is the server's: the silent connection from before the reload is held to it too.
  before.expect_closed(std::chrono::seconds(20));
  Conn after(daemon.port(), "silent-after");
  after.expect_closed(std::chrono::seconds(20));
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}
