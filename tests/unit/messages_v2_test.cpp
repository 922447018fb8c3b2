// PB1 version 2 frames (PROTOCOL.md, "Version 2"): the new and changed layouts, the header block,
// and that a version 1 connection's bytes do not change.
#include <doctest/doctest.h>

#include <cstddef>
#include <fstream>
#include <ostream>  // doctest prints std::error_code through it
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/headers.hpp"
#include "paperboy/protocol/messages.hpp"
#include "paperboy/protocol/msg_layout.hpp"
#include "samples.hpp"

namespace paperboy::protocol {
namespace {

using test::body_of;
using test::describe;
using test::hex;
using test::same_fields;
using test::unhex;

constexpr std::uint8_t v2 = pb1_version_2;

std::string content_type_block() {
  HeaderBuilder b;
  REQUIRE(b.add("content-type", "text/plain"));
  return std::string(b.bytes());
}

Message check_decodes_v2(std::string_view body) {
  auto decoded = decode(body, v2);
  REQUIRE_MESSAGE(decoded.ok(), "refused " << hex(body) << ": " << decoded.error().message());
  return *decoded;
}
Message check_decodes_v2(std::string&& body) = delete;

void check_malformed_v2(std::string_view body) {
  const auto decoded = decode(body, v2);
  CHECK_MESSAGE(!decoded.ok(), "decoded " << hex(body));
  CHECK_MESSAGE(decoded.error() == Errc::protocol, "body " << hex(body));
}

void check_round_trip_v2(const Message& m) {
  const std::string frame = encode_frame(m, v2);
  REQUIRE(frame.size() == frame_header_size + encoded_body_size(m, v2));
  const FrameParse parsed = parse_frame(frame, test::max_u32);
  REQUIRE(parsed.status == FrameStatus::frame);
  const Message back = check_decodes_v2(parsed.body);
  CHECK_MESSAGE(same_fields(back, m), describe(back, v2) << " != " << describe(m, v2));
  // The encoding is canonical: what decodes re-encodes to the same bytes.
  CHECK(encode_frame(back, v2) == frame);
}

// The examples of PROTOCOL.md's "Version 2" section, field by field as printed there.
const std::vector<std::pair<Message, std::string>>& documented_v2_frames() {
  static const std::string headers = content_type_block();
  static const std::vector<std::pair<Message, std::string>> frames = {
      {Hello{2, "billing-7", ""},
       "00 00 00 11  00  50 42  02  00 09 62 69 6c 6c 69 6e 67 2d 37  00 00"},
      {Welcome{2, 1048576, "paperboyd", "0.2.0"},
       "00 00 00 18  01  02  00 10 00 00  00 09 70 61 70 65 72 62 6f 79 64  "
       "00 05 30 2e 32 2e 30"},
      {Pub{4, "/topic/news", "", "hello", pub_flag_require_subscriber, 5000, headers},
       "00 00 00 39  04  00 00 00 04  01  00 00 13 88  "
       "00 0b 2f 74 6f 70 69 63 2f 6e 65 77 73  00 00  "
       "00 19  0c 63 6f 6e 74 65 6e 74 2d 74 79 70 65  00 0a 74 65 78 74 2f 70 6c 61 69 6e  "
       "68 65 6c 6c 6f"},
      {Msg{0, 0, "/topic/news", "", "hello", 1796601600123456789, headers},
       "00 00 00 41  05  00 00 00 00 00 00 00 00  00  18 ee cf a2 f2 41 cd 15  "
       "00 0b 2f 74 6f 70 69 63 2f 6e 65 77 73  00 00  "
       "00 19  0c 63 6f 6e 74 65 6e 74 2d 74 79 70 65  00 0a 74 65 78 74 2f 70 6c 61 69 6e  "
       "68 65 6c 6c 6f"},
      {Blocked{"/queue/jobs"}, "00 00 00 0e  0d  00 0b 2f 71 75 65 75 65 2f 6a 6f 62 73"},
      {Unblocked{"/queue/jobs"}, "00 00 00 0e  0e  00 0b 2f 71 75 65 75 65 2f 6a 6f 62 73"},
      {Err{4, static_cast<std::uint16_t>(Errc::no_subscribers), "no subscribers"},
       "00 00 00 15  09  00 00 00 04  00 0b  6e 6f 20 73 75 62 73 63 72 69 62 65 72 73"},
  };
  return frames;
}

// One sample of each op as a version 2 connection sends it, every rest-of-frame field empty so
// that every strict prefix of each body cuts a field.
std::vector<Message> compact_v2_samples() {
  static const std::string headers = content_type_block();
  auto samples = test::compact_samples();
  samples[static_cast<std::size_t>(Op::hello)] = Hello{2, "cli", "tk"};
  samples[static_cast<std::size_t>(Op::welcome)] = Welcome{2, 1048576, "pb-1", "0.2.0"};
  samples[static_cast<std::size_t>(Op::pub)] = Pub{9, "/topic/news", "r", "", 1, 250, headers};
  samples[static_cast<std::size_t>(Op::msg)] =
      Msg{7, msg_flag_redelivered, "/queue/q", "/topic/r", "", test::max_u64, headers};
  samples.emplace_back(Blocked{"/queue/jobs"});
  samples.emplace_back(Unblocked{"/queue/jobs"});
  return samples;
}

// The frames of the ``` blocks in PROTOCOL.md's "Version 2" section: each line's leading
// two-digit hex tokens, up to its description.
std::vector<std::string> frames_documented_in_protocol_md() {
  std::ifstream file(PAPERBOY_PROTOCOL_MD);
  REQUIRE(file.is_open());
  std::vector<std::string> frames;
  bool in_section = false;
  bool in_block = false;
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Version 2";
    if (!in_section) continue;
    if (line.rfind("```", 0) == 0) {
      in_block = !in_block;
      if (in_block) frames.emplace_back();
      continue;
    }
    if (!in_block) continue;
    std::istringstream tokens(line);
    std::string token;
    while (tokens >> token && token.size() == 2 &&
           token.find_first_not_of("0123456789abcdef") == std::string::npos) {
      frames.back() += token;
    }
  }
  return frames;
}

TEST_CASE("v2: PROTOCOL.md shows exactly the bytes the encoder writes") {
  const auto documented = frames_documented_in_protocol_md();
  const auto& expected = documented_v2_frames();
  REQUIRE(documented.size() == expected.size());
  for (std::size_t i = 0; i < documented.size(); ++i) {
    CAPTURE(i);
    CHECK(documented[i] == hex(encode_frame(expected[i].first, v2)));
  }
}

TEST_CASE("v2: every new or changed frame encodes to the documented bytes and decodes back") {
  for (const auto& frame_and_hex : documented_v2_frames()) {
    // Not a structured binding: clang 14 cannot capture one (CAPTURE is a lambda).
    const auto& message = frame_and_hex.first;
    const auto& documented = frame_and_hex.second;
    CAPTURE(documented);
    CHECK(hex(encode_frame(message, v2)) == hex(unhex(documented)));
    const std::string frame = unhex(documented);
    const FrameParse parsed = parse_frame(frame, max_frame_body(default_max_payload));
    REQUIRE(parsed.status == FrameStatus::frame);
    const Message decoded = check_decodes_v2(parsed.body);
    const Message& expected = message;
    CHECK_MESSAGE(same_fields(decoded, expected), describe(decoded, v2));
  }
}

TEST_CASE("v2: round trip of every op, edge values included") {
  const std::string long_block = [] {
    HeaderBuilder b;
    while (b.add("k", std::string(1000, '\0'))) {
    }
    return std::string(b.bytes());
  }();
  REQUIRE(long_block.size() > max_header_block_size - 1004);
  const std::string payload = test::binary(70000);
  const std::string channel255 = "/topic/" + std::string(248, 'c');
  std::vector<Message> samples = compact_v2_samples();
  samples.insert(
      samples.end(),
      {Pub{0, "", "", "", 0, 0, ""},
       Pub{test::max_u32, channel255, channel255, payload, 0xFF, test::max_u32, long_block},
       Msg{0, 0, "", "", "", 0, ""},
       Msg{test::max_u64, 0xFF, channel255, channel255, payload, 1, long_block},
       Welcome{2, 0, "", ""}, Welcome{0xFF, 7, "x", "9.9.9"}, Blocked{""}, Unblocked{channel255}});
  for (const Message& m : samples) {
    CAPTURE(static_cast<int>(op_of(m)));
    check_round_trip_v2(m);
  }
}

TEST_CASE("v2: every truncation of every op is malformed, and decode_pub and decode_msg agree") {
  for (const Message& m : compact_v2_samples()) {
    const std::string body = body_of(m, v2);
    CAPTURE(describe(m, v2));
    for (std::size_t n = 0; n < body.size(); ++n) {
      CAPTURE(n);
      const std::string_view prefix(body.data(), n);
      check_malformed_v2(prefix);
      CHECK_FALSE(decode_pub(prefix, v2).has_value());
      CHECK_FALSE(decode_msg(prefix, v2).has_value());
    }
    check_decodes_v2(body);
    CHECK(decode_pub(body, v2).has_value() == (op_of(m) == Op::pub));
    CHECK(decode_msg(body, v2).has_value() == (op_of(m) == Op::msg));
    if (const auto msg = decode_msg(body, v2)) CHECK(same_fields(Message{*msg}, *decode(body, v2)));
  }
}

TEST_CASE("v2: BLOCKED and UNBLOCKED are not ops of version 1") {
  for (const Message& m : {Message{Blocked{"/queue/jobs"}}, Message{Unblocked{"/queue/jobs"}}}) {
    const std::string body = body_of(m, v2);
    CHECK(decode(body, v2).ok());
    CHECK(decode(body).error() == Errc::protocol);
  }
  for (int op = 0x0F; op <= 0xFF; ++op) {
    CAPTURE(op);
    check_malformed_v2(std::string(1, static_cast<char>(op)) +
                       unhex("000b 2f71756575652f6a6f6273"));
  }
  CHECK(op_name(Op::blocked) == "BLOCKED");
  CHECK(op_name(Op::unblocked) == "UNBLOCKED");
}

TEST_CASE("v2: a version 1 connection's PUB, MSG and WELCOME are byte for byte as before") {
  const std::string headers = content_type_block();
  const Pub v2_pub{9, "/topic/news", "r", "hi", pub_flag_require_subscriber, 100, headers};
  CHECK(hex(encode_frame(v2_pub)) ==
        hex(unhex("00000017 04 00000009 000b 2f746f7069632f6e657773 0001 72 6869")));
  const Msg v2_msg{0x0102030405060708, 1, "/topic/news", "", "hi", 99, headers};
  CHECK(hex(encode_frame(v2_msg)) ==
        hex(unhex("0000001b 05 0102030405060708 01 000b 2f746f7069632f6e657773 0000 6869")));
  // WELCOME is read by its own version byte: version 1 has no server version on the wire.
  CHECK(hex(encode_frame(Welcome{1, 1048576, "pb-1", "0.2.0"})) ==
        hex(unhex("0000000c 01 01 00100000 0004 70622d31")));

  // A version 1 body decodes with the version 2 fields empty.
  const std::string body = body_of(v2_pub);
  const Message m = [&body] {
    auto decoded = decode(body);
    REQUIRE(decoded.ok());
    return *decoded;
  }();
  const auto& pub = std::get<Pub>(m);
  CHECK(pub.flags == 0);
  CHECK(pub.ttl_ms == 0);
  CHECK(pub.headers.empty());
  CHECK(pub.payload == "hi");
}

TEST_CASE("v2: HELLO of version 2 has version 1's layout and must be well formed") {
  const std::string body = body_of(Hello{2, "name", "tok"});
  const Message m = check_decodes_v2(body);
  CHECK(std::get<Hello>(m).client_name == "name");
  CHECK(std::get<Hello>(m).token == "tok");
  // The connection's version does not matter for HELLO: it is the first frame.
  CHECK(decode(body_of(Hello{2, "name", "tok"})).ok());
  for (const char* bad :
       {"00 5042 02", "00 5042 02 ff", "00 5042 02 0005 6869", "00 5042 02 0000 0000 00"}) {
    CAPTURE(bad);
    CHECK(decode(unhex(bad)).error() == Errc::protocol);
  }
}

TEST_CASE("v2: the require-a-subscriber flag is bit 0 and no_subscribers keeps the connection") {
  Pub pub;
  CHECK_FALSE(pub.require_subscriber());
  pub.flags = 0xFE;
  CHECK_FALSE(pub.require_subscriber());
  pub.flags = pub_flag_require_subscriber;
  CHECK(pub.require_subscriber());
  static_assert(static_cast<int>(Errc::no_subscribers) == 11);
  static_assert(keeps_connection(Errc::no_subscribers));
  CHECK(errc_name(11) == "no_subscribers");
}

TEST_CASE("v2: headers and payload both count against max_payload") {
  const std::string headers = content_type_block();
  CHECK(counted_payload_size(Pub{1, "/topic/a", "", "hello", 0, 0, headers}) == 5 + headers.size());
  CHECK(counted_payload_size(Msg{1, 0, "/topic/a", "", "hello", 0, headers}) == 5 + headers.size());
  CHECK(counted_payload_size(Pub{1, "/topic/a", "", "hello"}) == 5);
}

// A PUB body with this header block (hlen as given) and payload "p".
std::string pub_with_block(std::string_view hlen_hex, std::string_view block) {
  return unhex("04 00000001 00 00000000 0008 2f746f7069632f61 0000") + unhex(hlen_hex) +
         std::string(block) + "p";
}

TEST_CASE("v2: a malformed header block makes the PUB and the MSG malformed") {
  const std::vector<std::pair<const char*, std::string>> bad_blocks = {
      {"klen 0", unhex("00 0001 76")},
      {"key with a space", unhex("03 612062 0001 76")},
      {"key with ':'", unhex("03 613a62 0001 76")},
      {"key with a control byte", unhex("02 6109 0000")},
      {"key with DEL", unhex("02 617f 0000")},
      {"non-ASCII key", unhex("02 c3a9 0000")},
      {"key byte 0x80", unhex("01 80 0000")},
      {"klen past the block", unhex("05 6162")},
      {"no room for vlen", unhex("01 61 00")},
      {"vlen past the block", unhex("01 61 0005 7878")},
      {"a good entry, then a cut one", unhex("01 61 0000 01")},
  };
  for (const auto& named_block : bad_blocks) {
    const auto& what = named_block.first;
    const auto& block = named_block.second;
    CAPTURE(what);
    CHECK_FALSE(valid_header_block(block));
    const auto hlen = static_cast<std::uint16_t>(block.size());
    const std::string hlen_hex =
        hex(std::string{static_cast<char>(hlen >> 8), static_cast<char>(hlen & 0xFF)});
    const std::string pub = pub_with_block(hlen_hex, block);
    check_malformed_v2(pub);
    CHECK_FALSE(decode_pub(pub, v2).has_value());
    const std::string msg =
        unhex("05 0000000000000000 00 0000000000000001 0008 2f746f7069632f61 0000") +
        unhex(hlen_hex) + block + "p";
    check_malformed_v2(msg);
  }
  // hlen past the end of the body.
  check_malformed_v2(pub_with_block("0010", unhex("01 61 0000")).substr(0, 28));
  check_malformed_v2(unhex("04 00000001 00 00000000 0008 2f746f7069632f61 0000 ffff 0161 0000"));
}

TEST_CASE("v2: header blocks keep order, repeats and binary values; keys are 1-255 bytes") {
  const std::string nul_value("\0a\0\xff", 4);
  const std::string key255(255, 'k');
  HeaderBuilder b;
  REQUIRE(b.add("x-trace", "1"));
  REQUIRE(b.add("x-death-reason", "rejected"));
  REQUIRE(b.add("x-trace", nul_value));
  REQUIRE(b.add("e", ""));
  REQUIRE(b.add(key255, "max key"));
  REQUIRE(b.add("!#$%&'()*+,-./;<=>?@[\\]^_`{|}~", "every other punctuation mark"));
  const std::string block(b.bytes());
  CHECK(valid_header_block(block));

  const Pub pub{1, "/topic/h", "", "payload", 0, 0, block};
  const std::string body = body_of(pub, v2);
  const Message m = check_decodes_v2(body);
  const HeaderBlock headers(std::get<Pub>(m).headers);
  const std::vector<Header> expected = {
      {"x-trace", "1"},       {"x-death-reason", "rejected"},
      {"x-trace", nul_value}, {"e", ""},
      {key255, "max key"},    {"!#$%&'()*+,-./;<=>?@[\\]^_`{|}~", "every other punctuation mark"}};
  const std::vector<Header> got(headers.begin(), headers.end());
  CHECK(got == expected);
  CHECK(headers.find("x-trace") == std::optional<std::string_view>("1"));
  CHECK(headers.find("e") == std::optional<std::string_view>(""));
  CHECK_FALSE(headers.find("absent").has_value());
  CHECK(std::get<Pub>(m).payload == "payload");

  // An empty block is valid and has no entries.
  CHECK(valid_header_block(""));
  CHECK(HeaderBlock("").begin() == HeaderBlock("").end());
}

TEST_CASE("v2: the builder refuses bad keys and a block past 65535 bytes; walking stops safely") {
  HeaderBuilder b;
  for (const std::string_view key :
       {std::string_view(""), std::string_view("a b"), std::string_view("a:b"),
        std::string_view("caf\xC3\xA9"), std::string_view("tab\t"), std::string_view("\x7f")}) {
    CAPTURE(hex(key));
    CHECK_FALSE(valid_header_key(key));
    CHECK_FALSE(b.add(key, "v"));
  }
  CHECK_FALSE(b.add(std::string(256, 'k'), "v"));
  CHECK(b.bytes().empty());

  // 65535 bytes exactly: 1 + 1 + 2 + 65531.
  CHECK(b.add("k", std::string(65531, 'v')));
  CHECK(b.bytes().size() == max_header_block_size);
  CHECK_FALSE(b.add("k", ""));
  CHECK(b.bytes().size() == max_header_block_size);
  CHECK(valid_header_block(b.bytes()));

  // An unchecked block is walked up to its first cut entry.
  const std::string cut = unhex("01 61 0001 78  01 62 0009 79");
  std::vector<Header> walked(HeaderBlock(cut).begin(), HeaderBlock(cut).end());
  REQUIRE(walked.size() == 1);
  CHECK(walked[0] == Header{"a", "x"});
}

TEST_CASE("v2: MsgV2Layout is where decode finds each part, and the delivery header is shared") {
  const std::string headers = content_type_block();
  const std::string payload = test::binary(300);
  for (const std::string_view reply_to : {std::string_view(""), std::string_view("/topic/r")}) {
    for (const std::string_view block : {std::string_view(""), std::string_view(headers)}) {
      const Msg msg{77, msg_flag_redelivered, "/queue/jobs", reply_to, payload, 123456789, block};
      const MsgV2Layout expected =
          msg_v2_layout(msg.channel, msg.reply_to, msg.headers, msg.payload.size());
      std::string frame(expected.frame_size(), '\0');
      const MsgV2Layout layout = write_msg_v2_frame(frame.data(), msg);
      CHECK(frame == encode_frame(msg, v2));
      CHECK(layout.body_size() == encoded_body_size(msg, v2));

      const std::string_view body = std::string_view(frame).substr(frame_header_size);
      const Message m = check_decodes_v2(body);
      const auto& decoded = std::get<Msg>(m);
      CHECK(layout.channel_in(body).data() == decoded.channel.data());
      CHECK(layout.reply_to_in(body) == decoded.reply_to);
      CHECK(layout.headers_in(body).data() == decoded.headers.data());
      CHECK(layout.headers_in(body) == block);
      CHECK(layout.payload_in(body).data() == decoded.payload.data());
      CHECK(msg_published_at(body) == 123456789);
      CHECK(msg_delivery(body) == 77);

      const MsgV2Layout read_back = written_msg_v2_layout(frame);
      CHECK(read_back.channel_size == layout.channel_size);
      CHECK(read_back.reply_to_size == layout.reply_to_size);
      CHECK(read_back.headers_size == layout.headers_size);
      CHECK(read_back.payload_size == layout.payload_size);

      // Another delivery of the same message: its own 14 bytes, then the shared rest.
      std::string other = frame;
      write_msg_delivery_header(other.data(), other.size(), 5, 0);
      const Message again = check_decodes_v2(std::string_view(other).substr(frame_header_size));
      const auto& redelivered = std::get<Msg>(again);
      CHECK(redelivered.delivery == 5);
      CHECK(redelivered.flags == 0);
      CHECK(redelivered.published_at == 123456789);
      CHECK(redelivered.headers == block);
    }
  }
  static_assert(MsgV2Layout::delivery_offset == 1);
  static_assert(MsgV2Layout::flags_offset == 9);
  static_assert(MsgV2Layout::published_at_offset == 10);
  static_assert(MsgV2Layout::names_offset == 18);
  static_assert(msg_delivery_header_size == frame_header_size + MsgV2Layout::published_at_offset);
}

}  // namespace
}  // namespace paperboy::protocol
