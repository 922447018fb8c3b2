#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "paperboy/client/error.hpp"

namespace paperboy::client {

/// One message header: a key (1-255 bytes of printable ASCII, no space or ':') and a value of
/// any bytes. A message's headers keep the publisher's order, and a key may repeat.
struct Header {
  std::string key;
  std::string value;
  friend bool operator==(const Header&, const Header&) = default;
};

/// A message's headers, in the order they were published.
using Headers = std::vector<Header>;

/// One delivery from the broker (a MSG frame), owning its bytes.
struct Message {
  std::string channel;   ///< the channel it was published on (also under a wildcard SUB)
  std::string reply_to;  ///< where the publisher wants an answer; empty for none
  std::string payload;
  std::uint64_t delivery = 0;  ///< id to ack()/nack(); 0 when the broker needs no ack
  bool redelivered = false;    ///< the broker handed this message out before
  Headers headers;             ///< PB1 version 2 only; empty on a version 1 connection
  /// When the broker accepted the PUB, in Unix time nanoseconds (PB1 version 2; 0 on a version 1
  /// connection).
  std::uint64_t published_at = 0;
  /// Which of the client's connections delivered it: an ack of a delivery from an earlier
  /// connection is not sent (the broker took it back when that connection was lost, and the id
  /// may name another delivery now).
  std::uint64_t connection = 0;
};

/// One delivery seen in place, for a handler that wants no copy (AsyncClient::subscribe_views):
/// the views point into the client's read buffer and are valid only while the handler runs.
/// to_message() keeps what outlives the call.
struct MessageView {
  std::string_view channel;
  std::string_view reply_to;
  std::string_view payload;
  std::uint64_t delivery = 0;
  bool redelivered = false;
  std::uint64_t published_at = 0;
  std::uint64_t connection = 0;
  /// The headers as PB1 version 2 carries them; headers() decodes them.
  std::string_view header_block;

  Headers headers() const;
  Message to_message() const;
};

/// The broker dropped `dropped` messages on topic `channel` for this subscriber (it read too
/// slowly); it arrives just before the next message on that channel.
struct Gap {
  std::string channel;
  std::uint64_t dropped = 0;
};

/// PB1 version 2: a PUB of this connection is parked because the backlog of queue `channel` is
/// full; the broker reads nothing more from this connection until Unblocked.
struct Blocked {
  std::string channel;
};

/// PB1 version 2: the parked PUBs of this connection on `channel` were taken; it is read again.
struct Unblocked {
  std::string channel;
};

/// The connection was lost; the client reconnects unless ReconnectOptions say otherwise.
/// Deliveries not yet acked are the broker's again: their ids mean nothing on the next
/// connection.
struct Disconnected {
  std::string reason;
};

/// Connected again (to `server`, "host:port", after `attempts` tries) and every subscription was
/// sent again, before anything else.
struct Reconnected {
  std::string server;
  unsigned attempts = 0;
};

/// Reconnecting stopped (ReconnectOptions::max_attempts, or the broker refused us for good):
/// the client is closed.
struct GaveUp {
  std::string reason;
};

/// The broker refused something sent without a request id (ERR with req 0: a plain publish to a
/// bad channel, an ack of an unknown delivery); the connection stays.
struct Refused {
  Error error;
};

/// What Client::next() hands out, in the order the broker sent it (and the client's own notices
/// of a lost and regained connection, in the order they happened).
using Event = std::variant<Message, Gap, Blocked, Unblocked, Disconnected, Reconnected>;

/// What a subscription of the AsyncClient hands out.
using SubscriptionEvent = std::variant<Message, Gap>;

/// What the AsyncClient tells ConnectOptions::on_event.
using ConnectionEvent =
    std::variant<Disconnected, Reconnected, GaveUp, Blocked, Unblocked, Refused>;

}  // namespace paperboy::client
