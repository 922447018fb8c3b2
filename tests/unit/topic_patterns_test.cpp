// The wildcard subscription index (issue 9): which patterns match a concrete topic name, and
// that the cost of asking does not grow with patterns that cannot match.
#include "topic_patterns.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "paperboy/protocol/channel.hpp"

namespace paperboy::broker {
namespace {

TopicId id(std::uint64_t n) {
  return TopicId(n);
}

std::vector<std::uint64_t> sorted_values(std::span<const TopicId> handles) {
  std::vector<std::uint64_t> values;
  for (const TopicId handle : handles) values.push_back(handle.value());
  std::sort(values.begin(), values.end());
  return values;
}

std::vector<std::uint64_t> matches(TopicPatterns& patterns, std::string_view topic) {
  return sorted_values(patterns.match(topic));
}

std::vector<std::string_view> segments_after_topic(std::string_view name) {
  std::vector<std::string_view> out;
  std::string_view rest = name.substr(std::string_view("/topic/").size());
  for (;;) {
    const auto slash = rest.find('/');
    out.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    rest.remove_prefix(slash + 1);
  }
}

// The rule as the issue states it, segment by segment, with no trie and no cache.
bool reference_match(std::string_view pattern, std::string_view topic) {
  if (!topic.starts_with("/topic/") || topic == "/topic/") return false;
  const auto want = segments_after_topic(pattern);
  const auto have = segments_after_topic(topic);
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i] == ">" && i + 1 == want.size()) return have.size() > i;
    if (i >= have.size()) return false;
    if (want[i] != "*" && want[i] != have[i]) return false;
  }
  return want.size() == have.size();
}

// Every name of 1 to `depth` segments drawn from `alphabet`, under /topic/.
std::vector<std::string> names_from(const std::vector<std::string>& alphabet, int depth) {
  std::vector<std::string> rests = {""};
  std::vector<std::string> names;
  for (int d = 1; d <= depth; ++d) {
    std::vector<std::string> longer;
    for (const auto& rest : rests) {
      for (const auto& segment : alphabet) {
        longer.push_back(rest.empty() && d == 1 ? segment : rest + "/" + segment);
      }
    }
    for (const auto& rest : longer) names.push_back("/topic/" + rest);
    rests = std::move(longer);
  }
  return names;
}

TEST_CASE("TopicPatterns: the issue's matching table") {
  TopicPatterns patterns;
  REQUIRE(patterns.insert("/topic/news/*", id(1)));
  REQUIRE(patterns.insert("/topic/news/>", id(2)));
  REQUIRE(patterns.insert("/topic/>", id(3)));
  CHECK(patterns.size() == 3);

  using V = std::vector<std::uint64_t>;
  CHECK(matches(patterns, "/topic/news/sports") == V{1, 2, 3});
  CHECK(matches(patterns, "/topic/news") == V{3});  // neither news/* nor news/>
  CHECK(matches(patterns, "/topic/news/a/b") == V{2, 3});
  CHECK(matches(patterns, "/topic/news/a") == V{1, 2, 3});
  CHECK(matches(patterns, "/topic/weather") == V{3});
  CHECK(matches(patterns, "/topic/a/b/c/d") == V{3});
  CHECK(matches(patterns, "/topic/newsroom/a") == V{3});
  CHECK(matches(patterns, "/queue/news/a").empty());  // wildcards are for topics only
  CHECK(matches(patterns, "/null").empty());
}

TEST_CASE("TopicPatterns: '/topic/*' against '/topic', '/topic/' and one segment") {
  TopicPatterns patterns;
  REQUIRE(patterns.insert("/topic/*", id(1)));
  REQUIRE(patterns.insert("/topic/>", id(2)));
  using V = std::vector<std::uint64_t>;
  CHECK(matches(patterns, "/topic/x") == V{1, 2});
  CHECK(matches(patterns, "/topic/x/y") == V{2});
  CHECK(matches(patterns, "/topic").empty());   // a PB0 name, no segment after /topic/
  CHECK(matches(patterns, "/topic/").empty());  // no channel at all
  CHECK(matches(patterns, "/topics/x").empty());
}

TEST_CASE("TopicPatterns: empty segments are segments, '*' and '>' inside one are literal") {
  TopicPatterns patterns;
  REQUIRE(patterns.insert("/topic/a/*", id(1)));
  REQUIRE(patterns.insert("/topic//*", id(2)));
  REQUIRE(patterns.insert("/topic/a*/*", id(3)));
  REQUIRE(patterns.insert("/topic/*/>", id(4)));
  using V = std::vector<std::uint64_t>;
  CHECK(matches(patterns, "/topic/a/") == V{1, 4});  // '*' takes the empty last segment
  CHECK(matches(patterns, "/topic//") == V{2, 4});
  CHECK(matches(patterns, "/topic//x") == V{2, 4});
  CHECK(matches(patterns, "/topic/a*/x") == V{3, 4});  // the literal segment "a*"
  CHECK(matches(patterns, "/topic/ab/x") == V{4});
  CHECK(matches(patterns, "/topic/a/a*") == V{1, 4});  // a name's '*' is just a character
  CHECK(matches(patterns, "/topic/a") == V{});         // '*/>' needs two segments or more
}

