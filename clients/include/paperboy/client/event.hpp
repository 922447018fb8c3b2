#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace paperboy::client {

/// One delivery from the broker (a MSG frame), owning its bytes.
struct Message {
  std::string channel;
  std::string reply_to;  ///< where the publisher wants an answer; empty for none
  std::string payload;
  std::uint64_t delivery = 0;  ///< id to ack()/nack(); 0 when the broker needs no ack
  bool redelivered = false;    ///< the broker handed this message out before
};

/// The broker dropped `dropped` messages on topic `channel` for this subscriber (it read too
/// slowly); it arrives just before the next message on that channel.
struct Gap {
  std::string channel;
  std::uint64_t dropped = 0;
};

/// What Client::next() hands out, in the order the broker sent it.
using Event = std::variant<Message, Gap>;

}  // namespace paperboy::client
