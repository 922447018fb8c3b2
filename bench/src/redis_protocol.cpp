// Redis RESP2 pub/sub: PUBLISH and SUBSCRIBE as arrays of bulk strings; the server answers each
// PUBLISH with an integer and pushes ["message", channel, payload] arrays to subscribers.
// Redis has no way to hand each message to one of several consumers over pub/sub, so it has no
// queue workload.
#include <array>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "wire_protocol.hpp"

namespace paperboy::bench {
namespace {

constexpr std::size_t max_line = 64 * 1024;

enum class Status { complete, incomplete, bad };

// A RESP reader over bytes that may end anywhere: every read either completes or says
// "incomplete" without consuming, and the caller retries with more bytes later.
class RespReader {
 public:
  explicit RespReader(std::string_view bytes) : bytes_(bytes) {}

  std::size_t position() const noexcept { return pos_; }
  bool at_end() const noexcept { return pos_ == bytes_.size(); }
  char peek() const noexcept { return bytes_[pos_]; }

  // A line ending in CRLF, without it.
  Status line(std::string_view& out) {
    const std::string_view rest = bytes_.substr(pos_);
    const auto* newline = static_cast<const char*>(std::memchr(rest.data(), '\n', rest.size()));
    if (!newline) return rest.size() > max_line ? Status::bad : Status::incomplete;
    const auto end = static_cast<std::size_t>(newline - rest.data());
    if (end == 0 || rest[end - 1] != '\r') return Status::bad;
    out = rest.substr(0, end - 1);
    pos_ += end + 1;
    return Status::complete;
  }

  // One scalar value (simple string, error, integer or bulk string): its type byte and text.
  Status scalar(char& type, std::string_view& text) {
    std::string_view head;
    if (const auto s = line(head); s != Status::complete) return s;
    if (head.empty()) return Status::bad;
    type = head.front();
    if (type != '$') {
      text = head.substr(1);
      return Status::complete;
    }
    long long size = 0;
    if (!number(head.substr(1), size)) return Status::bad;
    if (size < 0) {
      text = {};
      return Status::complete;
    }
    const auto n = static_cast<std::size_t>(size);
    if (bytes_.size() - pos_ < n + 2) return Status::incomplete;
    if (bytes_[pos_ + n] != '\r' || bytes_[pos_ + n + 1] != '\n') return Status::bad;
    text = bytes_.substr(pos_, n);
    pos_ += n + 2;
    return Status::complete;
  }

  static bool number(std::string_view text, long long& out) {
    const auto* last = text.data() + text.size();
    return !text.empty() && std::from_chars(text.data(), last, out).ptr == last;
  }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

class RedisParser final : public ServerParser {
 public:
  std::size_t parse(std::string_view bytes, ServerEvents& events) override {
    std::size_t used = 0;
    for (;;) {
      RespReader reader(bytes.substr(used));
      const Status s = one_value(reader, events);
      if (s == Status::incomplete) return used;
      if (s == Status::bad) return npos;
      used += reader.position();
    }
  }

 private:
  static Status one_value(RespReader& reader, ServerEvents& events) {
    if (reader.at_end()) return Status::incomplete;
    const char first = reader.peek();
    // Arrays (and RESP3 pushes) carry the messages and the subscribe confirmations.
    if (first == '*' || first == '>') return array(reader, events);
    char type = 0;
    std::string_view text;
    if (const auto s = reader.scalar(type, text); s != Status::complete) return s;
    if (type == '-') events.on_error(text);
    // ':' answers a PUBLISH with its receiver count, '+' is a status: nothing to do.
    return type == '-' || type == ':' || type == '+' || type == '$' ? Status::complete
                                                                    : Status::bad;
  }

  static Status array(RespReader& reader, ServerEvents& events) {
    std::string_view head;
    if (const auto s = reader.line(head); s != Status::complete) return s;
    long long count = 0;
    if (!RespReader::number(head.substr(1), count) || count > 64) return Status::bad;
    std::array<std::string_view, 4> items{};
    for (long long i = 0; i < count; ++i) {
      char type = 0;
      std::string_view text;
      if (const auto s = reader.scalar(type, text); s != Status::complete) return s;
      if (i < 4) items[static_cast<std::size_t>(i)] = text;
    }
    if (count == 3 && items[0] == "message") {
      events.on_payload(items[2], 0);
    } else if (count == 4 && items[0] == "pmessage") {
      events.on_payload(items[3], 0);
    } else if (count == 3 && items[0] == "subscribe") {
      events.on_confirm();
    }
    return Status::complete;
  }
};

std::string bulk(std::string_view s) {
  return fmt::format("${}\r\n{}\r\n", s.size(), s);
}

class RedisProtocol final : public WireProtocol {
 public:
  BrokerKind kind() const noexcept override { return BrokerKind::redis; }
  bool supports_queue() const noexcept override { return false; }

  std::string greeting(std::string_view) const override { return {}; }

  std::string subscribe(const ChannelSpec& channel, std::uint32_t) const override {
    return "*2\r\n" + bulk("SUBSCRIBE") + bulk(channel.name);
  }

  PublishTemplate publish_template(const ChannelSpec& channel,
                                   std::size_t payload_size) const override {
    PublishTemplate t;
    t.bytes =
        "*3\r\n" + bulk("PUBLISH") + bulk(channel.name) + fmt::format("${}\r\n", payload_size);
    t.payload_offset = t.bytes.size();
    t.bytes.append(payload_size, '\0');
    t.bytes.append("\r\n");
    return t;
  }

  std::unique_ptr<ServerParser> make_parser() const override {
    return std::make_unique<RedisParser>();
  }
};

}  // namespace

std::unique_ptr<WireProtocol> make_redis_protocol() {
  return std::make_unique<RedisProtocol>();
}

}  // namespace paperboy::bench