TEST_CASE("TopicPatterns: only patterns are taken: '>' not last and literal names refused") {
  TopicPatterns patterns;
  for (const std::string_view name :
       {"/topic/>/a", "/topic/a/>/b", "/topic/>/", "/topic/a*", "/topic/news", "/queue/*",
        "/queue/>", "*", ">", "/topic/", "/topic/>b"}) {
    CAPTURE(name);
    CHECK_FALSE(patterns.insert(name, id(1)));
  }
  CHECK_FALSE(patterns.insert("/topic/*", TopicId{}));  // the empty id names nothing
  CHECK(patterns.empty());
  CHECK(patterns.match("/topic/a").empty());
}

TEST_CASE("TopicPatterns: a pattern holds one handle; removing needs the exact pattern") {
  TopicPatterns patterns;
  REQUIRE(patterns.insert("/topic/a/b/*", id(1)));
  CHECK_FALSE(patterns.insert("/topic/a/b/*", id(2)));  // already held, unchanged
  CHECK(matches(patterns, "/topic/a/b/c") == std::vector<std::uint64_t>{1});

  CHECK_FALSE(patterns.remove("/topic/a/*"));    // a prefix of the held path
  CHECK_FALSE(patterns.remove("/topic/a/b/>"));  // the same node, the other slot
  CHECK_FALSE(patterns.remove("/topic/a/b/*/*"));
  CHECK_FALSE(patterns.remove("/topic/a/b/c"));  // not a pattern
  CHECK(patterns.size() == 1);
  CHECK(matches(patterns, "/topic/a/b/c") == std::vector<std::uint64_t>{1});

  CHECK(patterns.remove("/topic/a/b/*"));
  CHECK_FALSE(patterns.remove("/topic/a/b/*"));
  CHECK(patterns.empty());
  CHECK(patterns.match("/topic/a/b/c").empty());
  REQUIRE(patterns.insert("/topic/a/b/*", id(3)));  // and it can be held again
  CHECK(matches(patterns, "/topic/a/b/c") == std::vector<std::uint64_t>{3});
}

TEST_CASE("TopicPatterns: a cached answer follows every insert and remove") {
  TopicPatterns patterns;
  REQUIRE(patterns.insert("/topic/news/>", id(1)));
  using V = std::vector<std::uint64_t>;
  CHECK(matches(patterns, "/topic/news/sports") == V{1});
  CHECK(patterns.cached_names() == 1);

  // A hit walks nothing.
  const auto visited = patterns.nodes_visited();
  CHECK(matches(patterns, "/topic/news/sports") == V{1});
  CHECK(patterns.nodes_visited() == visited);

  const auto before_insert = patterns.generation();
  REQUIRE(patterns.insert("/topic/*/sports", id(2)));
  CHECK(patterns.generation() != before_insert);
  CHECK(matches(patterns, "/topic/news/sports") == V{1, 2});
  REQUIRE(patterns.insert("/topic/weather/*", id(3)));  // matches another name only
  CHECK(matches(patterns, "/topic/news/sports") == V{1, 2});
  REQUIRE(patterns.remove("/topic/news/>"));
  CHECK(matches(patterns, "/topic/news/sports") == V{2});
  REQUIRE(patterns.remove("/topic/*/sports"));
  CHECK(matches(patterns, "/topic/news/sports").empty());
  REQUIRE(patterns.insert("/topic/news/>", id(4)));
  CHECK(matches(patterns, "/topic/news/sports") == V{4});
}

TEST_CASE("TopicPatterns: the cache holds at most its bound of names, answers stay right") {
  TopicPatterns patterns(4);
  REQUIRE(patterns.insert("/topic/feed/*", id(1)));
  REQUIRE(patterns.insert("/topic/>", id(2)));
  for (int round = 0; round < 3; ++round) {
    for (int n = 0; n < 20; ++n) {
      const std::string name = "/topic/feed/" + std::to_string(n);
      CHECK(matches(patterns, name) == std::vector<std::uint64_t>{1, 2});
      CHECK(patterns.cached_names() <= 4);
    }
  }
  CHECK(patterns.cached_names() == 4);
}

