#include "paperboy/protocol/errc.hpp"

#include <string>

namespace paperboy::protocol {
namespace {

class WireErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "paperboy"; }
  std::string message(int code) const override {
    return std::string(errc_name(static_cast<std::uint16_t>(code)));
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const WireErrorCategory category;
  return category;
}

std::string_view errc_name(std::uint16_t code) noexcept {
  switch (static_cast<Errc>(code)) {
    case Errc::protocol: return "protocol";
    case Errc::frame_too_large: return "frame_too_large";
    case Errc::bad_channel: return "bad_channel";
    case Errc::not_authorized: return "not_authorized";
    case Errc::unknown_delivery: return "unknown_delivery";
    case Errc::shutting_down: return "shutting_down";
    case Errc::too_many_connections: return "too_many_connections";
    case Errc::slow_consumer: return "slow_consumer";
    case Errc::unsupported_version: return "unsupported_version";
    case Errc::auth_failed: return "auth_failed";
    case Errc::no_subscribers: return "no_subscribers";
    case Errc::storage_unavailable: return "storage_unavailable";
  }
  return "unknown";
}

}  // namespace paperboy::protocol
