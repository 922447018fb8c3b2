#include "version2.hpp"

#include <chrono>

#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/headers.hpp"

namespace paperboy::itest {

namespace p = protocol;

std::string header_block(std::initializer_list<HeaderEntry> entries) {
  p::HeaderBuilder builder;
  for (const auto& [key, value] : entries) {
    if (!builder.add(key, value)) FAIL("a test header is not valid: key " << printable(key));
  }
  return std::string(builder.bytes());
}

std::vector<HeaderEntry> header_entries(std::string_view block) {
  if (!p::valid_header_block(block)) FAIL("malformed header block " << printable(block));
  std::vector<HeaderEntry> out;
  for (const auto& h : p::HeaderBlock(block)) out.emplace_back(h.key, h.value);
  return out;
}

std::uint64_t unix_now_ns() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

void check_published_at(const Conn& c, const p::Msg& msg, std::uint64_t before,
                        std::uint64_t after) {
  constexpr std::uint64_t slack_ns = 5'000'000'000;
  CHECK_MESSAGE(msg.published_at + slack_ns >= before,
                c.name() << ": published_at " << msg.published_at << " is before the PUB was sent ("
                         << before << ")");
  CHECK_MESSAGE(msg.published_at <= after + slack_ns,
                c.name() << ": published_at " << msg.published_at << " is after the MSG arrived ("
                         << after << ")");
}

void check_v1_msg_bytes(const Conn& c, const Decoded<p::Msg>& msg) {
  const p::Msg v1{msg->delivery, msg->flags, msg->channel, msg->reply_to, msg->payload};
  const std::string expected = p::encode_frame(v1).substr(p::frame_header_size);
  CHECK_MESSAGE(msg.body() == expected,
                c.name() << ": not the version 1 MSG frame: " << printable(msg.body())
                         << " instead of " << printable(expected));
}

Decoded<p::Welcome> hello_v2(Conn& c, std::string_view client_name) {
  auto welcome = c.hello(client_name, p::pb1_version_2);
  REQUIRE_MESSAGE(welcome->version == p::pb1_version_2,
                  c.name() << ": HELLO version 2 answered with " << describe(*welcome));
  return welcome;
}

void publish_v2(Conn& c, std::string_view channel, std::string_view payload,
                std::string_view headers, std::uint32_t ttl_ms, std::uint8_t flags,
                std::string_view reply_to) {
  const auto req = c.next_req();
  c.send(p::Pub{req, channel, reply_to, payload, flags, ttl_ms, headers});
  c.expect_ok(req);
}

}  // namespace paperboy::itest
