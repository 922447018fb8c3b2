// Bad input: each gets a clear answer (ERR for PB1) and/or a close, and nothing else breaks.
// After each one the daemon must still serve a client connected before it (Bystander) and a
// fresh one (check_serves).
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"
#include "pb0_conn.hpp"
#include "subscription_sync.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

std::string prefix_of(std::uint32_t length) {
  std::string out(4, '\0');
  p::write_frame_header(out.data(), length);
  return out;
}

// Each body, sent as a frame by a fresh client after its HELLO, gets ERR(0, 1) and a close,
// and the bystander is still served after each.
void expect_each_refused_after_hello(const Daemon& daemon, Bystander& bystander,
                                     const std::vector<std::string>& bodies,
                                     const std::string& client_name) {
  for (const auto& body : bodies) {
    CAPTURE(printable(body));
    Conn c(daemon.port(), client_name);
    c.hello();
    c.send_raw(frame_of(body));
    c.expect_err_and_close(0, 1);
    bystander.check();
  }
}

std::string bytes(std::initializer_list<unsigned> values) {
  std::string out;
  for (auto v : values) out += static_cast<char>(v);
  return out;
}

// A PB1 frame body without its length prefix.
std::string body_of(const p::Message& m) {
  return p::encode_frame(m).substr(p::frame_header_size);
}

// The frames that arrive before the close may be nothing or one ERR with one of `codes`.
void expect_at_most_err_then_close(Conn& c, std::initializer_list<std::uint16_t> codes) {
  const auto frames = c.read_until_closed();
  REQUIRE_MESSAGE(frames.size() <= 1, c.name() << ": " << frames.size()
                                               << " frames before the close, first "
                                               << describe_pb1_frame(frames.front()));
  if (frames.empty()) return;
  const auto m = p::decode(frames.front());
  const auto* err = m ? std::get_if<p::Err>(&*m) : nullptr;
  bool known = false;
  for (auto code : codes) known = known || (err != nullptr && err->code == code);
  CHECK_MESSAGE((known && err->req == 0),
                c.name() << ": before the close got " << describe_pb1_frame(frames.front()));
}

}  // namespace

