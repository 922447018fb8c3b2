#include "wire_protocol.hpp"

#include <fmt/format.h>

namespace paperboy::bench {

void ServerEvents::on_err(std::uint32_t req, std::uint16_t code, std::string_view text) {
  on_error(fmt::format("ERR req={} code={} {}", req, code, text));
}

std::string_view broker_name(BrokerKind kind) noexcept {
  switch (kind) {
    case BrokerKind::pb1: return "pb1";
    case BrokerKind::pb0: return "pb0";
    case BrokerKind::nats: return "nats";
    case BrokerKind::redis: return "redis";
  }
  return "unknown";
}

std::unique_ptr<WireProtocol> make_wire_protocol(BrokerKind kind,
                                                 std::uint8_t pb1_subscriber_version) {
  switch (kind) {
    case BrokerKind::pb1: return make_pb1_protocol(pb1_subscriber_version);
    case BrokerKind::pb0: return make_pb0_protocol();
    case BrokerKind::nats: return make_nats_protocol();
    case BrokerKind::redis: return make_redis_protocol();
  }
  return nullptr;
}

}  // namespace paperboy::bench
