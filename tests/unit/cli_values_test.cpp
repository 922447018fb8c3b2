// The paperboy CLI's option values and output, without a process: --ttl/--timeout durations,
// --header KEY=VALUE, and how listen prints headers, timestamps and channels.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "option_values.hpp"
#include "output_format.hpp"

namespace paperboy::cli {
namespace {

using std::chrono::milliseconds;

TEST_CASE("cli durations: a number with ms, s, m or h, or plain seconds, to the millisecond") {
  CHECK(parse_duration("500ms") == milliseconds(500));
  CHECK(parse_duration("5s") == milliseconds(5000));
  CHECK(parse_duration("1m") == milliseconds(60'000));
  CHECK(parse_duration("1.5m") == milliseconds(90'000));
  CHECK(parse_duration("2h") == milliseconds(7'200'000));
  CHECK(parse_duration("2") == milliseconds(2000));
  CHECK(parse_duration("0.3") == milliseconds(300));
  CHECK(parse_duration(".25s") == milliseconds(250));
  CHECK(parse_duration("0") == milliseconds(0));
  CHECK(parse_duration("0ms") == milliseconds(0));
  CHECK(parse_duration("1.4ms") == milliseconds(1));  // rounded to the nearest
  CHECK(parse_duration("0.0006") == milliseconds(1));
  CHECK(parse_duration("4294967295ms") == max_duration);  // a TTL's u32 of milliseconds
}

TEST_CASE("cli durations: anything else is refused, not guessed") {
  for (const std::string_view bad :
       {"",    "s",   "ms",    "-1s",  "+1s",          "1e3",  "1e3ms",
        "inf", "nan", "5 s",   " 5s",  "5s ",          "5sec", "5d",
        "5M",  "5S",  "1.2.3", "0x10", "4294967296ms", "50d",  "1000000000000000000000h"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad).has_value());
  }
}

TEST_CASE("cli headers: KEY=VALUE split at the first '=', the value taken as it is") {
  const auto plain = parse_header("content-type=text/plain");
  REQUIRE(plain.has_value());
  CHECK(plain->key == "content-type");
  CHECK(plain->value == "text/plain");

  const auto with_equals = parse_header("query=a=1&b=2");
  REQUIRE(with_equals.has_value());
  CHECK(with_equals->key == "query");
  CHECK(with_equals->value == "a=1&b=2");

  const auto empty_value = parse_header("flag=");
  REQUIRE(empty_value.has_value());
  CHECK(empty_value->key == "flag");
  CHECK(empty_value->value.empty());

  const auto spaced_value = parse_header("note= two words ");
  REQUIRE(spaced_value.has_value());
  CHECK(spaced_value->value == " two words ");

  const std::string longest_key(255, 'k');
  CHECK(parse_header(longest_key + "=v").has_value());
}

TEST_CASE("cli headers: no '=', or a key the protocol refuses, is not a header") {
  const std::string too_long_key(256, 'k');
  for (const std::string& bad :
       {std::string("novalue"), std::string("=value"), std::string("a b=c"), std::string("a:b=c"),
        std::string("tab\tkey=v"), std::string("caf\xc3\xa9=v"), too_long_key + "=v",
        std::string("")}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_header(bad).has_value());
  }
}

TEST_CASE("cli timestamps: RFC 3339 in UTC with nine decimals") {
  CHECK(format_timestamp(0) == "1970-01-01T00:00:00.000000000Z");
  CHECK(format_timestamp(1796601600123456789ULL) == "2026-12-07T00:00:00.123456789Z");
  CHECK(format_timestamp(1796601599999999999ULL) == "2026-12-06T23:59:59.999999999Z");
}

TEST_CASE("cli json: published_at and headers in order, binary values as value_hex") {
  client::Message message;
  message.channel = "/topic/news/sports";
  message.payload = "goal";
  message.published_at = 1796601600000000001ULL;
  message.headers = {{"trace", "abc"}, {"bin", std::string("\x00\xff", 2)}, {"trace", "d\"e"}};
  std::string out;
  append_message(out, message, OutputFormat::json);
  CHECK(
      out ==
      "{\"channel\":\"/topic/news/sports\",\"reply_to\":\"\",\"payload\":\"goal\","
      "\"published_at\":\"2026-12-07T00:00:00.000000001Z\","
      "\"headers\":[{\"key\":\"trace\",\"value\":\"abc\"},{\"key\":\"bin\",\"value_hex\":\"00ff\"},"
      "{\"key\":\"trace\",\"value\":\"d\\\"e\"}]}\n");
}

TEST_CASE("cli json: a version 1 message (no timestamp, no headers) keeps its three fields") {
  client::Message message;
  message.channel = "/queue/jobs";
  message.payload = "x";
  std::string out;
  append_message(out, message, OutputFormat::json);
  CHECK(out == "{\"channel\":\"/queue/jobs\",\"reply_to\":\"\",\"payload\":\"x\"}\n");
}

TEST_CASE("cli --show-channel: text and hex lines start with the channel and a space") {
  client::Message message;
  message.channel = "/topic/news/sports";
  message.payload = "ok";
  std::string text;
  append_message(text, message, OutputFormat::text, true);
  CHECK(text == "/topic/news/sports ok\n");
  std::string hex;
  append_message(hex, message, OutputFormat::hex, true);
  CHECK(hex == "/topic/news/sports 6f6b\n");
  std::string raw;
  append_message(raw, message, OutputFormat::raw, true);
  CHECK(raw == "ok");
  std::string plain;
  append_message(plain, message, OutputFormat::text);
  CHECK(plain == "ok\n");
}

}  // namespace
}  // namespace paperboy::cli
