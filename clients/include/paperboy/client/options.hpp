#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "paperboy/client/event.hpp"

namespace paperboy::client {

/// How long a call may wait. Every call that waits for the server takes one.
using Timeout = std::chrono::milliseconds;

/// The timeout used when a call is given none.
inline constexpr Timeout default_timeout = std::chrono::seconds(5);

/// Outgoing frames are gathered until about this many bytes are pending, then written in one go
/// (the blocking Client writes once this much is pending; the AsyncClient writes whatever is
/// pending each time its writer runs).
inline constexpr std::size_t publish_buffer_bytes = 64 * 1024;

/// The newest PB1 version this client speaks (PROTOCOL.md, "Version 2").
inline constexpr std::uint8_t newest_protocol_version = 2;

/// One broker to connect to.
struct Server {
  std::string host;
  std::uint16_t port = 25000;
  friend bool operator==(const Server&, const Server&) = default;
};

/// What happens when an established connection is lost: the client connects again, to the next
/// configured server each attempt, waiting a random time between zero and
/// min(max_delay, initial_delay * 2^attempt) before each one ("full jitter": clients that lost
/// the same broker do not all come back at the same instant).
struct ReconnectOptions {
  bool enabled = true;
  Timeout initial_delay = std::chrono::milliseconds(100);
  Timeout max_delay = std::chrono::seconds(5);
  /// Attempts after a loss before giving up (GaveUp); 0 = forever.
  unsigned max_attempts = 0;
};

/// TLS to the broker (paperboyd's --tls-port). The server's certificate is verified against
/// `ca_file` (or the system's trusted roots) and must name the host connected to: its DNS name,
/// or for an IP address host an IP SAN; the name is also sent as SNI. Reconnects do the same.
struct TlsOptions {
  TlsOptions() = default;
  bool enabled = false;
  std::string ca_file;      ///< PEM file of trusted CAs; empty: the system's default verify paths
  std::string cert_file;    ///< PEM client certificate (chain), for a broker that wants one (mTLS)
  std::string key_file;     ///< PEM private key of cert_file
  std::string server_name;  ///< SNI and the name the certificate must hold; empty: the host
  /// false accepts any certificate (encrypted but unauthenticated: for tests only).
  bool verify_peer = true;
};

/// How to introduce ourselves to the broker, and how the connection is kept. Set its fields by
/// name (`options.client_name = ...`); it is not an aggregate on purpose (see PublishOptions).
struct ConnectOptions {
  ConnectOptions() = default;
  std::string client_name = "paperboy-client";  ///< shown in the broker's logs
  std::string token;                            ///< auth token; empty when the broker needs none
  Timeout connect_timeout = default_timeout;    ///< TCP connect, TLS handshake and HELLO/WELCOME,
                                                ///< per attempt
  Timeout write_timeout = default_timeout;      ///< how long the blocking Client's publish()
                                                ///< and ack() may block flushing
  /// The PB1 version to ask for: 2, or 1 to speak version 1 only. A broker that refuses version
  /// 2 (ERR 9, as version-1 brokers do) is connected to again, once, with version 1.
  std::uint8_t protocol_version = newest_protocol_version;
  /// More brokers to try, after the one given to connect(), in this order (round robin).
  std::vector<Server> more_servers;
  ReconnectOptions reconnect;
  /// TLS for every connection (reconnects too); off by default.
  TlsOptions tls;
  /// Bytes of plain publishes (and confirmed ones waiting to be sent) kept while disconnected,
  /// sent first once connected again; a publish past it fails at once (Error with
  /// buffer_full()). The same bound holds while connected for what the broker has not taken
  /// yet (back-pressure).
  std::size_t offline_buffer_bytes = 8 * 1024 * 1024;
  /// A confirmed publish that was sent but not confirmed when the connection was lost is sent
  /// again after reconnecting (at-least-once: the broker may have taken it before the loss, so
  /// it may arrive twice). false: it fails with a connection_lost() Error instead (at-most-once).
  bool resend_unconfirmed = true;
  /// After this long without a frame from the broker the client PINGs; no PONG within
  /// ping_timeout counts as a lost connection. Zero turns keepalive off.
  Timeout ping_interval = std::chrono::seconds(20);
  Timeout ping_timeout = std::chrono::seconds(10);
  /// Most messages, and most bytes (each message's own size and its strings: what it costs the
  /// client), one subscription or the blocking Client's next() queue holds for an application
  /// that does not keep up; past either the client stops reading the socket, so the broker's
  /// slow-consumer handling applies (GAP on topics, a queue consumer without room is skipped)
  /// instead of the client's memory growing.
  std::size_t max_pending_messages = 65536;
  std::size_t max_pending_bytes = 64 * 1024 * 1024;
  /// AsyncClient: connection events (Disconnected, Reconnected, GaveUp, Blocked, Unblocked,
  /// Refused), called on the client's executor. The blocking Client queues them for next().
  std::function<void(const ConnectionEvent&)> on_event;
  /// Blocking Client: takes the Blocked and Unblocked events the moment they are read, from
  /// inside whichever call is reading (often a publish() or flush() the broker holds back),
  /// instead of queueing them for next(). An exception it throws propagates out of that call.
  std::function<void(const Event&)> on_flow_control;
};

/// How to publish: everything but the reply_to is PB1 version 2 only, and a publish that uses it
/// on a version 1 connection is refused by the client (Error, code protocol::Errc::
/// unsupported_version, connection kept) rather than sent without it.
///
/// Not an aggregate, on purpose (as ConnectOptions): GCC 12, Debian 12's compiler, miscompiles a
/// braced aggregate temporary with non-trivial members inside a `co_await` expression
/// (`co_await client.publish_confirmed(c, p, {.headers = ...})` frees its strings twice). With a
/// constructor, `{}` is value-initialization, which it compiles correctly, and designated
/// initializers do not compile at all instead of corrupting memory.
struct PublishOptions {
  PublishOptions() = default;
  std::string_view reply_to;  ///< where a responder should answer; empty for none
  Headers headers;            ///< sent in this order; count against server_max_payload()
  /// How long a /queue message may wait for a consumer before the broker discards it (rounded
  /// down to whole milliseconds, at most 2^32-1); zero for no expiry. Topics ignore it.
  Timeout ttl = Timeout::zero();
  /// Refuse the message (ERR 11, Error::no_responders()) when nothing would receive it: a topic
  /// without a matching subscription, a queue without a consumer.
  bool require_subscriber = false;
};

/// How to subscribe: manual ack and prefetch credit only mean something on /queue channels.
struct SubscribeOptions {
  bool manual_ack = false;     ///< deliveries carry an id to ack()/nack()
  std::uint16_t prefetch = 0;  ///< most unacked deliveries at once; 0 = the broker's default
};

}  // namespace paperboy::client
