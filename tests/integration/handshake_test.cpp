// HELLO/WELCOME: what a well-behaved client gets, and what every malformed opening gets.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

TEST_CASE("handshake: WELCOME carries version 1 and the default max payload and a server id") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port());
  const auto welcome = c.hello("handshake-test");
  CHECK(welcome->version == 1);
  CHECK(welcome->max_payload == p::default_max_payload);
  CHECK_FALSE(welcome->server_id.empty());
  c.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: WELCOME reports the configured --max-payload") {
  Daemon daemon({"--max-payload", "4096"});
  INFO(daemon.log_tail());
  Conn c(daemon.port());
  CHECK(c.hello()->max_payload == 4096);
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: HELLO with an empty client name is welcomed") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn unnamed(daemon.port(), "unnamed");
  unnamed.send_hello("");
  unnamed.expect<p::Welcome>();
  unnamed.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: HELLO arriving one byte at a time is answered with WELCOME") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port());
  const std::string hello = p::encode_frame(p::Hello{p::pb1_version, "trickle", ""});
  for (std::size_t i = 0; i < hello.size(); ++i) {
    c.send_raw(hello.substr(i, 1));
    if (i + 1 < hello.size()) c.expect_nothing(std::chrono::milliseconds(10));
  }
  CHECK(c.expect<p::Welcome>()->version == 1);
  c.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: frames pipelined behind HELLO in one write are all answered in order") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port());
  std::string bytes;
  p::append_frame(bytes, p::Hello{p::pb1_version, "pipeline", ""});
  p::append_frame(bytes, p::Sub{1, 0, 0, "/topic/pipe"});
  p::append_frame(bytes, p::Pub{2, "/topic/pipe", "", "piped"});
  p::append_frame(bytes, p::Ping{77});
  c.send_raw(bytes);
  c.expect<p::Welcome>();
  c.expect_ok(1);
  // The OK for the PUB and this connection's own copy of the message may come in either order.
  bool got_ok = false;
  bool got_msg = false;
  for (int i = 0; i < 2; ++i) {
    const auto m = c.expect_message();
    if (const auto* ok = std::get_if<p::Ok>(&*m); ok != nullptr && ok->req == 2 && !got_ok) {
      got_ok = true;
    } else if (const auto* msg = std::get_if<p::Msg>(&*m);
               msg != nullptr && msg->payload == "piped" && !got_msg) {
      got_msg = true;
    } else {
      FAIL("expected OK(req=2) and MSG(\"piped\"), got " << describe(*m));
    }
  }
  CHECK(c.expect<p::Pong>()->token == 77);
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: PING is answered with PONG echoing the token") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port());
  c.hello();
  for (const std::uint64_t token : {0ULL, 1ULL, 0xDEADBEEFCAFEF00DULL, ~0ULL}) {
    c.ping(token);
    CHECK(c.expect<p::Pong>()->token == token);
  }
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: a second HELLO gets ERR 1 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port());
  c.hello();
  c.send_hello();
  c.expect_err_and_close(0, 1);
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

namespace {

/// A WELCOME read as version 2 lays it out, with its own copy of the server version.
struct Welcome2 {
  std::uint8_t version;
  std::uint32_t max_payload;
  std::string server_version;
};

Welcome2 expect_welcome_v2(Conn& c) {
  const std::string body = c.stream().expect_frame("WELCOME");
  const auto decoded = p::decode(body, p::pb1_version_2);
  REQUIRE(decoded);
  REQUIRE(std::holds_alternative<p::Welcome>(*decoded));
  const auto& w = std::get<p::Welcome>(*decoded);
  return {w.version, w.max_payload, std::string(w.server_version)};
}

}  // namespace

TEST_CASE("handshake: version 0 gets ERR 9 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port(), "version-0");
  c.send_hello("zero", 0);
  c.expect_err_and_close(0, 9);
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: a newer version is answered in version 2, the newest both speak") {
  Daemon daemon;
  INFO(daemon.log_tail());
  // Another version may lay out the rest of HELLO differently: 'P' 'B' and the version byte are
  // all the broker reads of it (the codec reads versions 1 and 2 in full).
  for (const std::string& hello :
       {p::encode_frame(p::Hello{255, "future", ""}).substr(4), std::string("\x00PB\x03", 4)}) {
    Conn c(daemon.port(), "newer");
    c.send_frame(hello);
    CHECK(unsigned{expect_welcome_v2(c).version} == 2);
  }
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: version 2 is answered in version 2, with the broker's version") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port(), "version-2");
  c.send_hello("v2", p::pb1_version_2);
  const Welcome2 w = expect_welcome_v2(c);
  CHECK(unsigned{w.version} == 2);
  CHECK(w.server_version == PAPERBOY_VERSION);
  CHECK(w.max_payload == p::default_max_payload);
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: --max-protocol-version 1 refuses version 2 as a version-1 broker does") {
  Daemon daemon({"--max-protocol-version", "1"});
  INFO(daemon.log_tail());
  Conn refused(daemon.port(), "version-2");
  refused.send_hello("v2", p::pb1_version_2);
  refused.expect_err_and_close(0, 9);
  Conn c(daemon.port(), "version-1");
  c.hello();  // version 1 is answered as before
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: a HELLO without the PB magic gets ERR 1 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  for (const std::string& magic :
       std::vector<std::string>{"XY", "pb", "BP", std::string("\x00\x00", 2)}) {
    CAPTURE(magic);
    std::string frame = p::encode_frame(p::Hello{p::pb1_version, "magic", ""});
    frame.replace(p::frame_header_size + 1, 2, magic);
    Conn c(daemon.port(), "bad-magic");
    c.send_raw(frame);
    c.expect_err_and_close(0, 1);
  }
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: a PB1 frame other than HELLO as the first frame gets ERR 1 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::vector<p::Message> openers = {p::Sub{1, 0, 0, "/topic/early"},
                                           p::Unsub{2, "/topic/early"},
                                           p::Pub{3, "/topic/early", "", "too soon"},
                                           p::Ping{4},
                                           p::Ack{5},
                                           p::Nack{6},
                                           p::Pong{7}};
  for (const auto& opener : openers) {
    CAPTURE(describe(opener));
    Conn c(daemon.port(), "early-" + std::string(p::op_name(p::op_of(opener))));
    c.send(opener);
    c.expect_err_and_close(0, 1);
  }
  // A body of one 0x02 byte: a PB1 frame whose op is not HELLO (and truncated too).
  Conn lone(daemon.port(), "lone-op");
  lone.send_frame(std::string("\x02", 1));
  lone.expect_err_and_close(0, 1);
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("handshake: a truncated or overlong HELLO gets ERR 1 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string full = p::encode_frame(p::Hello{p::pb1_version, "name", "tok"}).substr(4);
  const std::vector<std::string> bodies = {
      std::string("\x00", 1),        // op alone
      std::string("\x00P", 2),       // half the magic
      std::string("\x00PB", 3),      // no version
      std::string("\x00PB\x01", 4),  // no name length
      std::string("\x00PB\x01\x00\x05"
                  "ab",
                  8),                   // name shorter than its length
      full.substr(0, full.size() - 1),  // token cut short
      full + "x",                       // a byte after the token
  };
  for (const auto& body : bodies) {
    CAPTURE(printable(body));
    Conn c(daemon.port(), "bad-hello");
    c.send_raw(frame_of(body));
    c.expect_err_and_close(0, 1);
  }
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}
