// libFuzzer target over the frame reader and the PB1 decoder.
//
// Input: three control bytes, then the byte stream a peer would send.
//   byte 0  read size of the FrameBuffer (1..128)
//   byte 1  frame body limit, in units of 16 bytes (0..4080)
//   byte 2  seed for the read chunk sizes and for how many frames are taken after each read
// The stream goes through FrameBuffer in reads of pseudo-random sizes, sometimes leaving complete
// frames buffered across reads (a reader that paused), and must yield exactly the frames that
// parse_frame finds walking the whole stream at once. Every frame body is decoded; whatever
// decodes is re-encoded, must decode to equal fields, and must encode to the very same bytes
// (the encoding is canonical; only a HELLO of a version the codec does not read is cut short by
// design). Each body is decoded as a version 1 and as a version 2 connection would. Any mismatch
// aborts.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "paperboy/protocol/channel.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/headers.hpp"
#include "paperboy/protocol/messages.hpp"
#include "samples.hpp"

namespace {

namespace pb = paperboy::protocol;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "paperboy_fuzz_decoder: %s\n", what);
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) fail(what);
}

// xorshift64*: deterministic chunk sizes from the seed byte.
class Rng {
 public:
  explicit Rng(std::uint8_t seed) : state_(0x9E3779B97F4A7C15ULL ^ seed) {}
  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

 private:
  std::uint64_t state_;
};

// How a stream ended: the frames it held, then need_more with `leftover` bytes of an incomplete
// frame, or too_large with the refused prefix.
struct Outcome {
  std::vector<std::string> bodies;
  pb::FrameStatus end = pb::FrameStatus::need_more;
  std::size_t leftover = 0;
  std::uint32_t refused_length = 0;
};

Outcome walk_whole(std::string_view stream, std::uint32_t max_body) {
  Outcome out;
  for (;;) {
    const pb::FrameParse parsed = pb::parse_frame(stream, max_body);
    if (parsed.status == pb::FrameStatus::frame) {
      out.bodies.emplace_back(parsed.body);
      stream.remove_prefix(pb::frame_header_size + parsed.body.size());
      continue;
    }
    out.end = parsed.status;
    out.leftover = stream.size();
    out.refused_length = parsed.declared_length;
    return out;
  }
}

// Takes up to `budget` frames; false once the stream is refused as too large.
bool take_frames(pb::FrameBuffer& buffer, std::size_t budget, Outcome& out) {
  for (std::size_t i = 0; i < budget; ++i) {
    const pb::FrameParse parsed = buffer.next();
    if (parsed.status == pb::FrameStatus::need_more) return true;
    if (parsed.status == pb::FrameStatus::too_large) {
      out.end = parsed.status;
      out.refused_length = parsed.declared_length;
      return false;
    }
    out.bodies.emplace_back(parsed.body);
  }
  return true;
}

Outcome walk_chunked(std::string_view stream, std::size_t read_size, std::uint32_t max_body,
                     Rng& rng) {
  Outcome out;
  pb::FrameBuffer buffer(read_size, max_body);
  const std::size_t max_chunk = 1 + rng.below(2 * read_size + 16);
  while (!stream.empty()) {
    std::size_t chunk = 1 + rng.below(max_chunk);
    while (chunk > 0 && !stream.empty()) {
      char* at = buffer.writable_data();
      require(buffer.writable_size() > 0, "writable_size is 0");
      const std::size_t n = std::min({chunk, stream.size(), buffer.writable_size()});
      std::memcpy(at, stream.data(), n);
      buffer.commit(n);
      stream.remove_prefix(n);
      chunk -= n;
      // 0..2 frames, or all of them.
      const std::size_t pick = rng.below(4);
      if (!take_frames(buffer, pick == 3 ? SIZE_MAX : pick, out)) return out;
    }
  }
  if (!take_frames(buffer, SIZE_MAX, out)) return out;
  out.end = pb::FrameStatus::need_more;
  out.leftover = buffer.buffered();
  require(buffer.partial() == (out.leftover > 0), "partial() disagrees with buffered()");
  return out;
}

