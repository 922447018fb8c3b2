// PB1, paperboy's own protocol, through paperboy::protocol: frames are built and parsed by the
// codec, never by hand here.
#include <fmt/format.h>

#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "paperboy/protocol/msg_layout.hpp"
#include "wire_protocol.hpp"

namespace paperboy::bench {
namespace {

namespace pb = paperboy::protocol;

// The bench accepts any frame a broker may legally send, whatever max_payload it announced.
constexpr std::uint32_t max_body = pb::max_frame_body(256u * 1024 * 1024);

std::string pb1_channel(const ChannelSpec& channel) {
  return (channel.queue ? "/queue/" : "/topic/") + channel.name;
}

std::string pb1_subscription(const ChannelSpec& channel) {
  return channel.subscribe_name.empty() ? pb1_channel(channel) : channel.subscribe_name;
}

// Every MSG a subscriber gets carries the same channel and reply-to (and, in version 2, the same
// header block), so their bytes are the same from frame to frame. The first MSG is decoded in
// full, and the codec says where its payload starts (its MsgLayout or MsgV2Layout); after that a
// frame whose op and name bytes match is known to be laid out the same, and its payload and
// delivery id are taken without decoding the rest again. Anything else goes through decode(), in
// the version the connection's WELCOME named. This keeps the bench's per-message cost near that
// of the NATS and Redis parsers.
class Pb1Parser final : public ServerParser {
 public:
  std::size_t parse(std::string_view bytes, ServerEvents& events) override {
    std::size_t used = 0;
    for (;;) {
      const auto frame = pb::parse_frame(bytes.substr(used), max_body);
      if (frame.status == pb::FrameStatus::need_more) return used;
      if (frame.status == pb::FrameStatus::too_large) return npos;
      used += pb::frame_header_size + frame.body.size();
      if (same_layout(frame.body)) {
        events.on_payload(frame.body.substr(payload_offset_), pb::msg_delivery(frame.body));
        continue;
      }
      const auto message = pb::decode(frame.body, version_);
      if (!message) return npos;
      if (const auto* msg = std::get_if<pb::Msg>(&*message)) {
        learn_layout(frame.body, *msg);
        events.on_payload(msg->payload, msg->delivery);
      } else if (const auto* ok = std::get_if<pb::Ok>(&*message)) {
        events.on_ok(ok->req);
      } else if (const auto* gap = std::get_if<pb::Gap>(&*message)) {
        events.on_gap(gap->dropped);
      } else if (const auto* err = std::get_if<pb::Err>(&*message)) {
        events.on_err(err->req, err->code, err->text);
      } else if (const auto* ping = std::get_if<pb::Ping>(&*message)) {
        events.on_reply(pb::encode_frame(pb::Pong{ping->token}));
      } else if (const auto* welcome = std::get_if<pb::Welcome>(&*message)) {
        version_ = welcome->version;
      }
      // PONG, BLOCKED and UNBLOCKED need nothing.
    }
  }

 private:
  void learn_layout(std::string_view body, const pb::Msg& msg) {
    if (version_ >= pb::pb1_version_2) {
      const auto layout =
          pb::msg_v2_layout(msg.channel, msg.reply_to, msg.headers, msg.payload.size());
      names_offset_ = pb::MsgV2Layout::names_offset;
      payload_offset_ = layout.payload_offset();
    } else {
      const auto layout = pb::msg_layout(msg.channel, msg.reply_to, msg.payload.size());
      names_offset_ = pb::MsgLayout::names_offset;
      payload_offset_ = layout.payload_offset();
    }
    names_.assign(body.substr(names_offset_, payload_offset_ - names_offset_));
  }

  bool same_layout(std::string_view body) const noexcept {
    return !names_.empty() && body.size() >= payload_offset_ &&
           static_cast<pb::Op>(body.front()) == pb::Op::msg &&
           body.substr(names_offset_, names_.size()) == names_;
  }

  std::uint8_t version_ = pb::pb1_version;
  std::size_t names_offset_ = 0;
  std::size_t payload_offset_ = 0;
  // From the first MSG: the channel and reply-to fields with their lengths (and in version 2 the
  // header block with its length), everything between the per-message fields and the payload.
  std::string names_;
};

class Pb1Protocol final : public WireProtocol {
 public:
  explicit Pb1Protocol(std::uint8_t subscriber_version) : subscriber_version_(subscriber_version) {}

  BrokerKind kind() const noexcept override { return BrokerKind::pb1; }
  bool supports_queue() const noexcept override { return true; }

  std::string greeting(std::string_view client_name) const override {
    return pb::encode_frame(pb::Hello{subscriber_version_, client_name, {}});
  }

  std::string publisher_greeting(std::string_view client_name) const override {
    return pb::encode_frame(pb::Hello{pb::pb1_version, client_name, {}});
  }

  std::string subscribe(const ChannelSpec& channel, std::uint32_t id) const override {
    // req = id + 1: a non-zero req asks for the OK that confirms the subscription.
    const std::uint8_t flags = channel.manual_ack ? pb::sub_flag_manual_ack : std::uint8_t{0};
    return pb::encode_frame(pb::Sub{id + 1, flags, channel.prefetch, pb1_subscription(channel)});
  }

  PublishTemplate publish_template(const ChannelSpec& channel,
                                   std::size_t payload_size) const override {
    const std::string name = pb1_channel(channel);
    const std::string payload(payload_size, '\0');
    PublishTemplate t;
    t.bytes = pb::encode_frame(pb::Pub{0, name, {}, payload});
    // The payload is the rest of the frame.
    t.payload_offset = t.bytes.size() - payload_size;
    return t;
  }

  std::unique_ptr<ServerParser> make_parser() const override {
    return std::make_unique<Pb1Parser>();
  }

  void append_ack(std::string& out, std::uint64_t delivery) const override {
    pb::append_frame(out, pb::Ack{delivery});
  }

 private:
  std::uint8_t subscriber_version_;
};

}  // namespace

std::unique_ptr<WireProtocol> make_pb1_protocol(std::uint8_t subscriber_version) {
  return std::make_unique<Pb1Protocol>(subscriber_version);
}

}  // namespace paperboy::bench
