#include "paperboy/protocol/messages.hpp"

#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>

#include "big_endian.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/headers.hpp"

namespace paperboy::protocol {
namespace {

// Cursor over a frame body. Every read checks the bounds; the first failed read poisons the
// cursor, so a decoder can read all fields and check ok() once.
class BodyReader {
 public:
  explicit BodyReader(std::string_view body) : rest_(body) {}

  template <class T>
  T integer() noexcept {
    if (rest_.size() < sizeof(T)) {
      fail();
      return 0;
    }
    const T value = detail::load_be<T>(rest_.data());
    rest_.remove_prefix(sizeof(T));
    return value;
  }
  std::string_view u16_string() noexcept {
    const std::size_t n = integer<std::uint16_t>();
    if (rest_.size() < n) {
      fail();
      return {};
    }
    const std::string_view s(rest_.data(), n);
    rest_.remove_prefix(n);
    return s;
  }
  std::string_view rest() noexcept { return std::exchange(rest_, std::string_view{}); }
  bool ok() const noexcept { return ok_; }
  bool done() const noexcept { return ok_ && rest_.empty(); }
  // Nothing is left to read after a failure, so every later field reads as empty or zero.
  void fail() noexcept {
    ok_ = false;
    rest_ = {};
  }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

class BodyWriter {
 public:
  explicit BodyWriter(char* out) : out_(out) {}
  template <class T>
  void integer(T v) noexcept {
    out_ = detail::store_be(out_, v);
  }
  void bytes(std::string_view s) noexcept {
    if (!s.empty()) std::memcpy(out_, s.data(), s.size());
    out_ += s.size();
  }
  void u16_string(std::string_view s) noexcept {
    integer(static_cast<std::uint16_t>(s.size()));
    bytes(s);
  }
  char* end() const noexcept { return out_; }

