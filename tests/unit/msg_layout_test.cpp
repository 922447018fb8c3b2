#include "paperboy/protocol/msg_layout.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "samples.hpp"

namespace paperboy::protocol {
namespace {

using test::hex;
using test::unhex;

// Writes a MSG with write_msg_frame into a buffer of exactly the size msg_layout announces.
struct Written {
  std::string frame;
  MsgLayout layout;
};
Written write_msg(const Msg& msg) {
  Written w;
  w.frame.resize(msg_layout(msg.channel, msg.reply_to, msg.payload.size()).frame_size());
  w.layout = write_msg_frame(w.frame.data(), msg);
  return w;
}

std::string_view body_of_frame(std::string_view frame) {
  return frame.substr(frame_header_size);
}

Msg decode_msg(std::string_view frame) {
  const auto parsed = parse_frame(frame, std::numeric_limits<std::uint32_t>::max());
  REQUIRE(parsed.status == FrameStatus::frame);
  REQUIRE(parsed.body.size() + frame_header_size == frame.size());
  auto decoded = decode(parsed.body);
  REQUIRE_MESSAGE(decoded.ok(), "refused " << hex(frame));
  REQUIRE(std::holds_alternative<Msg>(*decoded));
  return std::get<Msg>(*decoded);
}

void check_same_layout(const MsgLayout& a, const MsgLayout& b) {
  CHECK(a.channel_size == b.channel_size);
  CHECK(a.reply_to_size == b.reply_to_size);
  CHECK(a.payload_size == b.payload_size);
}

// The boundary lengths of each field: empty, one byte, the longest channel name, the longest a
// u16 length can say, and payloads past 64 KiB (the payload's length is the frame's).
const std::string channel255 = "/topic/" + std::string(255 - 7, 'c');
const std::string field65535(65535, 'f');
const std::string payload70000 = test::binary(70000);
const std::vector<std::string_view> channels = {"", "/", channel255, field65535};
const std::vector<std::string_view> replies = {"", "r", channel255, field65535};
const std::vector<std::string_view> payloads = {"", "x", payload70000};

// Runs `check(channel, reply_to, payload)` for every combination of boundary lengths.
template <class Check>
void for_each_boundary(Check check) {
  for (const auto channel : channels) {
    for (const auto reply_to : replies) {
      for (const auto payload : payloads) {
        CAPTURE(channel.size());
        CAPTURE(reply_to.size());
        CAPTURE(payload.size());
        check(channel, reply_to, payload);
      }
    }
  }
}

TEST_CASE("write_msg_frame writes what encode_frame writes, and says where each part went") {
  for_each_boundary(
      [](std::string_view channel, std::string_view reply_to, std::string_view payload) {
        const Msg msg{0, 0, channel, reply_to, payload};
        const Written w = write_msg(msg);
        CHECK(w.frame == encode_frame(msg));
        CHECK(w.layout.frame_size() == w.frame.size());
        CHECK(w.layout.body_size() + frame_header_size == w.frame.size());
        const std::string_view body = body_of_frame(w.frame);
        CHECK(w.layout.channel_in(body) == channel);
        CHECK(w.layout.reply_to_in(body) == reply_to);
        CHECK(w.layout.payload_in(body) == payload);
        CHECK(w.layout.payload_offset() == msg_payload_offset(channel, reply_to));
        // The payload is the rest of the frame.
        CHECK(w.layout.payload_in(body).data() + payload.size() == body.data() + body.size());

        const Msg decoded = decode_msg(w.frame);
        CHECK(decoded.channel == channel);
        CHECK(decoded.reply_to == reply_to);
        CHECK(decoded.payload == payload);
        CHECK(decoded.channel.data() == w.layout.channel_in(body).data());
        CHECK(decoded.reply_to.data() == w.layout.reply_to_in(body).data());
        CHECK(decoded.payload.data() == w.layout.payload_in(body).data());
      });
}

TEST_CASE("written_msg_layout reads back the layout write_msg_frame returned") {
  for_each_boundary(
      [](std::string_view channel, std::string_view reply_to, std::string_view payload) {
        const Written w = write_msg({9, msg_flag_redelivered, channel, reply_to, payload});
        check_same_layout(written_msg_layout(w.frame), w.layout);
      });
}

TEST_CASE("a delivery header in front of the shared frame's tail is that delivery's MSG") {
  const std::vector<std::uint64_t> ids = {0, 1, 0x0102030405060708,
                                          std::numeric_limits<std::uint64_t>::max()};
  const std::vector<std::uint8_t> flags = {0, msg_flag_redelivered, 0xFF};
  for (const auto channel : channels) {
    for (const auto payload : payloads) {
      const Written shared = write_msg({0, 0, channel, "/topic/r", payload});
      for (const auto id : ids) {
        for (const auto flag : flags) {
          CAPTURE(channel.size());
          CAPTURE(payload.size());
          CAPTURE(id);
          CAPTURE(unsigned{flag});
          std::string frame(msg_delivery_header_size, '\0');
          write_msg_delivery_header(frame.data(), shared.frame.size(), id, flag);
          frame += shared.frame.substr(msg_delivery_header_size);
          CHECK(frame == encode_frame(Msg{id, flag, channel, "/topic/r", payload}));
          const Msg decoded = decode_msg(frame);
          CHECK(decoded.delivery == id);
          CHECK(decoded.flags == flag);
          CHECK(decoded.channel == channel);
          CHECK(decoded.payload == payload);
          CHECK(msg_delivery(body_of_frame(frame)) == id);
        }
      }
    }
  }
}

TEST_CASE("the MSG layout is the one PROTOCOL.md shows") {
  // The MSG example of PROTOCOL.md, "05 MSG".
  const std::string documented = unhex(
      "00 00 00 1e  05  00 00 00 00 00 00 00 00  00  00 0b 2f 74 6f 70 69 63 2f 6e 65 77 73"
      "  00 00  68 65 6c 6c 6f");
  const Written w = write_msg({0, 0, "/topic/news", "", "hello"});
  CHECK(hex(w.frame) == hex(documented));
  CHECK(msg_delivery_header_size == 14);
  CHECK(MsgLayout::delivery_offset == 1);
  CHECK(MsgLayout::flags_offset == 9);
  CHECK(MsgLayout::names_offset == 10);
  CHECK(w.layout.channel_offset() == 12);
  CHECK(w.layout.reply_to_offset() == 12 + 11 + 2);
  CHECK(w.layout.payload_offset() == 1 + 8 + 1 + 2 + 11 + 2 + 0);
}

TEST_CASE("op_name names every op as the protocol's table does, and no other value") {
  const std::vector<std::pair<Op, std::string_view>> table = {
      {Op::hello, "HELLO"}, {Op::welcome, "WELCOME"}, {Op::sub, "SUB"},
      {Op::unsub, "UNSUB"}, {Op::pub, "PUB"},         {Op::msg, "MSG"},
      {Op::ack, "ACK"},     {Op::nack, "NACK"},       {Op::ok, "OK"},
      {Op::err, "ERR"},     {Op::ping, "PING"},       {Op::pong, "PONG"},
      {Op::gap, "GAP"},     {Op::blocked, "BLOCKED"}, {Op::unblocked, "UNBLOCKED"}};
  std::set<std::string_view> names;
  for (const auto& [op, name] : table) {
    CHECK(op_name(op) == name);
    names.insert(op_name(op));
  }
  CHECK(names.size() == table.size());
  CHECK(op_name(static_cast<Op>(0x0F)) == "unknown op");
  CHECK(op_name(static_cast<Op>(0xFF)) == "unknown op");
}

}  // namespace
}  // namespace paperboy::protocol
