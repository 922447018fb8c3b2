// Bad input in the fields version 2 adds: a malformed header block or a truncated version 2 PUB
// is ERR(0, 1) and a close; headers plus payload over max_payload are ERR(req, 2) and a close; a
// client sending the server's new ops is ERR 1. After each the daemon goes on serving a version 1
// and a version 2 client connected before it, and new ones.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"
#include "version2.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

constexpr auto protocol_error = static_cast<std::uint16_t>(p::Errc::protocol);
constexpr auto too_large = static_cast<std::uint16_t>(p::Errc::frame_too_large);

void put_u16(std::string& out, std::size_t v) {
  out += static_cast<char>((v >> 8) & 0xFF);
  out += static_cast<char>(v & 0xFF);
}

// A version 2 PUB body written by hand, so that its header block and its lengths can be wrong:
// `hlen` is written as given, `block` follows it whatever its size.
std::string pub_v2_body(std::size_t hlen, std::string_view block, std::string_view payload = "p") {
  const std::string channel = "/topic/bad";
  std::string out;
  out += static_cast<char>(p::Op::pub);
  out += std::string("\x00\x00\x00\x07", 4);  // req 7
  out += '\x00';                              // flags
  out += std::string("\x00\x00\x00\x00", 4);  // ttl_ms
  put_u16(out, channel.size());
  out += channel;
  put_u16(out, 0);  // reply_to
  put_u16(out, hlen);
  out += block;
  out += payload;
  return out;
}

// One header entry written by hand: `u8 klen | key | u16 vlen | value`, `vlen` as given.
std::string entry(std::string_view key, std::string_view value, std::size_t vlen) {
  std::string out(1, static_cast<char>(key.size()));
  out += key;
  put_u16(out, vlen);
  out += value;
  return out;
}

std::string entry(std::string_view key, std::string_view value) {
  return entry(key, value, value.size());
}

// A version 2 subscriber and publisher connected before the bad input: check() proves both
// still served, headers and all.
class V2Bystander {
 public:
  explicit V2Bystander(std::uint16_t port)
      : subscriber_(port, "v2-bystander-sub"), publisher_(port, "v2-bystander-pub") {
    hello_v2(subscriber_);
    hello_v2(publisher_);
    subscriber_.subscribe("/topic/v2-bystander");
  }

  void check() {
    const std::string payload = numbered_payload(sent_++, 100, "v2-bystander");
    const std::string headers = header_block({{"n", std::to_string(sent_)}});
    publish_v2(publisher_, "/topic/v2-bystander", payload, headers);
    CHECK(subscriber_.expect_msg("/topic/v2-bystander", payload)->headers == headers);
  }

 private:
  Conn subscriber_;
  Conn publisher_;
  std::size_t sent_ = 0;
};

// Each body, sent by a fresh version 2 client, gets ERR(0, 1) and a close; the bystanders are
// served after each.
void expect_each_refused(const Daemon& daemon, const std::vector<std::string>& bodies,
                         const std::string& client_name) {
  Bystander bystander(daemon.port());
  V2Bystander v2_bystander(daemon.port());
  for (const auto& body : bodies) {
    CAPTURE(printable(body));
    Conn c(daemon.port(), client_name);
    hello_v2(c);
    c.send_frame(body);
    c.expect_err_and_close(0, protocol_error);
    bystander.check();
    v2_bystander.check();
  }
  check_serves(daemon.port());
}

}  // namespace

TEST_CASE(
    "v2 bad input: a header block that runs past its frame or its hlen gets ERR 1 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string good = entry("k", "value");
  REQUIRE(
      p::decode(pub_v2_body(good.size(), good), p::pb1_version_2).ok());  // the baseline is fine
  expect_each_refused(daemon,
                      {
                          pub_v2_body(100, good, ""),          // hlen past the frame
                          pub_v2_body(good.size() - 1, good),  // last entry cut by hlen
                          pub_v2_body(good.size(), entry("k", "value", 6)),  // vlen past hlen
                          pub_v2_body(1, std::string(1, '\x05')),            // klen past hlen
                          pub_v2_body(3, entry("k", "", 0).substr(0, 3)),    // vlen cut
                          pub_v2_body(good.size() + 1, good + '\x00'),       // a trailing byte
                      },
                      "hlen-liar");
  expect_clean_exit(daemon);
}

TEST_CASE("v2 bad input: a header key that is empty or not printable ASCII gets ERR 1 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  std::vector<std::string> bodies;
  for (const std::string& key :
       {std::string(), std::string("with space"), std::string("a:b"), std::string("tab\t"),
        std::string("nul\0", 4), std::string("del\x7f"), std::string("caf\xc3\xa9")}) {
    const std::string block = entry("fine", "1") + entry(key, "v");
    bodies.push_back(pub_v2_body(block.size(), block));
  }
  expect_each_refused(daemon, bodies, "bad-key");
  expect_clean_exit(daemon);
}

TEST_CASE("v2 bad input: a version 2 PUB cut short in its new fields gets ERR 1 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string whole = pub_v2_body(0, "", "");
  REQUIRE(whole.size() == 26);
  // op, req: 5 bytes; flags: 1; ttl: 4; channel: 2 + 10; reply_to: 2; hlen: 2.
  expect_each_refused(daemon,
                      {
                          whole.substr(0, 5),   // no flags
                          whole.substr(0, 8),   // ttl cut
                          whole.substr(0, 10),  // no channel length
                          whole.substr(0, 22),  // no reply-to length
                          whole.substr(0, 24),  // no hlen
                          whole.substr(0, 25),  // hlen cut
                      },
                      "truncated-v2");
  expect_clean_exit(daemon);
}

TEST_CASE("v2 bad input: the server's BLOCKED, UNBLOCKED and MSG sent by a client get ERR 1") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const auto body_of = [](const p::Message& m) {
    return p::encode_frame(m, p::pb1_version_2).substr(p::frame_header_size);
  };
  expect_each_refused(daemon,
                      {body_of(p::Blocked{"/queue/x"}), body_of(p::Unblocked{"/queue/x"}),
                       body_of(p::Msg{0, 0, "/topic/x", "", "payload", 12345, {}})},
                      "impostor");
  expect_clean_exit(daemon);
}

TEST_CASE("v2 bad input: headers plus payload over max_payload get ERR(req 2) and close") {
  Daemon daemon({"--max-payload", "1024"});
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  V2Bystander v2_bystander(daemon.port());
  const std::string channel = "/topic/sized";
  Conn subscriber(daemon.port(), "subscriber");
  hello_v2(subscriber);
  subscriber.subscribe(channel);
  const std::string headers = header_block({{"pad", std::string(500, 'h')}});

  for (const std::uint32_t req : {9u, 0u}) {
    CAPTURE(req);
    Conn publisher(daemon.port(), "publisher");
    hello_v2(publisher);
    // The payload alone is within the limit; with the headers it is one byte over.
    const std::string payload = numbered_payload(req, 1024 - headers.size() + 1);
    publisher.send(p::Pub{req, channel, {}, payload, 0, 0, headers});
    publisher.expect_err_and_close(req, too_large);
    subscriber.ping_pong();  // it went nowhere
    bystander.check();
    v2_bystander.check();
  }
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}
