// Ids instead of pointers: an id finds its object while it lives and nothing afterwards, even
// when a new object takes the old one's slot (or its address).
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <memory>

#include "outbox.hpp"
#include "publication.hpp"
#include "registry.hpp"
#include "router.hpp"
#include "traffic.hpp"

using namespace paperboy::broker;

TEST_CASE("IdTable: a freed slot is reused under a new id; the old id finds nothing") {
  IdTable<int> table;
  int first = 1;
  int second = 2;
  const Id<int> a = table.insert(first);
  CHECK(a);
  CHECK(table.find(a) == &first);
  table.erase(a);
  CHECK(table.find(a) == nullptr);
  const Id<int> b = table.insert(second);  // the same slot, a later generation
  CHECK(b != a);
  CHECK(table.find(b) == &second);
  CHECK(table.find(a) == nullptr);
  table.erase(a);  // a stale erase leaves the new occupant alone
  CHECK(table.find(b) == &second);
  CHECK(table.find(Id<int>{}) == nullptr);
  CHECK(table.size() == 1);
}

TEST_CASE("Enrollment: an object is findable by its id exactly while it lives") {
  IdTable<int> table;
  Id<int> id;
  {
    int object = 7;
    const Enrollment<int> enrollment(table, object);
    id = enrollment.id();
    CHECK(table.find(id) == &object);
  }
  CHECK(table.find(id) == nullptr);
  CHECK(table.size() == 0);
}

TEST_CASE("Router: a publisher's cached route follows a topic that was dropped and made anew") {
  asio::io_context io;
  const Config config;
  Traffic traffic;
  Router router(config, io.get_executor());
  Outbox subscriber(io.get_executor(), config, traffic);
  Router::RouteCache cache;
  const auto publish = [&] {
    Publication message("/topic/t", {}, "m", 0);
    return router.publish(message, cache);
  };

  REQUIRE(router.subscribe(subscriber, "/topic/t"));
  publish();
  CHECK_FALSE(subscriber.empty());
  subscriber.discard_unsent();

  // The topic goes with its last subscriber; the cached id must not reach whatever comes next.
  REQUIRE(router.unsubscribe(subscriber, "/topic/t"));
  CHECK(router.topic_count() == 0);
  publish();
  CHECK(subscriber.empty());

  // A new topic of that name (perhaps at the old address) is found again.
  REQUIRE(router.subscribe(subscriber, "/topic/t"));
  publish();
  CHECK_FALSE(subscriber.empty());
}
