// PB0, the legacy dialect (protocol/PROTOCOL.md "PB0, the legacy dialect"): a subscriber's first
// frame is its one channel, a publish is a channel frame then a data frame, and a subscriber gets
// each payload as a bare frame. The framing comes from paperboy::protocol.
#include "paperboy/protocol/frame.hpp"
#include "wire_protocol.hpp"

namespace paperboy::bench {
namespace {

namespace pb = paperboy::protocol;

constexpr std::uint32_t max_body = pb::max_frame_body(256u * 1024 * 1024);
// PB0 senders subscribe here so that they receive nothing (the prototype's convention).
constexpr std::string_view publisher_channel = "/null";

std::string pb0_channel(const ChannelSpec& channel) {
  return (channel.queue ? "/queue/" : "/topic/") + channel.name;
}

std::string frame(std::string_view body) {
  std::string out(pb::frame_header_size, '\0');
  pb::write_frame_header(out.data(), static_cast<std::uint32_t>(body.size()));
  out.append(body);
  return out;
}

// Everything the broker sends a PB0 client is a payload.
class Pb0Parser final : public ServerParser {
 public:
  std::size_t parse(std::string_view bytes, ServerEvents& events) override {
    std::size_t used = 0;
    for (;;) {
      const auto unit = pb::parse_frame(bytes.substr(used), max_body);
      if (unit.status == pb::FrameStatus::need_more) return used;
      if (unit.status == pb::FrameStatus::too_large) return npos;
      used += pb::frame_header_size + unit.body.size();
      events.on_payload(unit.body, 0);
    }
  }
};

class Pb0Protocol final : public WireProtocol {
 public:
  BrokerKind kind() const noexcept override { return BrokerKind::pb0; }
  bool supports_queue() const noexcept override { return true; }
  bool confirms_subscription() const noexcept override { return false; }

  std::string greeting(std::string_view) const override { return {}; }
  std::string publisher_greeting(std::string_view) const override {
    return frame(publisher_channel);
  }
  std::string subscribe(const ChannelSpec& channel, std::uint32_t) const override {
    return frame(pb0_channel(channel));
  }

  PublishTemplate publish_template(const ChannelSpec& channel,
                                   std::size_t payload_size) const override {
    PublishTemplate t;
    t.bytes = frame(pb0_channel(channel)) + frame(std::string(payload_size, '\0'));
    t.payload_offset = t.bytes.size() - payload_size;
    return t;
  }

  std::unique_ptr<ServerParser> make_parser() const override {
    return std::make_unique<Pb0Parser>();
  }
};

}  // namespace

std::unique_ptr<WireProtocol> make_pb0_protocol() {
  return std::make_unique<Pb0Protocol>();
}

}  // namespace paperboy::bench
