#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace paperboy::bench {

/// The brokers paperboy-bench speaks to, by wire protocol.
enum class BrokerKind { pb1, pb0, nats, redis };

/// Name of a broker kind as the --broker option spells it.
std::string_view broker_name(BrokerKind kind) noexcept;

/// A logical channel of a workload; each protocol maps it onto its own naming.
struct ChannelSpec {
  std::string name;    ///< e.g. "bench.fanout"
  bool queue = false;  ///< each message to one consumer (PB1 /queue, NATS queue group)
  /// Subscribers acknowledge each delivery themselves (PB1 /queue only), with at most
  /// `prefetch` unacknowledged at once; 0 lets the broker choose.
  bool manual_ack = false;
  std::uint16_t prefetch = 0;
  /// PB1 only: the full name subscribers SUB to instead of the channel's own (a wildcard pattern
  /// that matches it); empty: the channel's.
  std::string subscribe_name = {};
};

/// What a protocol parser hands up while it walks the bytes the server sent.
class ServerEvents {
 public:
  /// One delivered message's payload (a view into the read buffer, valid during the call) and
  /// the id to acknowledge it with, 0 when it needs no acknowledgement.
  virtual void on_payload(std::string_view payload, std::uint64_t delivery) = 0;
  /// The server confirmed a subscription (PB1 OK, NATS PONG after SUB+PING, Redis "subscribe").
  virtual void on_confirm() = 0;
  /// Bytes the protocol must send back (a PONG to the server's PING).
  virtual void on_reply(std::string_view bytes) = 0;
  /// The server reported an error, or `lost` messages dropped for us (PB1 GAP).
  virtual void on_error(std::string_view text) = 0;
  virtual void on_gap(std::uint64_t lost) = 0;
  /// PB1: request `req` succeeded (a subscription, or a confirmed publish).
  virtual void on_ok(std::uint32_t /*req*/) { on_confirm(); }
  /// PB1: request `req` failed (0: the connection); by default reported as an error text.
  virtual void on_err(std::uint32_t req, std::uint16_t code, std::string_view text);

 protected:
  ~ServerEvents() = default;
};

/// Incremental parser of the server-to-client byte stream of one connection.
class ServerParser {
 public:
  virtual ~ServerParser() = default;
  /// Handles every complete unit at the front of `bytes` and returns how many bytes that took;
  /// an incomplete unit is left for the next call. Returns npos when the stream is garbage.
  virtual std::size_t parse(std::string_view bytes, ServerEvents& events) = 0;

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

/// One publish as bytes on the wire, with a hole for the payload: copied once per message into
/// the batch buffer, after which only the payload's stamp is patched.
struct PublishTemplate {
  std::string bytes;
  std::size_t payload_offset = 0;
};

/// A broker's client protocol, reduced to what a load generator needs. Every workload drives
/// every protocol through this one interface, so the client code path and batching are the same.
class WireProtocol {
 public:
  virtual ~WireProtocol() = default;

  virtual BrokerKind kind() const noexcept = 0;
  /// False where the broker has no way to hand each message to one of several consumers.
  virtual bool supports_queue() const noexcept = 0;
  /// Bytes a connection sends before anything else (PB1 HELLO, NATS CONNECT); may be empty.
  virtual std::string greeting(std::string_view client_name) const = 0;
  /// What a publisher sends first; PB0 makes every connection subscribe before it publishes.
  virtual std::string publisher_greeting(std::string_view client_name) const {
    return greeting(client_name);
  }
  /// False when the server never confirms a subscription (PB0): the subscriber counts itself
  /// subscribed once its request is written, and the run lets the broker settle before it starts.
  virtual bool confirms_subscription() const noexcept { return true; }
  /// Bytes that subscribe to a channel and make the server confirm it exactly once.
  virtual std::string subscribe(const ChannelSpec& channel, std::uint32_t id) const = 0;
  /// One publish to `channel` of a payload of `payload_size` bytes (contents filled in later).
  virtual PublishTemplate publish_template(const ChannelSpec& channel,
                                           std::size_t payload_size) const = 0;
  virtual std::unique_ptr<ServerParser> make_parser() const = 0;
  /// Appends the bytes that acknowledge `delivery` to `out`. Only protocols that report non-zero
  /// delivery ids get here, so the others keep this empty default.
  virtual void append_ack(std::string& /*out*/, std::uint64_t /*delivery*/) const {}
};

/// The protocol a broker kind speaks. PB1 subscribers ask for `pb1_subscriber_version` in HELLO
/// (publishers always speak version 1, so only the subscribers' side changes).
std::unique_ptr<WireProtocol> make_wire_protocol(BrokerKind kind,
                                                 std::uint8_t pb1_subscriber_version = 1);

std::unique_ptr<WireProtocol> make_pb1_protocol(std::uint8_t subscriber_version);
std::unique_ptr<WireProtocol> make_pb0_protocol();
std::unique_ptr<WireProtocol> make_nats_protocol();
std::unique_ptr<WireProtocol> make_redis_protocol();

}  // namespace paperboy::bench
