#include <doctest/doctest.h>

#include <string>

#include "billing_date.hpp"
#include "billing_jobs.hpp"
#include "server_list.hpp"

using paperboy::billing::BillingDate;

TEST_CASE("billing_date: real YYYY-MM-DD dates only") {
  for (const std::string text :
       {"2024-02-29", "2000-02-29", "2025-12-31", "0001-01-01", "9999-12-31", "2025-04-30"}) {
    CAPTURE(text);
    const auto date = BillingDate::parse(text);
    REQUIRE(date);
    CHECK(date->text() == text);
  }
  CHECK(BillingDate::parse("2024-06-15")->first_of_year() == "2024-01-01");
  for (const std::string text :
       {"2025-02-29", "1900-02-29", "2025-02-30", "2025-04-31", "2025-13-01", "2025-00-10",
        "2025-01-00", "0000-01-01", "2025-1-01", "2025/01/01", "20250101", "2025-01-01 ",
        " 2025-01-01", "2025-01-0a", "+025-01-01", ""}) {
    CAPTURE(text);
    CHECK_FALSE(BillingDate::parse(text));
  }
}

TEST_CASE("billing_jobs: cents as currency units with two decimals") {
  using paperboy::billing::format_cents;
  CHECK(format_cents(0) == "0.00");
  CHECK(format_cents(5) == "0.05");
  CHECK(format_cents(100) == "1.00");
  CHECK(format_cents(123456) == "1234.56");
  CHECK(format_cents(-5) == "-0.05");
  CHECK(format_cents(-123456) == "-1234.56");
  CHECK(format_cents(INT64_MIN) == "-92233720368547758.08");
}

TEST_CASE("server_list: host:port, repeated with commas") {
  using paperboy::billing::parse_server_list;
  const auto servers = parse_server_list("127.0.0.1:25000,broker.example:1,[::1]:65535");
  REQUIRE(servers);
  REQUIRE(servers->size() == 3);
  CHECK((*servers)[0].host == "127.0.0.1");
  CHECK((*servers)[0].port == 25000);
  CHECK((*servers)[1].host == "broker.example");
  CHECK((*servers)[2].host == "::1");
  CHECK((*servers)[2].port == 65535);
  for (const std::string text : {"", "host", "host:", ":25000", "host:0", "host:65536",
                                 "host:25000,", "host:2x", "host:-1", "a:1,,b:2"}) {
    CAPTURE(text);
    CHECK_FALSE(parse_server_list(text));
  }
}
