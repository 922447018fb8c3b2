#pragma once

#include <cstdint>
#include <string>

#include "conn.hpp"
#include "daemon.hpp"

namespace paperboy::itest {

/// A fresh PB1 subscriber and publisher do a SUB/PUB round trip: the daemon still serves new
/// clients (after bad input, a stall, a disconnect...).
void check_serves(std::uint16_t port);

/// A subscriber and a publisher connected before something bad happens; check() proves they
/// are still served (the bad client did not take the daemon or its other clients down).
class Bystander {
 public:
  explicit Bystander(std::uint16_t port);
  /// Publishes one more message and sees it delivered.
  void check();

 private:
  Conn subscriber_;
  Conn publisher_;
  std::string channel_;
  std::size_t sent_ = 0;
};

/// SIGTERM; the daemon must exit by itself with status 0 within the deadline (a sanitizer
/// report or a crash at shutdown shows up here).
void expect_clean_exit(Daemon& daemon, Duration timeout = default_timeout);

}  // namespace paperboy::itest
