#include "paperboy/protocol/frame.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "paperboy/protocol/messages.hpp"
#include "samples.hpp"

namespace paperboy::protocol {
namespace {

using test::unhex;

// Read sizes from degenerate (one byte per read) to larger than the whole test stream.
const std::vector<std::size_t> read_sizes = {1, 3, 4, 7, 64, 4096};

// Takes every complete frame out of the buffer, copying the bodies (views die at the next
// writable_data()). A test stream never holds an oversized frame.
void drain(FrameBuffer& buffer, std::vector<std::string>& bodies) {
  for (;;) {
    const FrameParse parsed = buffer.next();
    REQUIRE(parsed.status != FrameStatus::too_large);
    if (parsed.status == FrameStatus::need_more) return;
    bodies.emplace_back(parsed.body);
  }
}

// Delivers `chunk` the way a socket read would: into writable_data(), as many rounds as the
// offered space needs, draining after every commit.
void feed(FrameBuffer& buffer, std::string_view chunk, std::vector<std::string>& bodies) {
  while (!chunk.empty()) {
    char* at = buffer.writable_data();
    const std::size_t n = std::min(buffer.writable_size(), chunk.size());
    REQUIRE(n > 0);
    std::memcpy(at, chunk.data(), n);
    buffer.commit(n);
    chunk.remove_prefix(n);
    drain(buffer, bodies);
  }
}

// A byte stream of many frames and the bodies it must yield: a PB0 session (subscription,
// channel/data pairs, binary data, the empty end frame) and one PB1 frame of every op, with
// frames both smaller and larger than the read sizes.
struct Stream {
  std::string bytes;
  std::vector<std::string> bodies;