 private:
  char* out_;
};

bool speaks_v2(std::uint8_t version) noexcept {
  return version >= pb1_version_2;
}

// A version 2 header block; a malformed one poisons the reader like a truncated field.
std::string_view read_headers(BodyReader& r) noexcept {
  const auto block = r.u16_string();
  if (r.ok() && !block.empty() && !valid_header_block(block)) r.fail();
  return block;
}

// One overload set per message: its fields, in wire order, for decoding, sizing and writing.
// PUB and MSG are read and written once per message: their version is a template argument, so the
// version 1 path has no version tests and inlines as it did before version 2.
template <std::uint8_t Version>
Pub read_pub_as(BodyReader& r) noexcept {
  Pub m;
  m.req = r.integer<std::uint32_t>();
  if constexpr (Version >= pb1_version_2) {
    m.flags = r.integer<std::uint8_t>();
    m.ttl_ms = r.integer<std::uint32_t>();
  }
  m.channel = r.u16_string();
  m.reply_to = r.u16_string();
  if constexpr (Version >= pb1_version_2) m.headers = read_headers(r);
  m.payload = r.rest();
  return m;
}
Pub read_pub(BodyReader& r, std::uint8_t version) noexcept {
  return speaks_v2(version) ? read_pub_as<pb1_version_2>(r) : read_pub_as<pb1_version>(r);
}

template <std::uint8_t Version>
Msg read_msg_as(BodyReader& r) noexcept {
  Msg m;
  m.delivery = r.integer<std::uint64_t>();
  m.flags = r.integer<std::uint8_t>();
  if constexpr (Version >= pb1_version_2) m.published_at = r.integer<std::uint64_t>();
  m.channel = r.u16_string();
  m.reply_to = r.u16_string();
  if constexpr (Version >= pb1_version_2) m.headers = read_headers(r);
  m.payload = r.rest();
  return m;
}
Msg read_msg(BodyReader& r, std::uint8_t version) noexcept {
  return speaks_v2(version) ? read_msg_as<pb1_version_2>(r) : read_msg_as<pb1_version>(r);
}

// The op byte of a body, if `version` has that op.
std::optional<Op> op_in(std::string_view body, std::uint8_t version) noexcept {
  if (body.empty()) return std::nullopt;
  const auto op = static_cast<unsigned char>(body.front());
  const auto last = speaks_v2(version) ? Op::unblocked : Op::gap;
  if (op > static_cast<unsigned char>(last)) return std::nullopt;
  return static_cast<Op>(op);
}

Result<Message> decode_fields(BodyReader& r, Op op, std::uint8_t version) noexcept {
  // Fixed-size messages must end exactly where their last field does; messages whose last field
  // is "rest of frame" cannot have trailing bytes.
  const auto finish = [&r](Message m) -> Result<Message> {
    if (!r.done()) return Errc::protocol;
    return m;
  };
  switch (op) {
    case Op::hello: {
      const auto p = r.integer<std::uint8_t>();
      const auto b = r.integer<std::uint8_t>();
      if (r.ok() && (p != 'P' || b != 'B')) return Errc::protocol;
      Hello m;
      m.version = r.integer<std::uint8_t>();
      // Another version may lay out the rest differently: hand it back for the caller to
      // refuse with unsupported_version rather than calling it malformed. Versions 1 and 2
      // share this layout.
      if (r.ok() && (m.version < pb1_version || m.version > pb1_latest_version)) {
        return Message{m};
      }
      m.client_name = r.u16_string();
      m.token = r.u16_string();
      return finish(m);
    }
    case Op::welcome: {
      Welcome m;
      m.version = r.integer<std::uint8_t>();
      m.max_payload = r.integer<std::uint32_t>();
      m.server_id = r.u16_string();
      if (speaks_v2(m.version)) m.server_version = r.u16_string();
      return finish(m);
    }
    case Op::sub: {
      Sub m;
      m.req = r.integer<std::uint32_t>();
      m.flags = r.integer<std::uint8_t>();
      m.prefetch = r.integer<std::uint16_t>();
      m.channel = r.u16_string();
      return finish(m);
    }
    case Op::unsub: {
      Unsub m;
      m.req = r.integer<std::uint32_t>();
      m.channel = r.u16_string();
      return finish(m);
    }
    case Op::pub: return finish(read_pub(r, version));
    case Op::msg: return finish(read_msg(r, version));
    case Op::ack: return finish(Ack{r.integer<std::uint64_t>()});
    case Op::nack: return finish(Nack{r.integer<std::uint64_t>()});
    case Op::ok: return finish(Ok{r.integer<std::uint32_t>()});
    case Op::err: {
      Err m;
      m.req = r.integer<std::uint32_t>();
      m.code = r.integer<std::uint16_t>();
      m.text = r.rest();
      return finish(m);
    }
    case Op::ping: return finish(Ping{r.integer<std::uint64_t>()});
    case Op::pong: return finish(Pong{r.integer<std::uint64_t>()});
    case Op::gap: {
      Gap m;
      m.dropped = r.integer<std::uint64_t>();
      m.channel = r.u16_string();
      return finish(m);
    }
    case Op::blocked: return finish(Blocked{r.u16_string()});
    case Op::unblocked: return finish(Unblocked{r.u16_string()});
  }
  return Errc::protocol;
}

constexpr std::size_t str16(std::string_view s) noexcept {
  return 2 + s.size();
}

std::size_t fields_size(const Hello& m) noexcept {
  return 3 + str16(m.client_name) + str16(m.token);
}
std::size_t fields_size(const Welcome& m) noexcept {
  return 1 + 4 + str16(m.server_id) + (speaks_v2(m.version) ? str16(m.server_version) : 0);
}
std::size_t fields_size(const Sub& m) noexcept {
  return 4 + 1 + 2 + str16(m.channel);
}
std::size_t fields_size(const Unsub& m) noexcept {
  return 4 + str16(m.channel);
}
std::size_t fields_size(const Pub& m, std::uint8_t version) noexcept {
  const std::size_t v2_fields = speaks_v2(version) ? 1 + 4 + str16(m.headers) : 0;
  return 4 + v2_fields + str16(m.channel) + str16(m.reply_to) + m.payload.size();
}
std::size_t fields_size(const Msg& m, std::uint8_t version) noexcept {
  const std::size_t body_size =
      speaks_v2(version)
          ? msg_v2_layout(m.channel, m.reply_to, m.headers, m.payload.size()).body_size()
          : msg_layout(m.channel, m.reply_to, m.payload.size()).body_size();
  return body_size - 1;
}
std::size_t fields_size(const Ack&) noexcept {
  return 8;
}
std::size_t fields_size(const Nack&) noexcept {
  return 8;
}
std::size_t fields_size(const Ok&) noexcept {
  return 4;
}
std::size_t fields_size(const Err& m) noexcept {
  return 4 + 2 + m.text.size();
}
std::size_t fields_size(const Ping&) noexcept {
  return 8;
}
std::size_t fields_size(const Pong&) noexcept {
  return 8;
}
std::size_t fields_size(const Gap& m) noexcept {
  return 8 + str16(m.channel);
}
std::size_t fields_size(const Blocked& m) noexcept {
  return str16(m.channel);
}
std::size_t fields_size(const Unblocked& m) noexcept {
  return str16(m.channel);
}

void write_fields(BodyWriter& w, const Hello& m) noexcept {
  w.integer<std::uint8_t>('P');
  w.integer<std::uint8_t>('B');
  w.integer(m.version);
  w.u16_string(m.client_name);
  w.u16_string(m.token);
}
void write_fields(BodyWriter& w, const Welcome& m) noexcept {
  w.integer(m.version);
  w.integer(m.max_payload);
  w.u16_string(m.server_id);
  if (speaks_v2(m.version)) w.u16_string(m.server_version);
}
void write_fields(BodyWriter& w, const Sub& m) noexcept {
  w.integer(m.req);
  w.integer(m.flags);
  w.integer(m.prefetch);
  w.u16_string(m.channel);
}
void write_fields(BodyWriter& w, const Unsub& m) noexcept {
  w.integer(m.req);
  w.u16_string(m.channel);
}
void write_fields(BodyWriter& w, const Pub& m, std::uint8_t version) noexcept {
  w.integer(m.req);
  if (speaks_v2(version)) {
    w.integer(m.flags);
    w.integer(m.ttl_ms);
  }
  w.u16_string(m.channel);
  w.u16_string(m.reply_to);
  if (speaks_v2(version)) w.u16_string(m.headers);
  w.bytes(m.payload);
}
template <std::uint8_t Version>
void write_msg_fields(BodyWriter& w, const Msg& m) noexcept {
  w.integer(m.delivery);
  w.integer(m.flags);
  if constexpr (Version >= pb1_version_2) w.integer(m.published_at);
  w.u16_string(m.channel);
  w.u16_string(m.reply_to);
  if constexpr (Version >= pb1_version_2) w.u16_string(m.headers);
  w.bytes(m.payload);
}
void write_fields(BodyWriter& w, const Msg& m, std::uint8_t version) noexcept {
  if (speaks_v2(version)) return write_msg_fields<pb1_version_2>(w, m);
  write_msg_fields<pb1_version>(w, m);
}
void write_fields(BodyWriter& w, const Ack& m) noexcept {
  w.integer(m.delivery);
}
void write_fields(BodyWriter& w, const Nack& m) noexcept {
  w.integer(m.delivery);
}
void write_fields(BodyWriter& w, const Ok& m) noexcept {
  w.integer(m.req);
}
void write_fields(BodyWriter& w, const Err& m) noexcept {
  w.integer(m.req);
  w.integer(m.code);
  w.bytes(m.text);
}
void write_fields(BodyWriter& w, const Ping& m) noexcept {
  w.integer(m.token);
}
void write_fields(BodyWriter& w, const Pong& m) noexcept {
  w.integer(m.token);
}
void write_fields(BodyWriter& w, const Gap& m) noexcept {
  w.integer(m.dropped);
  w.u16_string(m.channel);
}
void write_fields(BodyWriter& w, const Blocked& m) noexcept {
  w.u16_string(m.channel);
}
void write_fields(BodyWriter& w, const Unblocked& m) noexcept {
  w.u16_string(m.channel);
}

// Only PUB and MSG have a layout per version; every other op is the same in both.
template <class T>
constexpr bool versioned_layout = std::is_same_v<T, Pub> || std::is_same_v<T, Msg>;

std::size_t size_in(const Message& m, std::uint8_t version) noexcept {
  return std::visit(
      [version](const auto& fields) {
        if constexpr (versioned_layout<std::decay_t<decltype(fields)>>) {
          return fields_size(fields, version);
        } else {
          return fields_size(fields);
        }
      },
      m);
}

void write_in(BodyWriter& w, const Message& m, std::uint8_t version) noexcept {
  std::visit(
      [&w, version](const auto& fields) {
        if constexpr (versioned_layout<std::decay_t<decltype(fields)>>) {
          write_fields(w, fields, version);
        } else {
          write_fields(w, fields);
        }
      },
      m);
}

// Writes the frame of a MSG whose body has `body_size` bytes.
template <std::uint8_t Version>
char* write_msg(char* out, const Msg& msg, std::size_t body_size) noexcept {
  write_frame_header(out, static_cast<std::uint32_t>(body_size));
  BodyWriter w(out + frame_header_size);
  w.integer(static_cast<std::uint8_t>(Op::msg));
  write_msg_fields<Version>(w, msg);
  return w.end();
}

}  // namespace

std::string_view op_name(Op op) noexcept {
  switch (op) {
    case Op::hello: return "HELLO";
    case Op::welcome: return "WELCOME";
    case Op::sub: return "SUB";
    case Op::unsub: return "UNSUB";
    case Op::pub: return "PUB";
    case Op::msg: return "MSG";
    case Op::ack: return "ACK";
    case Op::nack: return "NACK";
    case Op::ok: return "OK";
    case Op::err: return "ERR";
    case Op::ping: return "PING";
    case Op::pong: return "PONG";
    case Op::gap: return "GAP";
    case Op::blocked: return "BLOCKED";
    case Op::unblocked: return "UNBLOCKED";
  }
  return "unknown op";
}

Result<Message> decode(std::string_view body, std::uint8_t version) noexcept {
  const auto op = op_in(body, version);
  if (!op) return Errc::protocol;
  BodyReader reader(body.substr(1));
  return decode_fields(reader, *op, version);
}

std::optional<Pub> decode_pub(std::string_view body, std::uint8_t version) noexcept {
  if (body.empty() || static_cast<Op>(body.front()) != Op::pub) return std::nullopt;
  BodyReader reader(body.substr(1));
  const Pub pub =
      speaks_v2(version) ? read_pub_as<pb1_version_2>(reader) : read_pub_as<pb1_version>(reader);
  if (!reader.ok()) return std::nullopt;
  return pub;
}

namespace {
template <std::uint8_t Version>
std::optional<Msg> decode_msg_as(std::string_view body) noexcept {
  BodyReader reader(body.substr(1));
  const Msg msg = read_msg_as<Version>(reader);
  if (!reader.ok()) return std::nullopt;
  return msg;
}
}  // namespace

std::optional<Msg> decode_msg(std::string_view body, std::uint8_t version) noexcept {
  if (body.empty() || static_cast<Op>(body.front()) != Op::msg) return std::nullopt;
  return speaks_v2(version) ? decode_msg_as<pb1_version_2>(body) : decode_msg_as<pb1_version>(body);
}

std::size_t encoded_body_size(const Message& m, std::uint8_t version) noexcept {
  return 1 + size_in(m, version);
}

char* write_frame(const Message& m, char* out, std::uint8_t version) noexcept {
  const auto body = encoded_body_size(m, version);
  write_frame_header(out, static_cast<std::uint32_t>(body));
  BodyWriter w(out + frame_header_size);
  w.integer(static_cast<std::uint8_t>(op_of(m)));
  write_in(w, m, version);
  return w.end();
}

MsgLayout write_msg_frame(char* out, const Msg& msg) noexcept {
  const MsgLayout layout = msg_layout(msg.channel, msg.reply_to, msg.payload.size());
  write_msg<pb1_version>(out, msg, layout.body_size());
  return layout;
}

MsgV2Layout write_msg_v2_frame(char* out, const Msg& msg) noexcept {
  const MsgV2Layout layout =
      msg_v2_layout(msg.channel, msg.reply_to, msg.headers, msg.payload.size());
  write_msg<pb1_version_2>(out, msg, layout.body_size());
  return layout;
}

std::string encode_frame(const Message& m, std::uint8_t version) {
  std::string out;
  append_frame(out, m, version);
  return out;
}

void append_frame(std::string& out, const Message& m, std::uint8_t version) {
  const auto at = out.size();
  out.resize(at + frame_header_size + encoded_body_size(m, version));
  write_frame(m, out.data() + at, version);
}

void append_raw_frame(std::string& out, std::string_view bytes) {
  const auto at = out.size();
  out.resize(at + frame_header_size + bytes.size());
  write_frame_header(out.data() + at, static_cast<std::uint32_t>(bytes.size()));
  if (!bytes.empty()) std::memcpy(out.data() + at + frame_header_size, bytes.data(), bytes.size());
}

std::size_t msg_payload_offset(std::string_view channel, std::string_view reply_to) noexcept {
  return msg_layout(channel, reply_to, 0).payload_offset();
}

}  // namespace paperboy::protocol
