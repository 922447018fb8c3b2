#include "paperboy/protocol/messages.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "paperboy/protocol/frame.hpp"
#include "samples.hpp"

namespace paperboy::protocol {
namespace {

using test::body_of;
using test::compact_samples;
using test::describe;
using test::edge_samples;
using test::hex;
using test::same_fields;
using test::unhex;

// Decodes a body that must be refused as malformed.
void check_protocol_error(std::string_view body) {
  const auto decoded = decode(body);
  CHECK_MESSAGE(!decoded.ok(), "decoded " << hex(body));
  CHECK_MESSAGE(decoded.error() == Errc::protocol, "body " << hex(body));
}

// Decodes a body that must be accepted, and returns the message.
Message check_decodes(std::string_view body) {
  auto decoded = decode(body);
  REQUIRE_MESSAGE(decoded.ok(), "refused " << hex(body) << ": " << decoded.error().message());
  return *decoded;
}
// The decoded fields are views into the body: it must outlive them.
Message check_decodes(std::string&& body) = delete;

// encode_frame → parse_frame → decode, and the fields must come back unchanged.
void check_round_trip(const Message& m) {
  const std::string frame = encode_frame(m);
  REQUIRE(frame.size() == frame_header_size + encoded_body_size(m));
  const FrameParse parsed = parse_frame(frame, test::max_u32);
  REQUIRE(parsed.status == FrameStatus::frame);
  CHECK(parsed.declared_length == encoded_body_size(m));
  CHECK(parsed.body.size() == encoded_body_size(m));
  CHECK(static_cast<unsigned char>(parsed.body.front()) == static_cast<unsigned>(op_of(m)));
  const Message back = check_decodes(parsed.body);
  CHECK(op_of(back) == op_of(m));
  CHECK_MESSAGE(same_fields(back, m), describe(back) << " != " << describe(m));
}

// True for the ops whose last field runs to the end of the frame (payload or text).
bool has_rest_field(Op op) {
  return op == Op::pub || op == Op::msg || op == Op::err;
}

// The wire layout, written out by hand from the spec (not produced by the encoder under test).
const std::vector<std::pair<Message, std::string>>& golden_frames() {
  static const std::vector<std::pair<Message, std::string>> frames = {
      {Hello{1, "cli", "tk"}, "0000000d 00 5042 01 0003 636c69 0002 746b"},
      {Welcome{1, 1048576, "pb-1"}, "0000000c 01 01 00100000 0004 70622d31"},
      {Sub{7, 1, 16, "/queue/jobs"}, "00000015 02 00000007 01 0010 000b 2f71756575652f6a6f6273"},
      {Unsub{8, "/topic/news"}, "00000012 03 00000008 000b 2f746f7069632f6e657773"},
      {Pub{9, "/topic/news", "r", "hi"},
       "00000017 04 00000009 000b 2f746f7069632f6e657773 0001 72 6869"},
      {Msg{0x0102030405060708, 1, "/topic/news", "", "hi"},
       "0000001b 05 0102030405060708 01 000b 2f746f7069632f6e657773 0000 6869"},
      {Ack{42}, "00000009 06 000000000000002a"},
      {Nack{43}, "00000009 07 000000000000002b"},
      {Ok{9}, "00000005 08 00000009"},
      {Err{9, 3, "bad"}, "0000000a 09 00000009 0003 626164"},
      {Ping{0xDEADBEEF}, "00000009 0a 00000000deadbeef"},
      {Pong{0xDEADBEEF}, "00000009 0b 00000000deadbeef"},
      {Gap{5, "/topic/news"}, "00000016 0c 0000000000000005 000b 2f746f7069632f6e657773"},
  };
  return frames;
}

TEST_CASE("every op encodes to the byte layout of the spec") {
  const auto& frames = golden_frames();
  REQUIRE(frames.size() == test::v1_op_count);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto& [message, expected_hex] = frames[i];
    CAPTURE(i);
    REQUIRE(static_cast<std::size_t>(op_of(message)) == i);
    CHECK(hex(encode_frame(message)) == hex(unhex(expected_hex)));
  }
}

TEST_CASE("every op decodes from the byte layout of the spec") {
  for (const auto& [message, expected_hex] : golden_frames()) {
    const std::string frame = unhex(expected_hex);
    const FrameParse parsed = parse_frame(frame, max_frame_body(default_max_payload));
    REQUIRE(parsed.status == FrameStatus::frame);
    const Message decoded = check_decodes(parsed.body);
    const Message& expected = message;  // clang 14 cannot capture a structured binding
    CHECK_MESSAGE(same_fields(decoded, expected), describe(decoded)
                                                      << " != " << describe(expected));
  }
}

TEST_CASE("round trip of one message of each op") {
  const auto samples = compact_samples();
  REQUIRE(samples.size() == test::v1_op_count);
  for (const Message& m : samples) {
    CAPTURE(describe(m));
    check_round_trip(m);
  }
}

TEST_CASE("round trip of edge values: zeros, all ones, empty and 64 KiB strings, binary") {
  const auto samples = edge_samples();
  std::vector<bool> seen(test::v1_op_count, false);
  for (const Message& m : samples) {
    CAPTURE(static_cast<int>(op_of(m)));
    check_round_trip(m);
    seen[m.index()] = true;
  }
  for (std::size_t op = 0; op < seen.size(); ++op) {
    CAPTURE(op);
    CHECK(seen[op]);
  }
}

TEST_CASE("op_of is the variant index and the first body byte") {
  const auto samples = compact_samples();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    CAPTURE(i);
    CHECK(static_cast<std::size_t>(op_of(samples[i])) == i);
    CHECK(static_cast<std::size_t>(static_cast<unsigned char>(body_of(samples[i]).front())) == i);
  }
  static_assert(static_cast<int>(Op::hello) == 0x00);
  static_assert(static_cast<int>(Op::gap) == 0x0C);
  static_assert(test::v1_op_count == 13);
  static_assert(std::variant_size_v<Message> == 15);  // BLOCKED and UNBLOCKED are version 2
}

