#include "basic_credentials.hpp"

#include <doctest/doctest.h>

using paperboy::daemon::parse_basic_authorization;

TEST_CASE("basic credentials: name and token from a Basic header, as curl -u sends them") {
  // base64("ops:s3cret:with:colons")
  const auto credentials = parse_basic_authorization("Basic b3BzOnMzY3JldDp3aXRoOmNvbG9ucw==");
  REQUIRE(credentials);
  CHECK(credentials->name == "ops");
  CHECK(credentials->token == "s3cret:with:colons");

  const auto lower_scheme = parse_basic_authorization("basic   b3BzOng= ");
  REQUIRE(lower_scheme);
  CHECK(lower_scheme->name == "ops");
  CHECK(lower_scheme->token == "x");
}

TEST_CASE("basic credentials: other schemes, bad base64 and no colon are nothing") {
  CHECK_FALSE(parse_basic_authorization(""));
  CHECK_FALSE(parse_basic_authorization("Basic "));
  CHECK_FALSE(parse_basic_authorization("Bearer b3BzOng="));
  CHECK_FALSE(parse_basic_authorization("Basic not*base64"));
  CHECK_FALSE(parse_basic_authorization("Basic b3BzOng=trailing"));
  CHECK_FALSE(parse_basic_authorization("Basic b3Bz"));  // "ops": no colon
}
