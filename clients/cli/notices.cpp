#include "notices.hpp"

#include <cstdio>

namespace paperboy::cli {

// Channel names are the broker's checked UTF-8 without spaces or control bytes: they print as
// they are.
void report_notice(const client::Event& event) {
  if (const auto* gap = std::get_if<client::Gap>(&event)) {
    std::fprintf(stderr, "gap channel=%s dropped=%llu\n", gap->channel.c_str(),
                 static_cast<unsigned long long>(gap->dropped));
  } else if (const auto* blocked = std::get_if<client::Blocked>(&event)) {
    std::fprintf(stderr, "blocked channel=%s\n", blocked->channel.c_str());
  } else if (const auto* unblocked = std::get_if<client::Unblocked>(&event)) {
    std::fprintf(stderr, "unblocked channel=%s\n", unblocked->channel.c_str());
  } else if (const auto* lost = std::get_if<client::Disconnected>(&event)) {
    std::fprintf(stderr, "disconnected: %s; reconnecting\n", lost->reason.c_str());
  } else if (const auto* back = std::get_if<client::Reconnected>(&event)) {
    std::fprintf(stderr, "reconnected to %s; subscribed again\n", back->server.c_str());
  }
}

}  // namespace paperboy::cli