void check_channel_name(std::string_view name) {
  const auto kind = pb::check_channel(name);
  if (kind.ok()) {
    require(*kind == pb::channel_kind(name), "check_channel and channel_kind disagree");
    require(pb::valid_pb0_channel(name), "a valid PB1 channel is not a valid PB0 channel");
    require(!name.empty() && name.size() <= pb::max_channel_size, "accepted a bad length");
  } else {
    require(kind.error() == pb::Errc::bad_channel, "check_channel failed with another code");
  }
}

void check_channels_of(const pb::Message& m) {
  std::visit(
      [](const auto& fields) {
        if constexpr (requires { fields.channel; }) check_channel_name(fields.channel);
        if constexpr (requires { fields.reply_to; }) check_channel_name(fields.reply_to);
      },
      m);
}

// Decodes `body` as a connection of `version` would, and checks the re-encoding.
void check_body_as(std::string_view body, std::uint8_t version) {
  const auto decoded = pb::decode(body, version);
  if (!decoded.ok()) {
    require(decoded.error() == pb::Errc::protocol, "decode failed with another code");
    return;
  }
  const pb::Message& m = *decoded;
  require(static_cast<unsigned char>(body.front()) == static_cast<unsigned>(pb::op_of(m)),
          "op_of is not the first byte");
  check_channels_of(m);

  const std::string frame = pb::encode_frame(m, version);
  require(frame.size() == pb::frame_header_size + pb::encoded_body_size(m, version), "frame size");
  const pb::FrameParse parsed = pb::parse_frame(frame, UINT32_MAX);
  require(parsed.status == pb::FrameStatus::frame, "re-encoded frame does not parse");
  require(parsed.body.size() == pb::encoded_body_size(m, version), "re-encoded body size");
  const auto again = pb::decode(parsed.body, version);
  require(again.ok(), "re-encoded message does not decode");
  require(paperboy::protocol::test::same_fields(*again, m), "re-encoded fields differ");

  const auto* hello = std::get_if<pb::Hello>(&m);
  if (hello == nullptr ||
      (hello->version >= pb::pb1_version && hello->version <= pb::pb1_latest_version)) {
    require(parsed.body == body, "re-encoding is not byte-identical");
  }
  if (const auto* pub = std::get_if<pb::Pub>(&m)) {
    require(pb::valid_header_block(pub->headers), "decoded a malformed header block");
  }
  if (const auto* msg = std::get_if<pb::Msg>(&m); msg != nullptr && version == pb::pb1_version_2) {
    const pb::MsgV2Layout layout =
        pb::msg_v2_layout(msg->channel, msg->reply_to, msg->headers, msg->payload.size());
    require(layout.body_size() == body.size(), "msg_v2_layout disagrees with decode");
    require(pb::valid_header_block(msg->headers), "decoded a malformed header block");
  }
  if (const auto* msg = std::get_if<pb::Msg>(&m); msg != nullptr && version == pb::pb1_version) {
    require(
        pb::msg_payload_offset(msg->channel, msg->reply_to) + msg->payload.size() == body.size(),
        "msg_payload_offset disagrees with decode");
  }
}

void check_body(std::string_view body) {
  check_channel_name(body);
  check_body_as(body, pb::pb1_version);
  check_body_as(body, pb::pb1_version_2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::size_t read_size = 1 + data[0] % 128;
  const auto max_body = static_cast<std::uint32_t>(data[1]) * 16;
  Rng rng(data[2]);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 3, size - 3);

  const Outcome whole = walk_whole(stream, max_body);
  const Outcome chunked = walk_chunked(stream, read_size, max_body, rng);
  require(chunked.bodies == whole.bodies, "chunked reads yield other frames");
  require(chunked.end == whole.end, "chunked reads end in another state");
  if (whole.end == pb::FrameStatus::too_large) {
    require(whole.refused_length > max_body, "refused a frame within the limit");
    require(chunked.refused_length == whole.refused_length, "refused another length");
  } else {
    require(chunked.leftover == whole.leftover, "chunked reads leave other bytes");
  }

  for (const std::string& body : whole.bodies) check_body(body);
  return 0;
}
