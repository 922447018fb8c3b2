// --max-connections: clients over the limit are told ERR 7 and closed; the others are unaffected.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/messages.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

// Connects and says HELLO until the daemon welcomes the client (a slot may take a moment to be
// released after a client leaves); ERR 7 and a close are the only other acceptable answer.
Conn connect_when_admitted(std::uint16_t port) {
  const Deadline deadline(default_timeout);
  for (;;) {
    Conn c(port, "newcomer");
    c.send_hello();
    const auto m = c.expect_message();
    if (std::holds_alternative<p::Welcome>(*m)) return c;
    const auto* err = std::get_if<p::Err>(&*m);
    REQUIRE_MESSAGE((err != nullptr && err->req == 0 && err->code == 7),
                    "expected WELCOME or ERR 7, got " << describe(*m));
    c.expect_closed();
    REQUIRE_MESSAGE(!deadline.expired(),
                    "no slot became free within " << default_timeout.count() << " ms");
  }
}

}  // namespace

TEST_CASE("limits: over --max-connections a PB1 client gets ERR 7 and close after its HELLO") {
  Daemon daemon({"--max-connections", "2"});
  INFO(daemon.log_tail());
  Conn first(daemon.port(), "first");
  Conn second(daemon.port(), "second");
  first.hello();
  second.hello();

  Conn third(daemon.port(), "third");
  third.send_hello();
  third.expect_err_and_close(0, 7);

  // The two admitted clients are unaffected.
  first.subscribe("/topic/limits");
  second.publish("/topic/limits", "still here");
  first.expect_msg("/topic/limits", "still here");
  expect_clean_exit(daemon);
}

TEST_CASE(
    "limits: rejected clients use up no slot and a slot freed by a leaving client is reused") {
  Daemon daemon({"--max-connections", "2"});
  INFO(daemon.log_tail());
  Conn first(daemon.port(), "first");
  first.hello();
  std::optional<Conn> second(std::in_place, daemon.port(), "second");
  second->hello();
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    Conn rejected(daemon.port(), "rejected");
    rejected.send_hello();
    rejected.expect_err_and_close(0, 7);
  }
  second.reset();  // leaves
  Conn newcomer = connect_when_admitted(daemon.port());
  newcomer.subscribe("/topic/limits");
  first.publish("/topic/limits", "welcome");
  newcomer.expect_msg("/topic/limits", "welcome");

  Conn over(daemon.port(), "over-again");
  over.send_hello();
  over.expect_err_and_close(0, 7);
  expect_clean_exit(daemon);
}

namespace {

// What a connection that says HELLO gets: WELCOME (true) or ERR 7 and the close (false, with the
// ERR's text in `refusal`).
bool welcomed(Conn& c, std::string& refusal) {
  const auto m = c.expect_message();
  if (std::holds_alternative<p::Welcome>(*m)) return true;
  const auto* err = std::get_if<p::Err>(&*m);
  REQUIRE_MESSAGE((err != nullptr && err->req == 0 && err->code == 7),
                  "expected WELCOME or ERR 7, got " << describe(*m));
  refusal.assign(err->text);
  c.expect_closed();
  return false;
}

// With the daemon's connect rate at 1 a second (bursts of 2), opens 20 connections at once and
// says HELLO on each: however slow the machine, some are welcomed and some get ERR 7 whose text
// contains `expected` (with its retry hint); then the admitted ones are served, the refusal was
// logged, and a token comes back for a newcomer.
void check_burst_refused(const std::string& rate_flag, const std::string& expected) {
  Daemon daemon({rate_flag, "1"});
  INFO(daemon.log_tail());
  std::vector<Conn> conns;
  for (int i = 0; i < 20; ++i) conns.emplace_back(daemon.port(), "burst" + std::to_string(i));
  for (Conn& c : conns) c.send_hello();
  std::string refusal;
  std::vector<Conn*> admitted;
  for (Conn& c : conns) {
    if (welcomed(c, refusal)) admitted.push_back(&c);
  }
  CHECK(!admitted.empty());
  REQUIRE(admitted.size() < conns.size());
  CHECK_MESSAGE(refusal.find(expected) != std::string::npos, refusal);
  CHECK_MESSAGE(refusal.find("retry in") != std::string::npos, refusal);
  CHECK(daemon.log_count("server.refused ") >= 1);
  admitted.front()->subscribe("/topic/rate");
  Conn newcomer = connect_when_admitted(daemon.port());
  newcomer.publish("/topic/rate", "after the burst");
  admitted.front()->expect_msg("/topic/rate", "after the burst");
  expect_clean_exit(daemon);
}

}  // namespace

TEST_CASE("limits: a burst of connections from one address past its rate gets ERR 7 with a hint") {
  check_burst_refused("--max-connect-rate-per-address", "new connections a second from 127.0.0.1");
}

TEST_CASE("limits: --max-connect-rate holds back every address together") {
  check_burst_refused("--max-connect-rate", "new connections a second; retry in");
}

TEST_CASE("limits: --max-connections-per-address refuses one more and admits again after a close") {
  Daemon daemon({"--max-connections-per-address", "3"});
  INFO(daemon.log_tail());
  std::vector<Conn> open;
  for (int i = 0; i < 3; ++i) {
    open.emplace_back(daemon.port(), "open" + std::to_string(i));
    open.back().hello();
  }
  for (int i = 0; i < 5; ++i) {
    Conn over(daemon.port(), "over");
    over.send_hello();
    const auto err = over.expect_err(0, 7);
    CHECK_MESSAGE(err->text.find("retry once one closes") != std::string::npos, err->text);
    over.expect_closed();
  }
  CHECK(daemon.log_count("server.refused ") >= 1);
  open[0].subscribe("/topic/per-address");
  open.pop_back();  // leaves
  Conn newcomer = connect_when_admitted(daemon.port());
  newcomer.publish("/topic/per-address", "made room");
  open[0].expect_msg("/topic/per-address", "made room");
  expect_clean_exit(daemon);
}
