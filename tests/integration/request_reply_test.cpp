// Request/reply over raw PB1: a requester subscribes once to /topic/_reply/<id>, publishes each
// request with reply-to /topic/_reply/<id>/<n>, and a responder answers to the reply-to it got.
// A PUB to /topic/_reply/<id>/<suffix> reaches the subscribers of /topic/_reply/<id> under its full
// name; a reply nobody waits for is dropped without harm to its publisher.
#include <doctest/doctest.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "conn_set.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/messages.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

constexpr auto long_timeout = std::chrono::seconds(30);

// The answer a responder gives to a request payload.
std::string answer(std::string_view request) {
  return "answer to " + std::string(request);
}

// n from a reply channel `<prefix>/<n>`, or nullopt.
std::optional<std::size_t> correlation(std::string_view channel, std::string_view prefix) {
  if (!channel.starts_with(prefix) || channel.size() <= prefix.size() + 1 ||
      channel[prefix.size()] != '/') {
    return std::nullopt;
  }
  const std::string_view digits = channel.substr(prefix.size() + 1);
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return n;
}

}  // namespace

TEST_CASE(
    "request/reply: a PUB to /topic/_reply/<id>/<suffix> reaches the subscribers of "
    "/topic/_reply/<id> under its full name") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string inbox = "/topic/_reply/abc";
  Conn requester(daemon.port(), "requester");
  Conn neighbour(daemon.port(), "neighbour");
  Conn responder(daemon.port(), "responder");
  for (Conn* c : {&requester, &neighbour, &responder}) c->hello();
  requester.subscribe(inbox);
  neighbour.subscribe("/topic/_reply/abcd");

  // Any suffix, in publish order; names that only share a prefix are other inboxes.
  const std::vector<std::string> mine = {inbox + "/1", inbox + "/xyz", inbox + "/7/8",
                                         inbox + "/9"};
  const std::vector<std::string> not_mine = {"/topic/_reply/abcd/1", "/topic/_reply/ab/1",
                                             "/topic/_reply/other/1", "/topic/_replyabc/1"};
  for (std::size_t i = 0; i < mine.size(); ++i) {
    responder.publish(not_mine[i], "not for abc " + std::to_string(i));
    responder.publish(mine[i], "for abc " + std::to_string(i));
  }
  for (std::size_t i = 0; i < mine.size(); ++i) {
    const auto msg = requester.expect_msg(mine[i], "for abc " + std::to_string(i));
    CHECK_MESSAGE((msg->delivery == 0 && msg->flags == 0), describe(*msg));
  }
  requester.ping_pong();
  neighbour.expect_msg("/topic/_reply/abcd/1", "not for abc 0");
  neighbour.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "request/reply: 1,000 concurrent requests across 3 responders are all answered once and "
    "matched") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string service = "/queue/billing.payables";
  const std::string inbox = "/topic/_reply/itest-7f3a9c0e5b21d844";
  constexpr std::size_t n = 1000;
  Conn requester(daemon.port(), "requester");
  std::vector<Conn> responders;
  for (int i = 0; i < 3; ++i)
    responders.emplace_back(daemon.port(), "responder" + std::to_string(i));
  requester.hello();
  requester.subscribe(inbox);
  for (auto& r : responders) {
    r.hello();
    r.subscribe_manual(service, 10);
  }

  // All requests go out at once, each confirmed and each with its own reply-to.
  std::string bytes;
  std::vector<std::string> reply_tos;
  for (std::size_t i = 0; i < n; ++i) reply_tos.push_back(inbox + "/" + std::to_string(i));
  for (std::size_t i = 0; i < n; ++i) {
    p::append_frame(bytes,
                    p::Pub{static_cast<std::uint32_t>(i + 1), service, reply_tos[i], job(i)});
  }
  requester.send_raw(bytes);

  std::vector<int> answered(n, 0);
  std::vector<std::size_t> served(responders.size(), 0);
  std::size_t replies = 0;
  std::size_t confirmed = 0;
  std::vector<Conn*> conns = {&requester};
  for (auto& r : responders) conns.push_back(&r);
  pump_until(
      conns,
      [&](std::size_t k, Decoded<p::Message> frame) {
        if (k == 0) {
          if (const auto* ok = std::get_if<p::Ok>(&*frame)) {
            REQUIRE_MESSAGE(
                ok->req == confirmed + 1,
                "requester: expected OK(req=" << confirmed + 1 << "), got " << describe(*ok));
            ++confirmed;
            return;
          }
          const auto* msg = std::get_if<p::Msg>(&*frame);
          REQUIRE_MESSAGE(msg != nullptr, "requester got " << describe(*frame));
          const auto id = correlation(msg->channel, inbox);
          REQUIRE_MESSAGE((id && *id < n),
                          "requester: reply on an unexpected channel: " << describe(*msg));
          REQUIRE_MESSAGE(
              msg->payload == answer(job(*id)),
              "reply to request " << *id << " carries the wrong answer: " << describe(*msg));
          REQUIRE_MESSAGE(++answered[*id] == 1, "request " << *id << " answered twice");
          ++replies;
          return;
        }
        Conn& r = *conns[k];
        const auto* msg = std::get_if<p::Msg>(&*frame);
        REQUIRE_MESSAGE((msg != nullptr && msg->channel == service && msg->delivery != 0 &&
                         !msg->redelivered()),
                        r.name() << " got " << describe(*frame));
        const std::size_t i = job_index(r, *msg);
        REQUIRE_MESSAGE(msg->reply_to == reply_tos.at(i),
                        r.name() << ": request " << i << " lost its reply-to: " << describe(*msg));
        r.pub(msg->reply_to, answer(msg->payload));
        r.ack(msg->delivery);
        ++served[k - 1];
      },
      [&] { return replies == n && confirmed == n; }, long_timeout,
      [&] {
        return std::to_string(replies) + " of " + std::to_string(n) + " answered, " +
               std::to_string(confirmed) + " requests confirmed; served " +
               std::to_string(served[0]) + "/" + std::to_string(served[1]) + "/" +
               std::to_string(served[2]);
      });
  for (std::size_t k = 0; k < responders.size(); ++k) {
    CHECK_MESSAGE(served[k] > 0, responders[k].name() << " answered no request");
    responders[k].ping_pong();  // all its replies and ACKs were taken without complaint
  }
  CHECK(served[0] + served[1] + served[2] == n);
  requester.ping_pong();  // no reply to spare
  expect_clean_exit(daemon);
}