  void raw(std::string_view body) {
    append_raw_frame(bytes, body);
    bodies.emplace_back(body);
  }
  void message(const Message& m) {
    append_frame(bytes, m);
    bodies.push_back(test::body_of(m));
  }
};

Stream mixed_stream() {
  Stream s;
  s.raw("/null");
  s.raw("/queue/jobs");
  s.raw("hello");
  s.raw("/topic/bin");
  s.raw(test::binary(300));
  for (const Message& m : test::compact_samples()) s.message(m);
  s.message(Pub{1, "/topic/big", "", test::binary(200)});
  s.message(Err{0, 1, "frame timeout"});
  s.raw("");
  return s;
}

TEST_CASE("frame constants") {
  CHECK(frame_header_size == 4);
  CHECK(frame_header_allowance == 1024);
  CHECK(default_max_payload == 1024 * 1024);
  CHECK(max_frame_body(default_max_payload) == 1024 * 1024 + 1024);
  CHECK(max_frame_body(0) == 1024);
}

TEST_CASE("write_frame_header writes the length big-endian") {
  std::string out(4, '\0');
  write_frame_header(out.data(), 0x01020304);
  CHECK(out == unhex("01020304"));
  write_frame_header(out.data(), 0);
  CHECK(out == unhex("00000000"));
  write_frame_header(out.data(), 0xFFFFFFFF);
  CHECK(out == unhex("ffffffff"));
  write_frame_header(out.data(), 300);
  CHECK(out == unhex("0000012c"));
}

TEST_CASE("parse_frame needs the whole prefix, then the whole body") {
  const std::string frame = unhex("00000003 616263");
  for (std::size_t n = 0; n < frame_header_size; ++n) {
    CAPTURE(n);
    const FrameParse parsed = parse_frame(std::string_view(frame).substr(0, n), 100);
    CHECK(parsed.status == FrameStatus::need_more);
    CHECK(parsed.body.empty());
  }
  for (std::size_t n = frame_header_size; n < frame.size(); ++n) {
    CAPTURE(n);
    const FrameParse parsed = parse_frame(std::string_view(frame).substr(0, n), 100);
    CHECK(parsed.status == FrameStatus::need_more);
    CHECK(parsed.declared_length == 3);
  }
  const FrameParse parsed = parse_frame(frame, 100);
  CHECK(parsed.status == FrameStatus::frame);
  CHECK(parsed.body == "abc");
  CHECK(parsed.body.data() == frame.data() + frame_header_size);  // a view, not a copy
  CHECK(parsed.declared_length == 3);
}

TEST_CASE("parse_frame takes only the first frame") {
  const std::string bytes = unhex("00000002 6869 00000001 21");
  const FrameParse parsed = parse_frame(bytes, 100);
  CHECK(parsed.status == FrameStatus::frame);
  CHECK(parsed.body == "hi");
}

TEST_CASE("parse_frame: an empty frame is a frame") {
  const FrameParse parsed = parse_frame(unhex("00000000"), 100);
  CHECK(parsed.status == FrameStatus::frame);
  CHECK(parsed.body.empty());
  CHECK(parsed.declared_length == 0);
  CHECK(parse_frame(unhex("00000000"), 0).status == FrameStatus::frame);
}

TEST_CASE("parse_frame refuses a length above the limit from the prefix alone") {
  const std::uint32_t max_body = 1000;
  for (const std::uint32_t length : {max_body + 1, max_body + 2, 0x7FFFFFFFu, 0xFFFFFFFFu}) {
    CAPTURE(length);
    std::string prefix(4, '\0');
    write_frame_header(prefix.data(), length);
    const FrameParse parsed = parse_frame(prefix, max_body);
    CHECK(parsed.status == FrameStatus::too_large);
    CHECK(parsed.declared_length == length);
  }
  std::string at_limit(4 + max_body, 'x');
  write_frame_header(at_limit.data(), max_body);
  const FrameParse parsed = parse_frame(at_limit, max_body);
  CHECK(parsed.status == FrameStatus::frame);
  CHECK(parsed.body.size() == max_body);
  CHECK(parse_frame(unhex("00000001"), 0).status == FrameStatus::too_large);
}

TEST_CASE("FrameBuffer: an empty buffer needs more") {
  FrameBuffer buffer(64, 1000);
  CHECK(buffer.next().status == FrameStatus::need_more);
  CHECK(buffer.buffered() == 0);
  CHECK_FALSE(buffer.partial());
  buffer.writable_data();
  CHECK(buffer.writable_size() >= 64);
  CHECK(buffer.next().status == FrameStatus::need_more);
}

TEST_CASE("FrameBuffer: the whole stream in one read") {
  const Stream stream = mixed_stream();
  FrameBuffer buffer(stream.bytes.size(), 1000);
  std::vector<std::string> bodies;
  char* at = buffer.writable_data();
  REQUIRE(buffer.writable_size() >= stream.bytes.size());
  std::memcpy(at, stream.bytes.data(), stream.bytes.size());
  buffer.commit(stream.bytes.size());
  drain(buffer, bodies);
  CHECK(bodies == stream.bodies);
  CHECK(buffer.buffered() == 0);
  CHECK_FALSE(buffer.partial());
}

TEST_CASE("FrameBuffer: a stream split at every byte offset yields the same frames") {
  const Stream stream = mixed_stream();
  for (const std::size_t read_size : read_sizes) {
    for (std::size_t split = 0; split <= stream.bytes.size(); ++split) {
      CAPTURE(read_size);
      CAPTURE(split);
      FrameBuffer buffer(read_size, 1000);
      std::vector<std::string> bodies;
      feed(buffer, std::string_view(stream.bytes).substr(0, split), bodies);
      feed(buffer, std::string_view(stream.bytes).substr(split), bodies);
      REQUIRE(bodies == stream.bodies);
      CHECK(buffer.buffered() == 0);
    }
  }
}

TEST_CASE("FrameBuffer: a stream fed one byte at a time yields the same frames") {
  const Stream stream = mixed_stream();
  for (const std::size_t read_size : read_sizes) {
    CAPTURE(read_size);
    FrameBuffer buffer(read_size, 1000);
    std::vector<std::string> bodies;
    std::size_t frames_before = 0;
    for (std::size_t i = 0; i < stream.bytes.size(); ++i) {
      feed(buffer, std::string_view(stream.bytes).substr(i, 1), bodies);
      // A frame completes exactly when its last byte arrives; in between, one is partial.
      if (bodies.size() == frames_before) CHECK(buffer.partial());
      frames_before = bodies.size();
    }
    CHECK(bodies == stream.bodies);
    CHECK_FALSE(buffer.partial());
  }
}

TEST_CASE("FrameBuffer: every chunk size yields the same frames") {
  const Stream stream = mixed_stream();
  for (const std::size_t read_size : {std::size_t{1}, std::size_t{64}}) {
    for (std::size_t chunk = 1; chunk <= stream.bytes.size(); ++chunk) {
      CAPTURE(read_size);
      CAPTURE(chunk);
      FrameBuffer buffer(read_size, 1000);
      std::vector<std::string> bodies;
      for (std::size_t at = 0; at < stream.bytes.size(); at += chunk) {
        feed(buffer, std::string_view(stream.bytes).substr(at, chunk), bodies);
      }
      REQUIRE(bodies == stream.bodies);
    }
  }
}

TEST_CASE("FrameBuffer: partial and buffered follow a frame as it arrives") {
  FrameBuffer buffer(64, 1000);
  const std::string frame = unhex("00000005 68656c6c6f");
  char* at = buffer.writable_data();
  std::memcpy(at, frame.data(), 2);
  buffer.commit(2);
  CHECK(buffer.next().status == FrameStatus::need_more);
  CHECK(buffer.partial());
  CHECK(buffer.buffered() == 2);

  at = buffer.writable_data();
  std::memcpy(at, frame.data() + 2, 5);
  buffer.commit(5);
  const FrameParse half = buffer.next();
  CHECK(half.status == FrameStatus::need_more);
  CHECK(half.declared_length == 5);
  CHECK(buffer.partial());
  CHECK(buffer.buffered() == 7);

  at = buffer.writable_data();
  std::memcpy(at, frame.data() + 7, 2);
  buffer.commit(2);
  const FrameParse whole = buffer.next();
  CHECK(whole.status == FrameStatus::frame);
  CHECK(whole.body == "hello");
  CHECK_FALSE(buffer.partial());
  CHECK(buffer.buffered() == 0);
  CHECK(buffer.next().status == FrameStatus::need_more);
}

TEST_CASE("FrameBuffer: many frames in one read") {
  constexpr std::size_t count = 10000;
  std::string bytes;
  for (std::size_t i = 0; i < count; ++i) append_frame(bytes, Ping{i});
  append_frame(bytes, Pong{7});
  const std::size_t tail = 5;  // the first bytes of one more frame
  bytes.append(unhex("0000000900"));

  FrameBuffer buffer(bytes.size(), max_frame_body(default_max_payload));
  char* at = buffer.writable_data();
  REQUIRE(buffer.writable_size() >= bytes.size());
  std::memcpy(at, bytes.data(), bytes.size());
  buffer.commit(bytes.size());

  for (std::size_t i = 0; i < count; ++i) {
    const FrameParse parsed = buffer.next();
    REQUIRE(parsed.status == FrameStatus::frame);
    const auto decoded = decode(parsed.body);
    REQUIRE(decoded.ok());
    REQUIRE(std::holds_alternative<Ping>(*decoded));
    REQUIRE(std::get<Ping>(*decoded).token == i);
  }
  const FrameParse last = buffer.next();
  REQUIRE(last.status == FrameStatus::frame);
  CHECK(test::same_fields(*decode(last.body), Pong{7}));
  CHECK(buffer.next().status == FrameStatus::need_more);
  CHECK(buffer.buffered() == tail);
  CHECK(buffer.partial());
}

TEST_CASE("FrameBuffer: a length prefix of max_body + 1 is refused before any growth") {
  constexpr std::size_t read_size = 64;
  constexpr std::uint32_t max_body = 100000;
  for (const std::uint32_t length : {max_body + 1, 0xFFFFFFFFu}) {
    CAPTURE(length);
    FrameBuffer buffer(read_size, max_body);
    char* at = buffer.writable_data();
    const std::size_t first_size = buffer.writable_size();
    CHECK(first_size >= read_size);
    CHECK(first_size < max_body);
    write_frame_header(at, length);
    buffer.commit(frame_header_size);

    const FrameParse parsed = buffer.next();
    CHECK(parsed.status == FrameStatus::too_large);
    CHECK(parsed.declared_length == length);

    // Asking for room again must not make room for the refused frame.
    buffer.writable_data();
    CHECK(buffer.writable_size() <= first_size);
    CHECK(buffer.buffered() + buffer.writable_size() <= frame_header_size + first_size);
    // The stream is unusable from here on: the answer does not change.
    CHECK(buffer.next().status == FrameStatus::too_large);
  }
}

TEST_CASE("FrameBuffer: frames before an oversized one are delivered first") {
  FrameBuffer buffer(64, 10);
  std::string bytes = unhex("00000002 6869 0000000a 30313233343536373839 0000000b");
  char* at = buffer.writable_data();
  REQUIRE(buffer.writable_size() >= bytes.size());
  std::memcpy(at, bytes.data(), bytes.size());
  buffer.commit(bytes.size());
  CHECK(buffer.next().body == "hi");
  CHECK(buffer.next().body == "0123456789");
  const FrameParse refused = buffer.next();
  CHECK(refused.status == FrameStatus::too_large);
  CHECK(refused.declared_length == 11);
}

TEST_CASE("FrameBuffer: a frame of exactly max_body is accepted, growing only as far as it needs") {
  constexpr std::size_t read_size = 4096;
  constexpr std::uint32_t max_body = 300000;
  const std::string body = test::binary(max_body);
  std::string frame;
  append_raw_frame(frame, body);

  FrameBuffer buffer(read_size, max_body);
  std::vector<std::string> bodies;
  feed(buffer, std::string_view(frame).substr(0, frame_header_size), bodies);
  CHECK(bodies.empty());
  buffer.writable_data();
  // Room for the rest of the frame in one read, and not much more.
  CHECK(buffer.writable_size() >= max_body);
  CHECK(buffer.buffered() + buffer.writable_size() <= frame_header_size + max_body + read_size);

  feed(buffer, std::string_view(frame).substr(frame_header_size), bodies);
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0] == body);
}