TEST_CASE("encoding entry points agree") {
  for (const Message& m : edge_samples()) {
    CAPTURE(static_cast<int>(op_of(m)));
    const std::string frame = encode_frame(m);
    const std::size_t body_size = encoded_body_size(m);

    // The prefix is the body length, big-endian.
    std::string header(frame_header_size, '\0');
    write_frame_header(header.data(), static_cast<std::uint32_t>(body_size));
    CHECK(frame.substr(0, frame_header_size) == header);

    // write_frame fills exactly frame_header_size + encoded_body_size bytes.
    std::string out(frame.size() + 8, '\x55');
    char* end = write_frame(m, out.data());
    CHECK(end == out.data() + frame.size());
    CHECK(out.substr(0, frame.size()) == frame);
    CHECK(out.substr(frame.size()) == std::string(8, '\x55'));

    // append_frame keeps what was there.
    std::string appended = "xyz";
    append_frame(appended, m);
    append_frame(appended, m);
    CHECK(appended == "xyz" + frame + frame);
  }
}

TEST_CASE("PB0 raw frames are the length prefix and the bytes") {
  std::string out;
  append_raw_frame(out, "");
  CHECK(out == unhex("00000000"));
  append_raw_frame(out, "/null");
  CHECK(out == unhex("00000000 00000005 2f6e756c6c"));
  const std::string big = test::binary(70000);
  std::string framed;
  append_raw_frame(framed, big);
  CHECK(framed.substr(0, 4) == unhex("00011170"));
  CHECK(framed.substr(4) == big);
}

TEST_CASE("decoded fields are views into the body") {
  const std::string body = body_of(Pub{3, "/topic/a", "/topic/r", "payload"});
  const Message m = check_decodes(body);
  const auto& pub = std::get<Pub>(m);
  const auto inside = [&body](std::string_view s) {
    return s.data() >= body.data() && s.data() + s.size() <= body.data() + body.size();
  };
  CHECK(inside(pub.channel));
  CHECK(inside(pub.reply_to));
  CHECK(inside(pub.payload));
  CHECK(pub.payload.data() + pub.payload.size() == body.data() + body.size());
}

TEST_CASE("msg_payload_offset is where decode finds the payload") {
  const std::string reply255(255, 'r');
  const std::string payload = test::binary(300);
  const std::vector<std::string_view> channels = {"", "/topic/x", "/queue/jobs"};
  const std::vector<std::string_view> replies = {"", "/topic/reply", reply255};
  const std::vector<std::string_view> payloads = {"", "x", payload};
  for (const auto channel : channels) {
    for (const auto reply_to : replies) {
      for (const auto data : payloads) {
        const std::string body = body_of(Msg{77, 0, channel, reply_to, data});
        const std::size_t offset = msg_payload_offset(channel, reply_to);
        CAPTURE(offset);
        REQUIRE(offset + data.size() == body.size());
        CHECK(body.substr(offset) == data);
        const Message m = check_decodes(body);
        const auto& msg = std::get<Msg>(m);
        CHECK(msg.payload.data() == body.data() + offset);
        CHECK(msg.payload == data);
      }
    }
  }
}

