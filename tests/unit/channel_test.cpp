#include "paperboy/protocol/channel.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <string_view>
#include <vector>

#include "samples.hpp"

namespace paperboy::protocol {
namespace {

using test::hex;
using test::unhex;

bool accepted(std::string_view name) {
  return check_channel(name).ok();
}

// Checks that a channel name is refused with bad_channel.
void check_refused(std::string_view name) {
  const auto result = check_channel(name);
  CHECK_MESSAGE(!result.ok(), "accepted " << hex(name));
  CHECK_MESSAGE(result.error() == Errc::bad_channel, "name " << hex(name));
}

// An independent statement of the rule for the <rest> of a name: decode code points the long
// way, then refuse malformed, overlong, surrogate and out-of-range sequences, spaces, and
// control characters (C0, DEL, C1).
bool reference_rest_ok(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (lead < 0x80) {
      len = 1;
      cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      len = 2;
      cp = lead & 0x1Fu;
    } else if ((lead & 0xF0) == 0xE0) {
      len = 3;
      cp = lead & 0x0Fu;
    } else if ((lead & 0xF8) == 0xF0) {
      len = 4;
      cp = lead & 0x07u;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3Fu);
    }
    const std::uint32_t shortest_from[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < shortest_from[len]) return false;       // overlong
    if (cp > 0x10FFFF) return false;                 // beyond Unicode
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // surrogate
    if (cp <= 0x20 || cp == 0x7F) return false;      // C0 controls, space, DEL
    if (cp >= 0x80 && cp <= 0x9F) return false;      // C1 controls
    i += len;
  }
  return true;
}

TEST_CASE("check_channel: /topic/ and /queue/ names with a rest") {
  const auto topic = check_channel("/topic/x");
  REQUIRE(topic.ok());
  CHECK(*topic == ChannelKind::topic);
  const auto queue = check_channel("/queue/x");
  REQUIRE(queue.ok());
  CHECK(*queue == ChannelKind::queue);

  for (const std::string_view name :
       {"/topic/news", "/topic/a/b/c", "/topic/a.b-c_d~e!", "/topic//", "/topic/topic/",
        "/topic/\xC3\xA9t\xC3\xA9", "/topic/\xE6\x97\xA5\xE6\x9C\xAC", "/topic/\xF0\x9F\x93\xB0"}) {
    CAPTURE(hex(name));
    const auto kind = check_channel(name);
    REQUIRE(kind.ok());
    CHECK(*kind == ChannelKind::topic);
  }
  for (const std::string_view name :
       {"/queue/jobs", "/queue/billing/eu", "/queue/\xC3\xBC", "/queue//"}) {
    CAPTURE(hex(name));
    const auto kind = check_channel(name);
    REQUIRE(kind.ok());
    CHECK(*kind == ChannelKind::queue);
  }
}

TEST_CASE("check_channel: no prefix, a wrong prefix or an empty rest is refused") {
  for (const std::string_view name :
       {"",         "/",        "/topic",    "/queue",    "/topic/",
        "/queue/",  "topic/x",  "queue/x",   "x",         "/null",
        "/Topic/x", "/QUEUE/x", "//topic/x", "/topics/x", "/queues/x",
        "/queuex",  "/topicx",  "/top/x",    " /topic/x", "\xEF\xBB\xBF/topic/x"}) {
    CAPTURE(hex(name));
    check_refused(name);
  }
}

TEST_CASE("check_channel: 255 bytes are accepted, 256 refused") {
  const std::string name255 = "/topic/" + std::string(248, 'a');
  REQUIRE(name255.size() == 255);
  CHECK(accepted(name255));
  check_refused(name255 + "a");
  check_refused("/queue/" + std::string(1000, 'a'));

  // Counted in bytes, not characters.
  std::string multibyte = "/queue/";
  while (multibyte.size() + 2 <= 255) multibyte += "\xC3\xA9";
  REQUIRE(multibyte.size() == 255);
  CHECK(accepted(multibyte));
  check_refused(multibyte + "z");
  const std::string with_emoji = "/topic/" + std::string(244, 'a') + "\xF0\x9F\x93\xB0";
  REQUIRE(with_emoji.size() == 255);
  CHECK(accepted(with_emoji));
}

