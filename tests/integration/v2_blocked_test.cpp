// BLOCKED / UNBLOCKED: a version 2 connection whose PUB is parked on a full queue is told so,
// naming the queue, and told again when the PUB is taken; a version 1 connection in the same
// place sees exactly today's frames.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/messages.hpp"
#include "version2.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

constexpr std::size_t backlog = 2;

// The parked PUB's OK and the UNBLOCKED may come in either order; both must come, and nothing
// else before the PONG.
void expect_released(Conn& publisher, const std::string& channel, std::uint32_t req) {
  bool ok = false;
  bool unblocked = false;
  for (int i = 0; i < 2; ++i) {
    const auto m = publisher.expect_message();
    if (const auto* o = std::get_if<p::Ok>(&*m); o != nullptr && o->req == req && !ok) {
      ok = true;
    } else if (const auto* u = std::get_if<p::Unblocked>(&*m);
               u != nullptr && u->channel == channel && !unblocked) {
      unblocked = true;
    } else {
      FAIL(publisher.name() << ": expected OK(req=" << req << ") and UNBLOCKED, got "
                            << describe(*m));
    }
  }
  publisher.ping_pong();
}

// Fills the queue's backlog with jobs [first, first + backlog), confirmed, then sends one more
// PUB that must be parked and announced; returns its req.
std::uint32_t fill_and_park(Conn& publisher, const std::string& channel, std::size_t first) {
  for (std::size_t i = first; i < first + backlog; ++i) publish_v2(publisher, channel, job(i));
  const auto req = publisher.next_req();
  publisher.send(p::Pub{req, channel, {}, job(first + backlog)});
  publisher.expect_blocked(channel);
  publisher.ping_pong();  // BLOCKED once, and no OK for the parked PUB
  return req;
}

// Receives `n` jobs on `channel` (the parked PUBs of two publishers may be released in either
// order) and returns their numbers.
std::set<std::size_t> receive_jobs(Conn& consumer, const std::string& channel, std::size_t n) {
  std::set<std::size_t> got;
  for (std::size_t i = 0; i < n; ++i) {
    const auto msg = consumer.expect<p::Msg>();
    CHECK_MESSAGE(msg->channel == channel, describe(*msg));
    got.insert(job_index(consumer, *msg));
  }
  return got;
}

}  // namespace

TEST_CASE("v2 blocked: a parked version 2 publisher gets BLOCKED then UNBLOCKED, version 1 none") {
  Daemon daemon({"--channel-backlog", std::to_string(backlog)});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/full";
  Conn publisher(daemon.port(), "v2-publisher");
  Conn old(daemon.port(), "v1-publisher");
  Conn consumer(daemon.port(), "consumer");
  hello_v2(publisher);
  old.hello();
  consumer.hello();

  const auto parked = fill_and_park(publisher, channel, 0);
  const auto old_req = old.next_req();
  old.pub(channel, job(10), old_req);
  old.ping_pong();  // parked too, and told nothing

  consumer.subscribe(channel);
  CHECK(receive_jobs(consumer, channel, backlog + 2) == std::set<std::size_t>{0, 1, 2, 10});
  expect_released(publisher, channel, parked);
  old.expect_ok(old_req);
  old.ping_pong();

  // It happens again each time the queue fills up.
  consumer.unsubscribe(channel);
  const auto parked_again = fill_and_park(publisher, channel, 3);
  consumer.subscribe(channel);
  CHECK(receive_jobs(consumer, channel, backlog + 1) == std::set<std::size_t>{3, 4, 5});
  expect_released(publisher, channel, parked_again);
  consumer.ping_pong();
  expect_clean_exit(daemon);
}
