// --max-connections: clients over the limit are told ERR 7 and closed; the others are unaffected.
#include <doctest/doctest.h>

#include <optional>
#include <string>

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
