#include <doctest/doctest.h>

#include "channel_match.hpp"

using paperboy::client::subscription_matches;

TEST_CASE("subscription_matches: an exact name matches itself only") {
  CHECK(subscription_matches("/topic/news", "/topic/news"));
  CHECK(subscription_matches("/queue/jobs", "/queue/jobs"));
  CHECK_FALSE(subscription_matches("/topic/news", "/topic/news/sport"));
  CHECK_FALSE(subscription_matches("/topic/news/sport", "/topic/news"));
}

TEST_CASE("subscription_matches: '*' is exactly one segment") {
  CHECK(subscription_matches("/topic/news/*", "/topic/news/sport"));
  CHECK(subscription_matches("/topic/*/sport", "/topic/news/sport"));
  CHECK_FALSE(subscription_matches("/topic/news/*", "/topic/news"));
  CHECK_FALSE(subscription_matches("/topic/news/*", "/topic/news/sport/today"));
}

TEST_CASE("subscription_matches: a last '>' is one or more segments") {
  CHECK(subscription_matches("/topic/news/>", "/topic/news/sport"));
  CHECK(subscription_matches("/topic/news/>", "/topic/news/sport/today"));
  CHECK_FALSE(subscription_matches("/topic/news/>", "/topic/news"));
  CHECK_FALSE(subscription_matches("/topic/news/>", "/topic/weather/today"));
}

TEST_CASE("subscription_matches: wildcards inside a segment are literal, reply channels private") {
  CHECK_FALSE(subscription_matches("/topic/news/a*", "/topic/news/ab"));
  CHECK_FALSE(subscription_matches("/topic/>", "/topic/_reply/abc/1"));
}
