#include "ack_ledger.hpp"

#include <algorithm>

namespace paperboy::broker {

std::uint64_t AckLedger::record(SharedBuffer message, std::uint32_t failures,
                                QueueConsumer& consumer) {
  const std::uint64_t id = next_id_++;
  unacked_.emplace(id, Unacked{std::move(message), failures, &consumer});
  return id;
}

std::optional<AckLedger::Unacked> AckLedger::take(std::uint64_t id) {
  const auto it = unacked_.find(id);
  if (it == unacked_.end()) return std::nullopt;
  Unacked unacked = std::move(it->second);
  unacked_.erase(it);
  return unacked;
}

std::vector<std::pair<std::uint64_t, AckLedger::Unacked>> AckLedger::take_all(
    const QueueConsumer& consumer) {
  std::vector<std::pair<std::uint64_t, Unacked>> taken;
  for (auto it = unacked_.begin(); it != unacked_.end();) {
    if (it->second.consumer == &consumer) {
      taken.emplace_back(it->first, std::move(it->second));
      it = unacked_.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(taken.begin(), taken.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return taken;
}

}  // namespace paperboy::broker