TEST_CASE("check_channel: spaces, control characters and DEL are refused anywhere") {
  for (int c = 0; c <= 0x20; ++c) {
    const std::string ch(1, static_cast<char>(c));
    CAPTURE(c);
    check_refused("/topic/" + ch);
    check_refused("/topic/a" + ch + "b");
    check_refused("/queue/a" + ch);
    check_refused(ch + "/topic/a");
  }
  check_refused("/topic/\x7F");
  check_refused("/topic/a\x7Fz");
  check_refused("/topic/a b");
  // C1 controls U+0080..U+009F are control characters too; U+00A0 is the first after them.
  for (int c = 0x80; c <= 0x9F; ++c) {
    CAPTURE(c);
    check_refused("/topic/\xC2" + std::string(1, static_cast<char>(c)));
  }
  CHECK(accepted("/topic/\xC2\xA0"));
  CHECK(accepted("/topic/~"));
  CHECK(accepted("/topic/!"));
}

TEST_CASE("check_channel: invalid UTF-8 is refused") {
  const std::vector<std::string_view> invalid = {
      "\x80",                      // lone continuation byte
      "\xBF",                      // lone continuation byte
      "a\x80z",                    // continuation after ASCII
      "\xC0\x80",                  // overlong NUL
      "\xC0\xAF",                  // overlong '/'
      "\xC1\xBF",                  // overlong U+007F
      "\xE0\x80\x80",              // overlong, 3 bytes
      "\xE0\x9F\xBF",              // overlong U+07FF
      "\xF0\x80\x80\x80",          // overlong, 4 bytes
      "\xF0\x8F\xBF\xBF",          // overlong U+FFFF
      "\xED\xA0\x80",              // surrogate U+D800
      "\xED\xAD\xBF",              // surrogate U+DB7F
      "\xED\xB0\x80",              // surrogate U+DC00
      "\xED\xBF\xBF",              // surrogate U+DFFF
      "\xF4\x90\x80\x80",          // U+110000
      "\xF5\x80\x80\x80",          // lead beyond U+10FFFF
      "\xF8\x88\x80\x80\x80",      // 5-byte form
      "\xFC\x84\x80\x80\x80\x80",  // 6-byte form
      "\xFE",                      // never a UTF-8 byte
      "\xFF",                      // never a UTF-8 byte
      "\xC3",                      // truncated 2-byte at the end
      "\xE2\x82",                  // truncated 3-byte at the end
      "\xE2",                      // truncated 3-byte at the end
      "\xF0\x9F\x93",              // truncated 4-byte at the end
      "\xF0\x9F",                  // truncated 4-byte at the end
      "\xC3z",                     // truncated 2-byte before ASCII
      "\xE2\x28\xA1",              // bad second byte
      "\xE2\x82\x28",              // bad third byte
      "\xF0\x9F\x93\x28",          // bad fourth byte
      "\xC3\xA9\xA9",              // one continuation too many
  };
  for (const std::string_view rest : invalid) {
    CAPTURE(hex(rest));
    check_refused("/topic/" + std::string(rest));
    check_refused("/queue/ok" + std::string(rest) + "ok");
  }
}

TEST_CASE("check_channel: valid multibyte characters at every boundary are accepted") {
  const std::vector<std::string_view> valid = {
      "\xC2\xA1",          // U+00A1, the first printable 2-byte character
      "\xDF\xBF",          // U+07FF, the last 2-byte
      "\xE0\xA0\x80",      // U+0800, the first 3-byte
      "\xED\x9F\xBF",      // U+D7FF, just below the surrogates
      "\xEE\x80\x80",      // U+E000, just above them
      "\xEF\xBF\xBD",      // U+FFFD
      "\xEF\xBF\xBF",      // U+FFFF
      "\xF0\x90\x80\x80",  // U+10000, the first 4-byte
      "\xF4\x8F\xBF\xBF",  // U+10FFFF, the last code point
  };
  for (const std::string_view rest : valid) {
    CAPTURE(hex(rest));
    CHECK(accepted("/topic/" + std::string(rest)));
    CHECK(accepted("/queue/a" + std::string(rest) + "b"));
  }
}

TEST_CASE("check_channel agrees with a reference decoder on every 1- and 2-byte rest") {
  for (int a = 0; a <= 0xFF; ++a) {
    const std::string one(1, static_cast<char>(a));
    CAPTURE(a);
    CHECK(accepted("/topic/" + one) == reference_rest_ok(one));
    CHECK(accepted("/topic/" + one) == (a > 0x20 && a < 0x7F));
    for (int b = 0; b <= 0xFF; ++b) {
      const std::string two = one + static_cast<char>(b);
      if (accepted("/topic/" + two) != reference_rest_ok(two)) {
        FAIL_CHECK("disagreement on " << hex(two));
      }
    }
  }
}