TEST_CASE("flag helpers read bit 0 only") {
  CHECK_FALSE(Sub{1, 0x00, 0, "/queue/q"}.manual_ack());
  CHECK(Sub{1, 0x01, 0, "/queue/q"}.manual_ack());
  CHECK_FALSE(Sub{1, 0xFE, 0, "/queue/q"}.manual_ack());
  CHECK(Sub{1, 0xFF, 0, "/queue/q"}.manual_ack());
  CHECK_FALSE(Msg{1, 0x00, "/queue/q", "", ""}.redelivered());
  CHECK(Msg{1, 0x01, "/queue/q", "", ""}.redelivered());
  CHECK_FALSE(Msg{1, 0xFE, "/queue/q", "", ""}.redelivered());
  CHECK(Msg{1, 0xFF, "/queue/q", "", ""}.redelivered());

  // Flags travel as they are: unknown bits are not the codec's to clear.
  const std::string body = body_of(Sub{1, 0xFE, 0, "/queue/q"});
  const Message m = check_decodes(body);
  CHECK(std::get<Sub>(m).flags == 0xFE);
}

TEST_CASE("an empty body is malformed") {
  check_protocol_error("");
}

TEST_CASE("unknown ops 0x0D..0xFF are malformed") {
  for (int op = 0x0D; op <= 0xFF; ++op) {
    CAPTURE(op);
    const char op_byte = static_cast<char>(op);
    check_protocol_error(std::string(1, op_byte));
    check_protocol_error(std::string(1, op_byte) + std::string(8, '\0'));
    // Even followed by what would be a valid body for a known op. (Overwriting the op byte in
    // place, rather than string + string, also keeps g++ 12 -O3's false -Wrestrict away.)
    std::string sub_body = body_of(Sub{1, 0, 0, "/topic/x"});
    sub_body[0] = op_byte;
    check_protocol_error(sub_body);
  }
}

TEST_CASE(
    "decode_pub and decode_msg agree with decode on every prefix of every op, edge values "
    "included") {
  auto samples = compact_samples();
  for (const Message& m : edge_samples()) samples.push_back(m);
  for (const Message& m : samples) {
    const std::string body = body_of(m);
    CAPTURE(describe(m));
    for (std::size_t n = 0; n <= body.size(); ++n) {
      CAPTURE(n);
      const std::string_view prefix = std::string_view(body).substr(0, n);
      const auto pub = decode_pub(prefix);
      const auto msg = decode_msg(prefix);
      const auto general = decode(prefix);
      REQUIRE(pub.has_value() == (general.ok() && std::holds_alternative<Pub>(*general)));
      REQUIRE(msg.has_value() == (general.ok() && std::holds_alternative<Msg>(*general)));
      if (pub) CHECK(same_fields(Message{*pub}, *general));
      if (msg) CHECK(same_fields(Message{*msg}, *general));
    }
  }
}

TEST_CASE("every truncation of every op is malformed") {
  // The samples' payload and text are empty, so every strict prefix cuts a field short.
  for (const Message& m : compact_samples()) {
    const std::string body = body_of(m);
    CAPTURE(static_cast<int>(op_of(m)));
    check_decodes(body);
    for (std::size_t n = 0; n < body.size(); ++n) {
      CAPTURE(n);
      check_protocol_error(std::string_view(body).substr(0, n));
    }
  }
}

TEST_CASE("every truncation of a u16 string is malformed, whatever its length") {
  const std::string name(300, 'n');
  const std::string token(1000, 't');
  for (const Message& m :
       {Message{Hello{1, name, token}}, Message{Welcome{1, 9, token}}, Message{Sub{1, 0, 0, name}},
        Message{Unsub{1, name}}, Message{Gap{1, token}}}) {
    const std::string body = body_of(m);
    CAPTURE(static_cast<int>(op_of(m)));
    for (std::size_t n = 0; n < body.size(); ++n) {
      check_protocol_error(std::string_view(body).substr(0, n));
    }
  }
}

TEST_CASE("a truncated PUB, MSG or ERR is malformed up to its payload, then decodes shorter") {
  const std::vector<std::pair<Message, std::size_t>> cases = {
      {Pub{9, "/topic/news", "/topic/r", "hello"}, 1 + 4 + 2 + 11 + 2 + 8},
      {Msg{5, 0, "/topic/news", "/topic/r", "hello"},
       msg_payload_offset("/topic/news", "/topic/r")},
      {Err{9, 3, "bad channel"}, 1 + 4 + 2},
  };
  for (const auto& [m, rest_at] : cases) {
    const std::string body = body_of(m);
    const int op = static_cast<int>(op_of(m));  // clang 14 cannot capture a structured binding
    CAPTURE(op);
    for (std::size_t n = 0; n < rest_at; ++n) {
      CAPTURE(n);
      check_protocol_error(std::string_view(body).substr(0, n));
    }
    for (std::size_t n = rest_at; n <= body.size(); ++n) {
      CAPTURE(n);
      const Message cut = check_decodes(std::string_view(body).substr(0, n));
      const std::string_view expected_rest = std::string_view(body).substr(rest_at, n - rest_at);
      std::visit(
          [&](const auto& fields) {
            using T = std::decay_t<decltype(fields)>;
            if constexpr (std::is_same_v<T, Pub> || std::is_same_v<T, Msg>) {
              CHECK(fields.payload == expected_rest);
            } else if constexpr (std::is_same_v<T, Err>) {
              CHECK(fields.text == expected_rest);
            } else {
              FAIL("decoded to another op");
            }
          },
          cut);
    }
  }
}