TEST_CASE("bad input: a frame length over the limit gets ERR 2 and close from the prefix alone") {
  Daemon daemon({"--max-payload", "1024"});
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  const std::uint32_t limit = p::max_frame_body(1024);
  for (const std::uint32_t length : {0xFFFFFFFFu, 0x80000000u, limit + 1}) {
    CAPTURE(length);
    {
      Conn before_hello(daemon.port(), "before-hello");
      before_hello.send_raw(prefix_of(length));  // the prefix and not one byte more
      before_hello.expect_err_and_close(0, 2);
    }
    {
      Conn after_hello(daemon.port(), "after-hello");
      after_hello.hello();
      after_hello.send_raw(prefix_of(length));
      after_hello.expect_err_and_close(0, 2);
    }
    bystander.check();
  }
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: a frame of exactly max_payload + 1024 bytes is read before it is judged") {
  // The limit on the prefix is max_payload + 1024. A PUB of exactly that size is read and then
  // refused for its payload, so the ERR names its request; one byte more is refused from the
  // prefix, before the request is known.
  Daemon daemon({"--max-payload", "1024"});
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  const std::string channel = "/topic/edge";
  const std::size_t fields = 1 + 4 + 2 + channel.size() + 2;  // op, req, channel, reply-to
  for (const std::size_t body :
       {std::size_t{p::max_frame_body(1024)}, p::max_frame_body(1024) + std::size_t{1}}) {
    CAPTURE(body);
    const std::string frame =
        p::encode_frame(p::Pub{5, channel, "", std::string(body - fields, 'p')});
    REQUIRE(frame.size() == p::frame_header_size + body);
    Conn publisher(daemon.port(), "publisher");
    publisher.hello();
    publisher.send_raw(frame);
    publisher.expect_err_and_close(body <= p::max_frame_body(1024) ? 5 : 0, 2);
    bystander.check();
  }
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: a PUB payload over max_payload gets ERR(req 2) and close") {
  Daemon daemon({"--max-payload", "1024"});
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  const std::string channel = "/topic/sized";
  Conn subscriber(daemon.port(), "subscriber");
  subscriber.hello();
  subscriber.subscribe(channel);

  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  publisher.pub(channel, numbered_payload(0, 1024), 1);  // exactly the limit: fine
  publisher.expect_ok(1);
  subscriber.expect_msg(channel, numbered_payload(0, 1024));
  publisher.pub(channel, numbered_payload(1, 1025), 2);
  publisher.expect_err_and_close(2, 2);
  subscriber.ping_pong();  // the oversize message went nowhere

  Conn quiet(daemon.port(), "publisher-req-0");
  quiet.hello();
  quiet.pub(channel, numbered_payload(2, 4000), 0);
  quiet.expect_err_and_close(0, 2);
  subscriber.ping_pong();
  bystander.check();
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: an unknown op or an empty frame gets ERR 1 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  const std::vector<std::string> bodies = {bytes({0x0D}), bytes({0x0D, 0, 0, 0, 0, 0, 0, 0, 1}),
                                           bytes({0x7F}), bytes({0xFF, 0xFF}), std::string()};
  expect_each_refused_after_hello(daemon, bystander, bodies, "unknown-op");
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: truncated fields get ERR 1 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  const std::string sub = body_of(p::Sub{1, 0, 0, "/topic/cut"});
  const std::string unsub = body_of(p::Unsub{2, "/topic/cut"});
  const std::string pub_no_payload = body_of(p::Pub{3, "/topic/cut", "/topic/reply", ""});
  const std::vector<std::string> bodies = {
      bytes({0x02}),                                        // SUB: op alone
      sub.substr(0, 3),                                     // SUB: half the req
      sub.substr(0, 5),                                     // SUB: no flags
      sub.substr(0, 8),                                     // SUB: no channel length
      sub.substr(0, sub.size() - 1),                        // SUB: channel shorter than its length
      unsub.substr(0, 5),                                   // UNSUB: no channel length
      unsub.substr(0, unsub.size() - 3),                    // UNSUB: channel cut
      bytes({0x04, 0, 0, 0, 3}),                            // PUB: no channel length
      bytes({0x04, 0, 0, 0, 3, 0, 50, '/', 't'}),           // PUB: channel beyond the frame
      pub_no_payload.substr(0, pub_no_payload.size() - 1),  // PUB: reply-to cut
      bytes({0x06, 0, 0, 0, 0}),                            // ACK: 4 of 8 bytes
      bytes({0x07}),                                        // NACK: no delivery
      bytes({0x0A, 1, 2, 3, 4, 5, 6, 7}),                   // PING: 7 of 8 bytes
      bytes({0x0B, 1}),                                     // PONG: 1 of 8 bytes
  };
  expect_each_refused_after_hello(daemon, bystander, bodies, "truncated");
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: trailing bytes after a complete message get ERR 1 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  const std::vector<std::string> bodies = {
      body_of(p::Ping{1}) + "x",
      body_of(p::Pong{2}) + "x",
      body_of(p::Ack{3}) + "x",
      body_of(p::Nack{4}) + "xyz",
      body_of(p::Sub{5, 0, 0, "/topic/trail"}) + "x",
      body_of(p::Unsub{6, "/topic/trail"}) + "x",
  };
  expect_each_refused_after_hello(daemon, bystander, bodies, "trailing");
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: a server-only op sent by a client gets ERR 1 and close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  const std::vector<p::Message> server_ops = {p::Welcome{1, 1024, "me"},
                                              p::Msg{0, 0, "/topic/x", "", "payload"}, p::Ok{1},
                                              p::Err{0, 1, "no"}, p::Gap{3, "/topic/x"}};
  for (const auto& m : server_ops) {
    CAPTURE(describe(m));
    Conn c(daemon.port(), "impostor-" + std::string(p::op_name(p::op_of(m))));
    c.hello();
    c.send(m);
    c.expect_err_and_close(0, 1);
    bystander.check();
  }
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: bad channel names get ERR(req 3) and the same connection goes on working") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::vector<std::string> bad = {
      "",
      "foo",
      "topic/x",
      "/topic",
      "/topic/",
      "/queue",
      "/queue/",
      "/Topic/x",
      " /topic/x",
      "/topic/a b",
      "/topic/a\tb",
      "/topic/a\x01",
      "/topic/\x7f",
      std::string("/topic/a\0b", 10),
      "/topic/" + std::string(249, 'x'),  // 256 bytes
      "/topic/\xff",
      "/topic/\xc0\xaf",      // overlong '/'
      "/topic/\xed\xa0\x80",  // a surrogate
      "/topic/\xe2\x82",      // cut-off sequence
      "/topic/\xc2\x85",      // C1 control (NEL)
  };
  Conn c(daemon.port(), "namer");
  Conn publisher(daemon.port(), "publisher");
  c.hello();
  publisher.hello();
  std::uint32_t req = 100;
  for (const auto& name : bad) {
    CAPTURE(printable(name));
    c.sub(name, ++req);
    c.expect_err(req, 3);
    c.pub(name, "payload", ++req);
    c.expect_err(req, 3);
    c.sub(name, 0);  // a request without an id is refused the same way
    c.expect_err(0, 3);
    c.pub(name, "payload", 0);
    c.expect_err(0, 3);
  }
  // The same connection works, and names at the edges of the rules are fine.
  for (const std::string& good : {"/topic/" + std::string(248, 'x'), std::string("/topic/\xc3\xbc"),
                                  std::string("/queue/x"), std::string("/topic/a/b.c-d_e")}) {
    CAPTURE(printable(good));
    c.subscribe(good);
    publisher.publish(good, "fine");
    c.expect_msg(good, "fine");
  }
  c.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: ACK and NACK of unknown deliveries get ERR(0 5) and the connection stays") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn c(daemon.port());
  c.hello();
  for (const std::uint64_t id : {0ULL, 1ULL, 42ULL, ~0ULL}) {
    CAPTURE(id);
    c.ack(id);
    c.expect_err(0, 5);
    c.nack(id);
    c.expect_err(0, 5);
  }
  c.ping_pong();
  c.subscribe("/topic/after-acks");
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: garbage bytes get at most an ERR and a close") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  std::mt19937 rng(20240601);
  const auto garbage = [&rng](std::size_t n) {
    std::string out(n, '\0');
    for (auto& ch : out) ch = static_cast<char>(rng() & 0xFF);
    out[0] = static_cast<char>(out[0] | 0x40);  // a length prefix far over the limit
    return out;
  };
  const std::vector<std::string> openers = {
      "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
      bytes({0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}),  // TLS hello
      garbage(64),
      garbage(4096),
      prefix_of(0),  // an empty first frame: neither a PB0 channel nor a PB1 HELLO
  };
  for (const auto& opener : openers) {
    CAPTURE(printable(opener));
    Conn c(daemon.port(), "garbage-first");
    c.send_raw(opener);
    expect_at_most_err_then_close(c, {1, 2});
    bystander.check();
  }
  for (int i = 0; i < 5; ++i) {
    Conn c(daemon.port(), "garbage-after-hello");
    c.hello();
    c.send_raw(garbage(512));
    expect_at_most_err_then_close(c, {1, 2});
    bystander.check();
  }
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: a peer that disconnects mid-frame disturbs no one") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  const std::string pub =
      p::encode_frame(p::Pub{1, "/topic/bystander-x", "", std::string(5000, 'p')});
  for (const bool reset : {false, true}) {
    CAPTURE(reset);
    const auto leave = [reset](Conn& c) {
      if (reset) {
        c.socket().abort();
      } else {
        c.socket().close();
      }
    };
    {
      Conn c(daemon.port(), "half-header");
      c.send_raw(prefix_of(100).substr(0, 2));
      leave(c);
    }
    {
      Conn c(daemon.port(), "half-hello");
      const std::string hello = p::encode_frame(p::Hello{});
      c.send_raw(hello.substr(0, hello.size() / 2));
      leave(c);
    }
    {
      Conn c(daemon.port(), "half-pub");
      c.hello();
      c.send_raw(pub.substr(0, pub.size() / 2));
      leave(c);
    }
    {
      Pb0Conn c(daemon.port(), "/topic/pb0-half", "pb0-half-pair");
      std::string pair;
      p::append_raw_frame(pair, "/topic/pb0-half");
      p::append_raw_frame(pair, std::string(300, 'd'));
      c.send_raw(pair.substr(0, pair.size() - 100));
      if (reset) {
        c.stream().socket().abort();
      } else {
        c.stream().socket().close();
      }
    }
    bystander.check();
  }
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: a stalled frame is closed after --frame-timeout with ERR 1 once PB1 shows") {
  Daemon daemon({"--frame-timeout", "0.3", "--handshake-timeout", "0.3"});
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  {
    Conn silent(daemon.port(), "silent");  // never sends a first frame
    silent.expect_closed();
  }
  {
    Conn c(daemon.port(), "half-header-before-hello");
    c.send_raw(prefix_of(30).substr(0, 2));
    c.expect_closed();  // not PB1 yet: a plain close
  }
  {
    // Its first body byte says PB1: it is told.
    Conn c(daemon.port(), "half-hello");
    const std::string hello = p::encode_frame(p::Hello{});
    c.send_raw(hello.substr(0, hello.size() - 2));
    c.expect_err_and_close(0, 1);
  }
  {
    Conn c(daemon.port(), "half-header-after-hello");
    c.hello();
    c.send_raw(prefix_of(30).substr(0, 2));
    c.expect_err_and_close(0, 1);
  }
  {
    Conn c(daemon.port(), "half-body-after-hello");
    c.hello();
    const std::string ping = p::encode_frame(p::Ping{9});
    c.send_raw(ping.substr(0, ping.size() - 3));
    c.expect_err_and_close(0, 1);
  }
  {
    Pb0Conn c(daemon.port(), "/topic/pb0-stall", "pb0-half-pair");
    c.send_raw(prefix_of(20) + "/topic");
    c.expect_closed();  // PB0 has no ERR frame: a plain close
  }
  bystander.check();
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: an idle client with no frame in progress is not timed out") {
  Daemon daemon({"--frame-timeout", "0.3"});
  INFO(daemon.log_tail());
  Conn pb1(daemon.port(), "idle-pb1");
  pb1.hello();
  pb1.subscribe("/topic/idle");
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  Pb0Conn pb0(daemon.port(), "/topic/idle", "idle-pb0");
  await_topic_subscription(
      pb0, [&](std::string_view payload) { publisher.publish("/topic/idle", payload); });
  // pb1 got the probes too; the PONG after them shows it has read them all.
  pb1.ping(1);
  for (;;) {
    const auto m = pb1.expect_message();
    if (std::holds_alternative<p::Pong>(*m)) break;
    REQUIRE_MESSAGE(std::holds_alternative<p::Msg>(*m), describe(*m));
  }

  pb1.expect_nothing(std::chrono::seconds(1));  // idle for three frame timeouts
  pb0.expect_nothing(std::chrono::seconds(1));
  publisher.publish("/topic/idle", "still here");
  pb1.expect_msg("/topic/idle", "still here");
  pb0.expect_data_eq("still here");
  pb1.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: a client stalled mid-frame holds up no one and may finish the frame later") {
  Daemon daemon;  // the default frame timeout is far longer than this test
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  Conn stalled(daemon.port(), "stalled");
  const std::string hello = p::encode_frame(p::Hello{p::pb1_version, "slowpoke", ""});
  stalled.send_raw(hello.substr(0, 2));
  for (int i = 0; i < 3; ++i) bystander.check();
  check_serves(daemon.port());
  stalled.expect_nothing();
  stalled.send_raw(hello.substr(2));
  stalled.expect<p::Welcome>();
  stalled.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("bad input: a storm of bad clients leaks no file descriptor") {
  Daemon daemon({"--frame-timeout", "0.3"});
  INFO(daemon.log_tail());
  Bystander bystander(daemon.port());
  const std::size_t baseline = daemon.open_fds();
  REQUIRE(baseline > 0);
  for (int i = 0; i < 200; ++i) {
    Conn c(daemon.port(), "storm");
    switch (i % 7) {
      case 0: c.send_raw(prefix_of(0xFFFFFFFF)); break;
      case 1: c.send_raw("GET / HTTP/1.0\r\n\r\n"); break;
      case 2: c.send_raw(prefix_of(40).substr(0, 3)); break;  // stall: the frame timeout ends it
      case 3:
        c.hello();
        c.send_raw(frame_of(bytes({0x0D})));
        break;
      case 4:
        c.hello();
        c.send_raw(prefix_of(500) + "abc");
        c.socket().abort();
        break;
      case 5: c.send_raw(frame_of("/topic/storm")); break;  // a PB0 subscriber that just leaves
      case 6:
        c.hello();
        c.sub("/topic/storm", 1);
        c.expect_ok(1);
        break;
    }
  }
  // Every one of them is gone; the daemon must be back to its descriptors from before.
  const bool back = wait_until([&] { return daemon.open_fds() <= baseline; }, default_timeout,
                               std::chrono::milliseconds(20));
  CHECK_MESSAGE(back, "paperboyd has " << daemon.open_fds() << " open descriptors, " << baseline
                                       << " before the storm");
  bystander.check();
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}