TEST_CASE("FrameBuffer: a PUB with a max_payload payload and 255-byte names fits the limit") {
  const std::string channel = "/topic/" + std::string(248, 'c');
  const std::string reply_to = "/topic/" + std::string(248, 'r');
  const std::string payload = test::binary(default_max_payload);
  const std::string frame = encode_frame(Pub{1, channel, reply_to, payload});
  REQUIRE(frame.size() - frame_header_size <= max_frame_body(default_max_payload));

  FrameBuffer buffer(64 * 1024, max_frame_body(default_max_payload));
  std::vector<std::string> bodies;
  feed(buffer, frame, bodies);
  REQUIRE(bodies.size() == 1);
  const auto decoded = decode(bodies[0]);
  REQUIRE(decoded.ok());
  CHECK(std::get<Pub>(*decoded).payload == payload);
}

TEST_CASE("FrameBuffer: asking for room while complete frames are still buffered keeps them") {
  // A reader may stop taking frames (a parked PUB) and read ahead before draining the rest.
  const Stream stream = mixed_stream();
  for (const std::size_t read_size : read_sizes) {
    for (std::size_t take = 0; take < 4; ++take) {
      CAPTURE(read_size);
      CAPTURE(take);
      FrameBuffer buffer(read_size, 1000);
      std::vector<std::string> bodies;
      std::string_view rest = stream.bytes;
      while (!rest.empty()) {
        char* at = buffer.writable_data();
        REQUIRE(buffer.writable_size() > 0);
        REQUIRE(buffer.writable_size() <= 1000 + frame_header_size + read_size);
        const std::size_t n = std::min(buffer.writable_size(), rest.size());
        std::memcpy(at, rest.data(), n);
        buffer.commit(n);
        rest.remove_prefix(n);
        // Take at most `take` frames per read, leaving the others buffered.
        for (std::size_t i = 0; i < take; ++i) {
          const FrameParse parsed = buffer.next();
          REQUIRE(parsed.status != FrameStatus::too_large);
          if (parsed.status == FrameStatus::need_more) break;
          bodies.emplace_back(parsed.body);
        }
      }
      drain(buffer, bodies);
      CHECK(bodies == stream.bodies);
      CHECK(buffer.buffered() == 0);
    }
  }
}

TEST_CASE("FrameBuffer: storage is taken on demand and handed back only when empty") {
  FrameBuffer buffer(64, 1000);
  CHECK(buffer.capacity() == 0);  // an idle connection holds no buffer
  const std::string frame = unhex("00000005 68656c6c6f");
  std::vector<std::string> bodies;

  feed(buffer, std::string_view(frame).substr(0, 6), bodies);
  CHECK(buffer.capacity() > 0);
  buffer.release_if_empty();  // a frame is in progress: nothing is released
  CHECK(buffer.capacity() > 0);
  CHECK(buffer.buffered() == 6);

  feed(buffer, std::string_view(frame).substr(6), bodies);
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0] == "hello");
  buffer.release_if_empty();
  CHECK(buffer.capacity() == 0);
  CHECK(buffer.next().status == FrameStatus::need_more);

  feed(buffer, frame, bodies);  // and it works again afterwards
  REQUIRE(bodies.size() == 2);
  CHECK(bodies[1] == "hello");
}

}  // namespace
}  // namespace paperboy::protocol
