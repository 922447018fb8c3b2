// The patterns of a users file's permission lists (issue 13): what an allow pattern covers,
// what a deny pattern overlaps, and a user's rule combining them.
#include "permission_pattern.hpp"

#include <doctest/doctest.h>

#include "users.hpp"

namespace paperboy::broker {
namespace {

TEST_CASE("a permission pattern is a channel name with \"*\" segments and \">\" only last") {
  CHECK(valid_permission_pattern("/topic/news"));
  CHECK(valid_permission_pattern("/topic/news/*/sport"));
  CHECK(valid_permission_pattern("/topic/news/>"));
  CHECK(valid_permission_pattern("/queue/billing/>"));
  CHECK(valid_permission_pattern("/topic/_reply/>"));
  CHECK_FALSE(valid_permission_pattern("/topic/>/news"));
  CHECK_FALSE(valid_permission_pattern("news/>"));
  CHECK_FALSE(valid_permission_pattern("/topic/"));
  CHECK_FALSE(valid_permission_pattern("/topic/a b"));
}

TEST_CASE("an allow pattern covers concrete names and no wider subscriptions") {
  CHECK(pattern_covers("/topic/news", "/topic/news"));
  CHECK_FALSE(pattern_covers("/topic/news", "/topic/news/a"));
  CHECK(pattern_covers("/topic/news/*", "/topic/news/a"));
  CHECK_FALSE(pattern_covers("/topic/news/*", "/topic/news/a/b"));
  CHECK_FALSE(pattern_covers("/topic/news/*", "/topic/news"));
  CHECK(pattern_covers("/topic/news/>", "/topic/news/a/b"));
  CHECK_FALSE(pattern_covers("/topic/news/>", "/topic/news"));
  CHECK(pattern_covers("/queue/billing/>", "/queue/billing/invoices"));
  CHECK_FALSE(pattern_covers("/topic/billing/>", "/queue/billing/invoices"));
  // Subscriptions with wildcards: covered only when no wider than the pattern.
  CHECK(pattern_covers("/topic/news/*", "/topic/news/*"));
  CHECK(pattern_covers("/topic/news/>", "/topic/news/*/x"));
  CHECK(pattern_covers("/topic/news/>", "/topic/news/>"));
  CHECK_FALSE(pattern_covers("/topic/news/*", "/topic/news/>"));
  CHECK_FALSE(pattern_covers("/topic/news/a", "/topic/news/*"));
  // "*" inside a segment is a literal character.
  CHECK_FALSE(pattern_covers("/topic/news/a*", "/topic/news/ab"));
  CHECK(pattern_covers("/topic/news/*", "/topic/news/a*"));
}

TEST_CASE("patterns overlap when some channel is named by both") {
  CHECK(patterns_overlap("/topic/news/secret", "/topic/news/secret"));
  CHECK(patterns_overlap("/topic/news/secret", "/topic/news/*"));
  CHECK(patterns_overlap("/topic/news/secret", "/topic/>"));
  CHECK(patterns_overlap("/topic/*/secret", "/topic/news/*"));
  CHECK_FALSE(patterns_overlap("/topic/news/secret", "/topic/news/public"));
  CHECK_FALSE(patterns_overlap("/topic/news/*", "/topic/news"));
  CHECK_FALSE(patterns_overlap("/topic/news/*", "/topic/news/a/b"));
  CHECK_FALSE(patterns_overlap("/queue/news/>", "/topic/news/>"));
}

TEST_CASE("a rule permits what an allow pattern covers and no deny pattern overlaps") {
  ChannelRule rule{{"/topic/news/>", "/queue/jobs"}, {"/topic/news/secret/>"}};
  CHECK(rule.permits("/topic/news/sport"));
  CHECK(rule.permits("/queue/jobs"));
  CHECK(rule.permits("/topic/news/sport/*"));
  CHECK_FALSE(rule.permits("/topic/news/secret/plans"));
  CHECK_FALSE(rule.permits("/topic/news/>"));  // would reach the denied channels
  CHECK_FALSE(rule.permits("/topic/weather"));
  CHECK_FALSE(rule.permits("/queue/jobs/x"));
  CHECK_FALSE(ChannelRule{}.permits("/topic/news"));  // nothing listed, nothing allowed
}

}  // namespace
}  // namespace paperboy::broker