TEST_CASE(
    "request/reply: a request nobody answers times out cleanly and the requester goes on "
    "working") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string inbox = "/topic/_reply/lonely";
  Conn requester(daemon.port(), "requester");
  requester.hello();
  requester.subscribe(inbox);
  requester.publish("/queue/nobody-home", "anyone?", inbox + "/1");
  requester.publish("/topic/nobody-listens", "anyone?", inbox + "/2");
  // The requester's own timeout: no reply comes within it, and nothing else does either.
  requester.expect_nothing(std::chrono::milliseconds(500));
  requester.ping_pong();

  // The same inbox serves the next request once there is a responder.
  Conn responder(daemon.port(), "responder");
  responder.hello();
  responder.subscribe_manual("/queue/echo", 1);
  requester.publish("/queue/echo", "ping?", inbox + "/3");
  const auto request = responder.expect_delivery("/queue/echo", "ping?", false);
  CHECK(request->reply_to == inbox + "/3");
  responder.publish(request->reply_to, "pong!");
  responder.ack(request->delivery);
  requester.expect_msg(inbox + "/3", "pong!");
  requester.ping_pong();
  responder.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "request/reply: a reply to an inbox nobody subscribes is dropped without harming the "
    "responder") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  Conn responder(daemon.port(), "responder");
  responder.hello();

  // An inbox that never existed: confirmed (nothing to fan out to), and nothing else happens.
  responder.publish("/topic/_reply/never/1", "late answer");
  // An inbox whose requester gave up and left.
  {
    Conn gone(daemon.port(), "gone");
    gone.hello();
    gone.subscribe("/topic/_reply/gone");
    gone.unsubscribe("/topic/_reply/gone");
  }
  responder.publish("/topic/_reply/gone/2", "late answer");
  // Many of them, unconfirmed: no ERR, no close.
  std::string bytes;
  for (std::size_t i = 0; i < 1000; ++i) {
    p::append_frame(bytes, p::Pub{0, "/topic/_reply/never/" + std::to_string(i), "", job(i)});
  }
  responder.send_raw(bytes);
  responder.ping_pong();
  bystander.check();

  // It still answers a live requester.
  Conn requester(daemon.port(), "requester");
  requester.hello();
  requester.subscribe("/topic/_reply/alive");
  responder.publish("/topic/_reply/alive/9", "on time");
  requester.expect_msg("/topic/_reply/alive/9", "on time");
  expect_clean_exit(daemon);
}
