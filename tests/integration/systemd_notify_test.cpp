// systemd's notification protocol, seen from a fake NOTIFY_SOCKET: READY=1 once the port takes
// connections, a STATUS= line, WATCHDOG=1 from the event loop at the configured rate, STOPPING=1
// on SIGTERM; and nothing of it without NOTIFY_SOCKET.
#include <doctest/doctest.h>

#include <csignal>
#include <regex>
#include <string>

#include "conn.hpp"
#include "daemon.hpp"
#include "notify_socket.hpp"

using namespace paperboy::itest;

TEST_CASE("systemd: READY=1 once the port serves, STATUS, WATCHDOG at its rate, STOPPING") {
  NotifySocket manager;
  Daemon daemon({}, 0, {{manager.environment_entry(), "WATCHDOG_USEC=200000", "WATCHDOG_PID"}});
  INFO(daemon.log_tail());

  // READY=1 comes first, with a STATUS= line, and by then a client is served.
  const auto ready = manager.receive();
  REQUIRE_MESSAGE(ready, "no datagram within the deadline");
  CHECK_MESSAGE(ready->find("READY=1") != std::string::npos, "first datagram: " << *ready);
  CHECK_MESSAGE(ready->find("STATUS=0 connections") != std::string::npos, "READY: " << *ready);
  Conn client(daemon.port(), "client");
  client.hello();

  // WATCHDOG_USEC=200000 asks for a ping every 100 ms: at least three in 2 s even under load.
  int pings = 0;
  const Deadline two_seconds(std::chrono::seconds(2));
  while (pings < 3 && manager.receive_containing("WATCHDOG=1", two_seconds.remaining())) ++pings;
  CHECK_MESSAGE(pings >= 3, "WATCHDOG=1 pings within 2 s: " << pings);
  CHECK(daemon.log_count("server.watchdog interval_ms=100") == 1);

  // The STATUS= line is refreshed (every 5 s), counts the connected client and the rate of its
  // PUBs: the first refresh after them shows a non-zero rate.
  for (std::uint32_t req = 1; req <= 50; ++req) client.pub("/topic/status", "counted", req);
  for (std::uint32_t req = 1; req <= 50; ++req) client.expect_ok(req);
  const std::regex status_line(
      "STATUS=1 connections, ([0-9.]+k?) msg/s in, 0 slow consumers, 0 "
      "blocked publishers");
  std::string status;
  const Deadline twenty_seconds(std::chrono::seconds(20));
  while (!twenty_seconds.expired()) {
    const auto next =
        manager.receive_containing("STATUS=1 connections", twenty_seconds.remaining());
    if (!next) break;
    std::smatch rate;
    if (std::regex_search(*next, rate, status_line) && rate[1] != "0") {
      status = *next;
      break;
    }
  }
  CHECK_MESSAGE(!status.empty(), "no refreshed STATUS= with the client and its PUB rate");

  daemon.signal(SIGTERM);
  CHECK_MESSAGE(manager.receive_containing("STOPPING=1"), "no STOPPING=1 after SIGTERM");
  const auto exit = daemon.wait_exit();
  REQUIRE(exit);
  CHECK_MESSAGE(exit->clean(), exit->describe());
}

TEST_CASE("systemd: a WATCHDOG_PID naming another process means no pings") {
  NotifySocket manager;
  Daemon daemon({}, 0, {{manager.environment_entry(), "WATCHDOG_USEC=200000", "WATCHDOG_PID=1"}});
  INFO(daemon.log_tail());
  REQUIRE(manager.receive_containing("READY=1"));
  // Ten intervals' worth of silence.
  CHECK_FALSE(manager.receive_containing("WATCHDOG=1", std::chrono::seconds(1)));
  CHECK(daemon.log_count("server.watchdog") == 0);
}

TEST_CASE("systemd: without NOTIFY_SOCKET the daemon serves as before and pings nobody") {
  Daemon daemon({}, 0, {{"NOTIFY_SOCKET", "WATCHDOG_USEC=200000"}});
  INFO(daemon.log_tail());
  Conn client(daemon.port(), "client");
  client.hello();
  client.ping_pong();
  CHECK(daemon.log_count("server.watchdog") == 0);
  const auto exit = daemon.terminate();
  REQUIRE(exit);
  CHECK_MESSAGE(exit->clean(), exit->describe());
}
