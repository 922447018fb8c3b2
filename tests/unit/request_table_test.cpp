// The client's table of requests in flight: correlations, replies, refusals, cancellation.
#include "request_table.hpp"

#include <doctest/doctest.h>

#include <string>
#include <system_error>

namespace paperboy::client {
namespace {

Message reply_with(std::string payload) {
  Message m;
  m.channel = "/topic/_reply/abc/1";
  m.payload = std::move(payload);
  return m;
}

Error refusal() {
  return Error(std::error_code(3, std::generic_category()), "bad channel", false);
}

}  // namespace

TEST_CASE("request table: each request gets a new correlation, also after clear()") {
  RequestTable table;
  const auto first = table.add(1);
  const auto second = table.add(2);
  CHECK(first.correlation != second.correlation);
  CHECK(table.size() == 2);
  table.clear();
  CHECK(table.size() == 0);
  CHECK_FALSE(table.contains(first));
  const auto third = table.add(3);
  CHECK(third.correlation != first.correlation);
  CHECK(third.correlation != second.correlation);
}

TEST_CASE("request table: a reply is matched by correlation and taken once, in any order") {
  RequestTable table;
  const auto a = table.add(1);
  const auto b = table.add(2);
  CHECK_FALSE(table.take_outcome(a).has_value());  // nothing yet: still in flight
  CHECK(table.contains(a));
  table.answer(std::to_string(b.correlation), reply_with("for b"));
  table.answer(std::to_string(a.correlation), reply_with("for a"));
  const auto got_b = table.take_outcome(b);
  REQUIRE(got_b.has_value());
  CHECK(std::get<Message>(*got_b).payload == "for b");
  CHECK_FALSE(table.contains(b));
  const auto got_a = table.take_outcome(a);
  REQUIRE(got_a.has_value());
  CHECK(std::get<Message>(*got_a).payload == "for a");
  CHECK(table.size() == 0);
  CHECK_FALSE(table.take_outcome(a).has_value());
}

TEST_CASE(
    "request table: only the first reply counts, unknown, cancelled and garbled ones vanish") {
  RequestTable table;
  const auto a = table.add(1);
  const auto cancelled = table.add(2);
  table.cancel(cancelled);
  table.answer(std::to_string(cancelled.correlation), reply_with("late"));
  CHECK_FALSE(table.contains(cancelled));
  for (const char* garbled : {"", "x", "1x", "-1", "99999999999999999999999"}) {
    table.answer(garbled, reply_with("garbled"));
  }
  table.answer(std::to_string(a.correlation + 1000), reply_with("unknown"));
  CHECK(table.size() == 1);
  CHECK_FALSE(table.take_outcome(a).has_value());
  table.answer(std::to_string(a.correlation), reply_with("first"));
  table.answer(std::to_string(a.correlation), reply_with("second"));
  const auto got = table.take_outcome(a);
  REQUIRE(got.has_value());
  CHECK(std::get<Message>(*got).payload == "first");
}

TEST_CASE("request table: a refusal fails the unanswered request with that PUB id only") {
  RequestTable table;
  const auto a = table.add(7);
  const auto b = table.add(8);
  CHECK_FALSE(table.fail(9, refusal()));
  CHECK(table.fail(8, refusal()));
  CHECK_FALSE(table.fail(8, refusal()));  // already refused
  CHECK_FALSE(table.take_outcome(a).has_value());
  const auto got = table.take_outcome(b);
  REQUIRE(got.has_value());
  CHECK(std::get<Error>(*got).code().value() == 3);
  // An answered request is not failed by a later refusal.
  table.answer(std::to_string(a.correlation), reply_with("done"));
  CHECK_FALSE(table.fail(7, refusal()));
  CHECK(std::get<Message>(*table.take_outcome(a)).payload == "done");
}

}  // namespace paperboy::client