TEST_CASE("trailing bytes after a message without a rest field are malformed") {
  for (const Message& m : compact_samples()) {
    if (has_rest_field(op_of(m))) continue;
    const std::string body = body_of(m);
    CAPTURE(static_cast<int>(op_of(m)));
    check_protocol_error(body + '\0');
    check_protocol_error(body + "x");
    check_protocol_error(body + std::string(1000, '\xFF'));
  }
}

TEST_CASE("trailing bytes after PUB, MSG and ERR are their payload or text") {
  for (const Message& m : compact_samples()) {
    if (!has_rest_field(op_of(m))) continue;
    const std::string body = body_of(m);
    const std::string extended_body = body + std::string("\0z", 2);
    const Message extended = check_decodes(extended_body);
    std::visit(
        [](const auto& fields) {
          using T = std::decay_t<decltype(fields)>;
          if constexpr (std::is_same_v<T, Pub> || std::is_same_v<T, Msg>) {
            CHECK(fields.payload == std::string_view("\0z", 2));
          } else if constexpr (std::is_same_v<T, Err>) {
            CHECK(fields.text == std::string_view("\0z", 2));
          } else {
            FAIL("decoded to another op");
          }
        },
        extended);
  }
}

TEST_CASE("a u16 length beyond the body is malformed") {
  check_protocol_error(unhex("02 00000001 00 0000 ffff 2f74"));
  check_protocol_error(unhex("03 00000001 0001"));
  check_protocol_error(unhex("04 00000001 0000 0005 2f"));
  check_protocol_error(unhex("05 0000000000000001 00 0003 2f2f"));
  check_protocol_error(unhex("0c 0000000000000001 0100"));
  check_protocol_error(unhex("00 5042 01 0002 6869 0003 6869"));
  check_protocol_error(unhex("01 01 00000010 8000"));
}

TEST_CASE("HELLO with a bad magic is malformed") {
  const std::string rest = unhex("01 0003 636c69 0000");
  const std::vector<std::string> magics = {"XB", "PX", "pb", "BP", std::string("\0\0", 2)};
  for (const auto& magic : magics) {
    CAPTURE(magic);
    check_protocol_error(std::string(1, '\0') + magic + rest);
  }
  // The magic is checked before the version.
  check_protocol_error(unhex("00 5058 02"));
  check_protocol_error(unhex("00 5842 02 ffff"));
}

TEST_CASE("HELLO of another version decodes to its version whatever follows") {
  const std::vector<std::string> tails = {"", unhex("ff"), unhex("0005 6869"),
                                          std::string(50, '\x01')};
  for (int version = 0; version <= 0xFF; ++version) {
    if (version == pb1_version || version == pb1_version_2) continue;  // versions this codec reads
    for (const auto& tail : tails) {
      CAPTURE(version);
      CAPTURE(hex(tail));
      const std::string body = unhex("00 5042") + static_cast<char>(version) + tail;
      const Message m = check_decodes(body);
      REQUIRE(std::holds_alternative<Hello>(m));
      CHECK(std::get<Hello>(m).version == version);
      CHECK(std::get<Hello>(m).version != pb1_version);
    }
  }
}

TEST_CASE("HELLO of version 1 must be well formed") {
  const std::string minimal = unhex("00 5042 01 0000 0000");
  check_decodes(minimal);
  check_protocol_error(unhex("00 5042 01"));
  check_protocol_error(unhex("00 5042 01 ff"));
  check_protocol_error(unhex("00 5042 01 0005 6869"));
  check_protocol_error(unhex("00 5042 01 0000 0000 00"));
}

TEST_CASE("server-only and client-only ops decode alike: direction is the broker's to judge") {
  // The codec decodes every op from either side; a broker refusing a client's MSG does so after
  // decoding it, so a well-formed WELCOME/MSG/OK/ERR/GAP must decode.
  for (const Message& m : compact_samples()) {
    CAPTURE(static_cast<int>(op_of(m)));
    const std::string body = body_of(m);
    const Message back = check_decodes(body);
    CHECK(op_of(back) == op_of(m));
  }
}

}  // namespace
}  // namespace paperboy::protocol