TEST_CASE("TopicPatterns: an answer longer than the cache takes is complete and not cached") {
  // Every choice of literal or '*' for 7 segments: 128 patterns that all match one name.
  TopicPatterns patterns;
  const std::string_view literal[] = {"a", "b", "c", "d", "e", "f", "g"};
  std::uint64_t next = 1;
  for (unsigned mask = 0; mask < 128; ++mask) {
    std::string pattern = "/topic";
    for (unsigned i = 0; i < 7; ++i) {
      pattern += "/";
      pattern += (mask >> i & 1u) ? std::string_view("*") : literal[i];
    }
    if (mask == 0) continue;  // all literal: a name, not a pattern
    REQUIRE(patterns.insert(pattern, id(next++)));
  }
  REQUIRE(patterns.insert("/topic/a/>", id(next++)));
  REQUIRE(next - 1 > TopicPatterns::max_cached_matches);

  std::vector<std::uint64_t> all;
  for (std::uint64_t n = 1; n < next; ++n) all.push_back(n);
  CHECK(matches(patterns, "/topic/a/b/c/d/e/f/g") == all);
  CHECK(patterns.cached_names() == 0);
  CHECK(matches(patterns, "/topic/a/b/c/d/e/f/g") == all);
  CHECK(matches(patterns, "/topic/a/x") == std::vector<std::uint64_t>{next - 1});
  CHECK(patterns.cached_names() == 1);
}

TEST_CASE("TopicPatterns agrees with the rule on every small pattern and name") {
  const std::vector<std::string> pattern_segments = {"a", "b", "", "*", ">"};
  const std::vector<std::string> name_segments = {"a", "b", "", "a*", ">x"};
  std::vector<std::string> held;
  for (const auto& name : names_from(pattern_segments, 3)) {
    if (protocol::is_pattern(name)) held.push_back(name);
  }
  const auto names = names_from(name_segments, 4);
  REQUIRE(held.size() > 50);

  TopicPatterns patterns(64);  // small, so evictions happen along the way
  for (std::size_t i = 0; i < held.size(); ++i) REQUIRE(patterns.insert(held[i], id(i + 1)));

  const auto check_all = [&](const std::vector<bool>& present) {
    for (int pass = 0; pass < 2; ++pass) {  // the second from the cache where it held
      for (const auto& name : names) {
        std::vector<std::uint64_t> expected;
        for (std::size_t i = 0; i < held.size(); ++i) {
          if (present[i] && reference_match(held[i], name)) expected.push_back(i + 1);
        }
        if (matches(patterns, name) != expected) FAIL_CHECK("wrong answer for " << name);
      }
    }
  };
  std::vector<bool> present(held.size(), true);
  check_all(present);
  for (std::size_t i = 0; i < held.size(); i += 2) {
    REQUIRE(patterns.remove(held[i]));
    present[i] = false;
  }
  check_all(present);
  for (std::size_t i = 1; i < held.size(); i += 2) REQUIRE(patterns.remove(held[i]));
  CHECK(patterns.empty());
  for (const auto& name : names) CHECK(patterns.match(name).empty());
}

// The performance bullet's situation: exact names published while 1,000 patterns that cannot
// match them are subscribed elsewhere. The walk a miss makes is the same as with one pattern.
TEST_CASE("TopicPatterns: 1,000 patterns elsewhere cost an exact name nothing more") {
  const std::vector<std::string> exact = {"/topic/news/sports", "/topic/prices/eur/usd",
                                          "/topic/news", "/topic/x"};
  const auto walk_cost = [&](int pattern_count) {
    TopicPatterns patterns;
    for (int n = 0; n < pattern_count; ++n) {
      const std::string k = std::to_string(n);
      const std::string pattern = n % 4 == 0   ? "/topic/sensors/" + k + "/*"
                                  : n % 4 == 1 ? "/topic/logs/" + k + "/>"
                                  : n % 4 == 2 ? "/topic/news/s" + k + "/*"  // shares news/
                                               : "/topic/prices/" + k + "/*/>";
      REQUIRE(patterns.insert(pattern, id(static_cast<std::uint64_t>(n) + 1)));
    }
    REQUIRE(patterns.size() == static_cast<std::size_t>(pattern_count));
    for (const auto& name : exact) CHECK(patterns.match(name).empty());
    const auto visited = patterns.nodes_visited();
    for (int repeat = 0; repeat < 100; ++repeat) {
      for (const auto& name : exact) CHECK(patterns.match(name).empty());
    }
    CHECK(patterns.nodes_visited() == visited);  // every later ask is a cache hit
    return visited;
  };
  const auto with_one = walk_cost(4);  // one pattern under each prefix the names share
  const auto with_thousand = walk_cost(1000);
  CHECK(with_thousand == with_one);
  // The root and each name's first segment where a pattern shares it (news, prices, news):
  // the 250 patterns under news/ and prices/ differ in the next segment and are never entered.
  CHECK(with_thousand == 2 + 2 + 2 + 1);
}

TEST_CASE("TopicPatterns: removing a pattern drops the nodes only it used") {
  TopicPatterns patterns;
  REQUIRE(patterns.insert("/topic/keep/*", id(1)));
  REQUIRE(patterns.insert("/topic/deep/a/b/c/*", id(2)));
  CHECK(patterns.match("/topic/deep/a/b/c/d").size() == 1);
  REQUIRE(patterns.remove("/topic/deep/a/b/c/*"));
  const auto visited = patterns.nodes_visited();
  CHECK(patterns.match("/topic/deep/a/b/c/d").empty());
  CHECK(patterns.nodes_visited() == visited + 1);  // the root alone: deep/... is gone
}

}  // namespace
}  // namespace paperboy::broker
