// The NATS client protocol (text): CONNECT, SUB with an optional queue group, PUB, PING/PONG;
// the server sends INFO, MSG, PING, PONG, +OK and -ERR. Written from the protocol's public
// description; nothing here comes from a NATS client library.
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "wire_protocol.hpp"

namespace paperboy::bench {
namespace {

// A control line longer than this without its CRLF is not NATS.
constexpr std::size_t max_control_line = 64 * 1024;
constexpr std::string_view queue_group = "workers";

bool starts_with(std::string_view line, std::string_view word) noexcept {
  return line.size() >= word.size() && line.substr(0, word.size()) == word;
}

class NatsParser final : public ServerParser {
 public:
  std::size_t parse(std::string_view bytes, ServerEvents& events) override {
    std::size_t used = 0;
    for (;;) {
      const std::string_view rest = bytes.substr(used);
      const auto* newline = static_cast<const char*>(std::memchr(rest.data(), '\n', rest.size()));
      if (!newline) return rest.size() > max_control_line ? npos : used;
      const auto line_end = static_cast<std::size_t>(newline - rest.data());
      if (line_end == 0 || rest[line_end - 1] != '\r') return npos;
      const std::string_view line = rest.substr(0, line_end - 1);
      const std::size_t line_size = line_end + 1;

      if (starts_with(line, "MSG ")) {
        // MSG <subject> <sid> [reply-to] <#bytes>: the size is the last token.
        const auto space = line.rfind(' ');
        std::size_t size = 0;
        const auto* first = line.data() + space + 1;
        const auto* last = line.data() + line.size();
        if (std::from_chars(first, last, size).ptr != last) return npos;
        if (rest.size() < line_size + size + 2) return used;
        if (rest[line_size + size] != '\r' || rest[line_size + size + 1] != '\n') return npos;
        events.on_payload(rest.substr(line_size, size), 0);
        used += line_size + size + 2;
        continue;
      }
      used += line_size;
      if (line == "PING") {
        events.on_reply("PONG\r\n");
      } else if (line == "PONG") {
        events.on_confirm();
      } else if (starts_with(line, "-ERR")) {
        events.on_error(line);
      } else if (!starts_with(line, "INFO") && line != "+OK") {
        return npos;
      }
    }
  }
};

class NatsProtocol final : public WireProtocol {
 public:
  BrokerKind kind() const noexcept override { return BrokerKind::nats; }
  bool supports_queue() const noexcept override { return true; }

  std::string greeting(std::string_view client_name) const override {
    // verbose:false: no +OK per PUB, as every real NATS client runs.
    return fmt::format(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"tls_required\":false,"
        "\"name\":\"{}\",\"lang\":\"cpp\",\"version\":\"0.1.0\",\"protocol\":1}}\r\n",
        client_name);
  }

  std::string subscribe(const ChannelSpec& channel, std::uint32_t id) const override {
    // The PONG to the PING behind the SUB confirms that the server has processed the SUB.
    if (channel.queue) {
      return fmt::format("SUB {} {} {}\r\nPING\r\n", channel.name, queue_group, id + 1);
    }
    return fmt::format("SUB {} {}\r\nPING\r\n", channel.name, id + 1);
  }

  PublishTemplate publish_template(const ChannelSpec& channel,
                                   std::size_t payload_size) const override {
    PublishTemplate t;
    t.bytes = fmt::format("PUB {} {}\r\n", channel.name, payload_size);
    t.payload_offset = t.bytes.size();
    t.bytes.append(payload_size, '\0');
    t.bytes.append("\r\n");
    return t;
  }

  std::unique_ptr<ServerParser> make_parser() const override {
    return std::make_unique<NatsParser>();
  }
};

}  // namespace

std::unique_ptr<WireProtocol> make_nats_protocol() {
  return std::make_unique<NatsProtocol>();
}

}  // namespace paperboy::bench
