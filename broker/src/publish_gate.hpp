#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string_view>

#include "publication.hpp"
#include "queue_channel.hpp"
#include "router.hpp"

namespace paperboy::broker {

class MemoryBudget;

/// The publishing half of one connection, with no socket: routes its PUBs, and parks those that
/// cannot be taken now (a full queue channel, or the broker's memory alarm) in order, every
/// later PUB behind them. Parked PUBs past --max-read-ahead bytes mean "stop reading this
/// connection" (over_read_ahead): back-pressure by not reading, while the frames before the
/// bound (ACKs, SUBs) still go through.
class PublishGate final : private RoomWaiter {
 public:
  /// A PUB the router has dealt with: taken (Refusal::none), or refused.
  struct Settled {
    std::uint32_t req;
    Router::Refusal refusal;
    std::uint64_t stored_batch = 0;  ///< taken into a durable queue: confirmed with this batch
  };

  /// `on_ready` runs when what the parked PUBs wait for is there (room in the channel, the memory
  /// alarm cleared). It is called from inside a channel's or the server's bookkeeping: it should
  /// schedule the retry, not do it.
  PublishGate(Router& router, MemoryBudget& memory, std::size_t max_read_ahead,
              std::function<void()> on_ready);
  PublishGate(const PublishGate&) = delete;
  PublishGate& operator=(const PublishGate&) = delete;

  /// Routes a PUB now unless PUBs are parked or memory is short: its outcome, or nothing when it
  /// was parked (it then keeps its own copy of the message). Moved from only when parked.
  std::optional<Settled> publish(Publication&& message, std::uint32_t req,
                                 bool require_subscriber = false);

  /// Routes the oldest parked PUB if it can go now: its outcome, or nothing while it must wait
  /// (or none is parked). Call until nothing comes back.
  std::optional<Settled> retry_next();

  /// The memory alarm cleared: if PUBs were parked for it, on_ready runs.
  void on_memory_relieved();

  /// Parked PUBs hold more than the read-ahead: stop reading the connection.
  bool over_read_ahead() const noexcept { return parked_bytes_ > max_read_ahead_; }
  bool empty() const noexcept { return parked_.empty(); }
  std::size_t parked() const noexcept { return parked_.size(); }
  std::size_t parked_bytes() const noexcept { return parked_bytes_; }
  /// The full queue channel the front parked PUB waits for; empty when none does.
  QueueId waiting_on() const noexcept { return waiting_on_; }

  /// The last PUB was routed to `channel` (a name already checked then, so valid now).
  bool routed_last(std::string_view channel) const noexcept {
    return !route_cache_.channel.empty() && channel == route_cache_.channel;
  }

  /// The connection is closing: stops waiting and drops the parked PUBs; returns how many.
  std::size_t abandon();

 private:
  struct ParkedPub {
    Publication message;  ///< encoded: it no longer points into the read buffer
    std::uint32_t req;
    bool require_subscriber;
  };

  std::optional<Settled> offer(Publication& message, std::uint32_t req, bool require_subscriber);
  /// What one parked PUB costs, the measure of --max-read-ahead.
  static std::size_t cost(Publication& parked);
  bool paused_for_memory();
  void on_channel_room() override;

  Router& router_;
  MemoryBudget& memory_;
  std::size_t max_read_ahead_;
  std::function<void()> on_ready_;
  Router::RouteCache route_cache_;
  std::list<ParkedPub> parked_;  ///< rare; a list costs an idle connection nothing
  std::size_t parked_bytes_ = 0;
  QueueId waiting_on_;               ///< the full queue channel the front PUB waits for
  bool waiting_for_memory_ = false;  ///< the front PUB waits for the memory alarm to clear
};

}  // namespace paperboy::broker