TEST_CASE("check_channel agrees with a reference decoder on 3- and 4-byte rests") {
  // Every lead byte of a multibyte form and every second byte, with third and fourth bytes from
  // the values where the rules change.
  const std::vector<unsigned char> edges = {0x00, 0x20, 0x41, 0x7F, 0x80, 0x8F, 0x90,
                                            0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0,
                                            0xED, 0xF0, 0xF4, 0xF5, 0xFF};
  const std::vector<unsigned char> fourths = {0x20, 0x7F, 0x80, 0xBF, 0xC0};
  std::size_t checked = 0;
  for (int lead = 0xC0; lead <= 0xFF; ++lead) {
    for (int second = 0; second <= 0xFF; ++second) {
      for (const unsigned char third : edges) {
        const std::string three = {static_cast<char>(lead), static_cast<char>(second),
                                   static_cast<char>(third)};
        if (accepted("/queue/" + three) != reference_rest_ok(three)) {
          FAIL_CHECK("disagreement on " << hex(three));
        }
        ++checked;
        if (lead < 0xF0) continue;
        for (const unsigned char fourth : fourths) {
          const std::string four = three + static_cast<char>(fourth);
          if (accepted("/queue/" + four) != reference_rest_ok(four)) {
            FAIL_CHECK("disagreement on " << hex(four));
          }
          ++checked;
        }
      }
    }
  }
  CHECK(checked > 100000);
}

TEST_CASE("valid_pb0_channel: 1-255 bytes, not starting with a control character") {
  CHECK(valid_pb0_channel("/null"));
  CHECK(valid_pb0_channel("x"));
  CHECK(valid_pb0_channel("/topic/x"));
  CHECK(valid_pb0_channel("/queue"));
  CHECK(valid_pb0_channel("my channel"));                 // spaces are fine in PB0
  CHECK(valid_pb0_channel("\xFF\xFE"));                   // so is invalid UTF-8
  CHECK(valid_pb0_channel(std::string_view("a\0b", 3)));  // only the first byte matters
  CHECK_FALSE(valid_pb0_channel("\x01"));
  CHECK_FALSE(valid_pb0_channel("\x1F/topic/x"));
  CHECK(valid_pb0_channel(" leading space"));
  CHECK(opens_pb1(std::string_view("\0PB", 3)));
  CHECK(opens_pb1("\x02"));
  CHECK_FALSE(opens_pb1("/null"));
  CHECK_FALSE(opens_pb1(""));
  CHECK_FALSE(valid_pb0_channel(""));
  CHECK_FALSE(valid_pb0_channel(std::string_view("\0", 1)));
  CHECK_FALSE(valid_pb0_channel(std::string_view("\0/topic/x", 9)));
  CHECK_FALSE(valid_pb0_channel(unhex("00 5042 01 0000 0000")));  // a PB1 HELLO body
  CHECK(valid_pb0_channel(std::string(255, 'a')));
  CHECK_FALSE(valid_pb0_channel(std::string(256, 'a')));
}

TEST_CASE("channel_kind: a name starting with /queue is a queue, anything else a topic") {
  static_assert(channel_kind("/queue/x") == ChannelKind::queue);
  static_assert(channel_kind("/topic/x") == ChannelKind::topic);
  CHECK(channel_kind("/queue") == ChannelKind::queue);
  CHECK(channel_kind("/queue/jobs") == ChannelKind::queue);
  CHECK(channel_kind("/queuex") == ChannelKind::queue);  // the prototype's prefix rule
  CHECK(channel_kind("/topic/news") == ChannelKind::topic);
  CHECK(channel_kind("/null") == ChannelKind::topic);
  CHECK(channel_kind("") == ChannelKind::topic);
  CHECK(channel_kind("/queu") == ChannelKind::topic);
  CHECK(channel_kind("/Queue/x") == ChannelKind::topic);
  CHECK(channel_kind("queue/x") == ChannelKind::topic);
  CHECK(channel_kind(" /queue/x") == ChannelKind::topic);
}

TEST_CASE("channel_kind agrees with check_channel on every valid PB1 name") {
  for (const std::string_view name : {"/topic/a", "/queue/a", "/topic/queue", "/queue/topic"}) {
    CAPTURE(name);
    const auto kind = check_channel(name);
    REQUIRE(kind.ok());
    CHECK(*kind == channel_kind(name));
  }
}

TEST_CASE("max_channel_size is 255") {
  CHECK(max_channel_size == 255);
}

