#pragma once

#include <asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "paperboy/broker/config.hpp"

namespace paperboy::broker {

/// Who may connect now: a token bucket for all new connections and one per source address
/// (--max-connect-rate, --max-connect-rate-per-address; each holds twice its rate), and the
/// connections open per address (--max-connections-per-address). The server asks before it
/// makes a session; it reads the limits from the Config each time, so a reload applies at once.
///
/// Bounded whatever a flood does: an address has a connection count only while it has a
/// connection open, and a bucket only while it is not full again; the housekeeping sweep forgets
/// full buckets, and past max_buckets new addresses have none (the overall bucket still holds
/// them back).
class ConnectionLimits {
 public:
  using Clock = std::chrono::steady_clock;

  /// Addresses with a partly spent bucket held at once (about 48 bytes each).
  static constexpr std::size_t max_buckets = 16 * 1024;

  enum class Verdict { admit, address_connections, address_rate, overall_rate };
  struct Decision {
    Verdict verdict = Verdict::admit;
    /// For a rate refusal: when a token will be there again.
    Clock::duration retry_after{};
  };

  /// Takes a token for a connection from `from`, or says which limit refuses it. An admitted
  /// connection counts against its address until release().
  Decision admit(const asio::ip::address& from, const Config& config, Clock::time_point now);
  /// An admitted connection from `from` closed.
  void release(const asio::ip::address& from);
  /// Forgets the buckets that have filled up again (housekeeping).
  void sweep(const Config& config, Clock::time_point now);

  std::size_t buckets() const noexcept { return buckets_.size(); }
  std::size_t addresses_connected() const noexcept { return connected_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point refilled{};
  };
  /// Refills `bucket` for the time since it was last refilled; false when it has no token.
  static bool take(Bucket& bucket, std::uint32_t rate, Clock::time_point now);
  static Clock::duration until_token(const Bucket& bucket, std::uint32_t rate);

  Bucket overall_;
  std::unordered_map<asio::ip::address, Bucket> buckets_;
  std::unordered_map<asio::ip::address, std::size_t> connected_;
};

/// `address` with an IPv4-mapped IPv6 address as the IPv4 one, so one host is one key.
asio::ip::address canonical_address(const asio::ip::address& address);

}  // namespace paperboy::broker
