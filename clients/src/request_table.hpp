#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "paperboy/client/client.hpp"

namespace paperboy::client {

/// The requests a Client has in flight, by correlation (the last segment of their reply_to),
/// each with its reply or refusal once one has come. No I/O: the Client feeds it what it reads.
class RequestTable {
 public:
  /// How a request ended: its reply, or the broker's refusal of its PUB.
  using Outcome = std::variant<Message, Error>;

  /// A new request whose PUB carries request id `pub_req`. Its correlation was never handed out
  /// before, not even before clear(), so a stale token never names a new request.
  RequestToken add(std::uint32_t pub_req);

  bool contains(RequestToken token) const { return requests_.contains(token.correlation); }

  /// The request's outcome once it has one; the request is then done and forgotten.
  std::optional<Outcome> take_outcome(RequestToken token);

  /// Records `reply` for the request named by `correlation` (decimal digits). A reply for no
  /// request in flight, or for one already answered or refused, is discarded.
  void answer(std::string_view correlation, Message reply);

  /// Fails the unanswered request whose PUB carried `pub_req`; false when there is none.
  bool fail(std::uint32_t pub_req, const Error& error);

  /// Forgets one request: a reply that still comes for it is discarded.
  void cancel(RequestToken token) noexcept { requests_.erase(token.correlation); }

  /// Forgets every request; correlations go on counting.
  void clear() noexcept { requests_.clear(); }

  /// Requests neither taken nor cancelled (answered ones count until take_outcome()).
  std::size_t size() const noexcept { return requests_.size(); }

 private:
  struct InFlight {
    std::uint32_t pub_req = 0;
    std::variant<std::monostate, Message, Error> outcome;
  };

  std::unordered_map<std::uint64_t, InFlight> requests_;
  std::uint64_t last_correlation_ = 0;
};

}  // namespace paperboy::client