// Wildcards (issue 9): after "/topic/" a segment exactly "*" matches one segment and a last
// segment exactly ">" one or more; anywhere else they are literal characters.
TEST_CASE("is_pattern: a '*' segment anywhere or a '>' last segment after /topic/") {
  for (const std::string_view name :
       {"/topic/*", "/topic/>", "/topic/news/*", "/topic/news/>", "/topic/*/b", "/topic/a/*/c",
        "/topic/*/>", "/topic/*/*", "/topic//*", "/topic/*/", "/topic///>"}) {
    CAPTURE(name);
    CHECK(is_pattern(name));
    CHECK(has_wildcard_segment(name));
  }
  for (const std::string_view name :
       {"/topic/news", "/topic/a*", "/topic/*a", "/topic/>b", "/topic/a>", "/topic/**", "/topic/>>",
        "/topic/news/a*b/c", "/topic/", "/topic", "/topics/*", "*", ">", "news/*", "/null/*",
        "/queue/*", "/queue/>", "/queue/a/*"}) {
    CAPTURE(name);
    CHECK_FALSE(is_pattern(name));
  }
  // '>' not last is no pattern, but it is still a wildcard segment: nobody may publish there.
  for (const std::string_view name : {"/topic/>/a", "/topic/>/>", "/topic/a/>/", "/topic/>/*"}) {
    CAPTURE(name);
    CHECK_FALSE(is_pattern(name));
    CHECK(has_wildcard_segment(name));
  }
  for (const std::string_view name : {"/topic/a*", "/topic/>b", "news/*", "/null/>", "/topic"}) {
    CAPTURE(name);
    CHECK_FALSE(has_wildcard_segment(name));
  }
}

TEST_CASE("check_subscription: wildcards on /topic only, '>' only last") {
  const std::vector<std::string_view> topics = {
      "/topic/news", "/topic/*",   "/topic/>",     "/topic/news/*", "/topic/news/>",
      "/topic/*/b",  "/topic/*/>", "/topic//*",    "/topic/a*",     "/topic/>b",
      "/topic/a>/b", "/topic/**",  "/topic/*/*/*", "/topic/*//",    "/topic//"};
  for (const std::string_view name : topics) {
    CAPTURE(name);
    const auto kind = check_subscription(name);
    REQUIRE(kind.ok());
    CHECK(*kind == ChannelKind::topic);
  }
  for (const std::string_view name : {"/queue/jobs", "/queue/a*", "/queue/>b", "/queue//"}) {
    CAPTURE(name);
    const auto kind = check_subscription(name);
    REQUIRE(kind.ok());
    CHECK(*kind == ChannelKind::queue);
  }
  for (const std::string_view name : {"/queue/*",
                                      "/queue/>",
                                      "/queue/jobs/*",
                                      "/queue/*/jobs",
                                      "/queue/a/>",
                                      "/topic/>/a",
                                      "/topic/>/",
                                      "/topic/a/>/b",
                                      "/topic/>/>",
                                      "/topic/>/*",
                                      "/topic/",
                                      "/topic",
                                      "/*",
                                      ">",
                                      "/topic/* ",
                                      "/topic/\x7F/*",
                                      "/topic/*/\xC0\xAF",
                                      "/topic/_reply/*",
                                      "/topic/_reply/>",
                                      "/topic/_reply/abc/*"}) {
    CAPTURE(hex(name));
    const auto result = check_subscription(name);
    CHECK_FALSE(result.ok());
    CHECK(result.error() == Errc::bad_channel);
  }
}

TEST_CASE("check_publish_channel: any wildcard segment is refused, literal '*' and '>' are not") {
  for (const std::string_view name : {"/topic/news", "/topic/news/sports", "/topic/a*", "/topic/>b",
                                      "/topic/a/b*c/>>", "/topic//", "/queue/jobs", "/queue/a*"}) {
    CAPTURE(name);
    const auto kind = check_publish_channel(name);
    REQUIRE(kind.ok());
    CHECK(*kind == channel_kind(name));
  }
  for (const std::string_view name :
       {"/topic/*", "/topic/>", "/topic/news/*", "/topic/news/>", "/topic/*/b", "/topic/>/a",
        "/topic/a/>/", "/topic//*", "/queue/*", "/queue/jobs/>", "/topic/", "/topic/a b"}) {
    CAPTURE(name);
    const auto result = check_publish_channel(name);
    CHECK_FALSE(result.ok());
    CHECK(result.error() == Errc::bad_channel);
  }
}

TEST_CASE("check_channel still takes wildcard names as it did; the new checks add the rules") {
  for (const std::string_view name : {"/topic/*", "/topic/>/a", "/queue/*", "/queue/>"}) {
    CAPTURE(name);
    CHECK(accepted(name));
  }
}

}  // namespace
}  // namespace paperboy::protocol
