#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"

namespace paperboy::broker {

/// What a topic subscriber whose send queue is full gets.
enum class SlowConsumerPolicy {
  drop,        ///< loses messages (counted; a PB1 subscriber is told with a GAP frame)
  disconnect,  ///< gets ERR 8 and is closed
};

/// Every bound and knob of the daemon, with the defaults paperboyd starts with.
struct Config {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 25000;
  std::string server_id;  ///< empty: derived from host name and pid at start-up

  std::uint32_t max_payload = protocol::default_max_payload;
  /// The newest PB1 version this broker speaks: 1 makes it answer as a version-1 broker does
  /// (clients' fallback, a rolling upgrade).
  unsigned max_protocol_version = protocol::pb1_latest_version;
  /// Per client: bytes queued for its socket past which topic messages are dropped (or the
  /// client disconnected) and queue messages wait in their channel instead.
  std::size_t client_queue_bytes = 8 * 1024 * 1024;
  /// Per /queue channel: messages and bytes waiting for a consumer before publishers block.
  std::size_t channel_backlog_messages = 100'000;
  std::size_t channel_backlog_bytes = 64 * 1024 * 1024;
  SlowConsumerPolicy slow_consumer = SlowConsumerPolicy::drop;
  std::size_t max_connections = 100'000;
  /// Queue channels that may exist at once (each may hold a whole backlog).
  std::size_t max_queues = 10'000;
  /// Channels one connection may subscribe to at once.
  std::size_t max_subscriptions = 10'000;
  /// Manual-ack credit of a subscription that asks for prefetch 0, and the most one may ask for.
  std::uint16_t default_prefetch = 64;
  std::uint16_t max_prefetch = 65535;
  /// A queue message given back this many times more than once goes to its dead-letter channel.
  std::uint32_t max_redeliveries = 5;
  /// Appended to a queue channel's name to name its dead-letter channel; empty: no dead letters.
  std::string dead_letter_suffix = ".dead";
  /// Per connection: what its manual-ack deliveries sent and not yet acked may cost (bytes and
  /// bookkeeping; a message still sharing a 64 KiB slab counts the slab) before its manual-ack
  /// subscriptions get no more until it acks.
  std::size_t max_unacked_bytes = 64 * 1024 * 1024;
  /// Bytes the whole broker may hold for its clients (messages queued, waiting, unacked or
  /// parked, with their bookkeeping) before publishers are paused; 0: no budget. paperboyd
  /// starts with default_max_memory().
  std::size_t max_memory = 0;
  /// Bytes of PUBs a blocked publisher may still send, parked, while its other frames are read.
  std::size_t max_read_ahead = 1024 * 1024;
  /// Bytes asked of the socket per read.
  std::size_t read_size = 256 * 1024;

  /// A frame begun but not finished, or no first frame, for this long ends the connection.
  std::chrono::milliseconds frame_timeout{10'000};
  /// How long a closing connection (and the whole daemon on SIGTERM) may take to flush.
  std::chrono::milliseconds shutdown_grace{2'000};

  // Liveness and connection limits (issue 13). A duration or limit of 0 switches it off.
  /// From the connect, the first frame (HELLO, or PB0's channel) must be complete within this.
  std::chrono::milliseconds handshake_timeout{5'000};
  /// A PB1 connection nothing was read from for this long gets a PING (its PONG, or anything
  /// else it sends, shows it is alive).
  std::chrono::milliseconds ping_interval{30'000};
  /// PINGs left unanswered, a whole interval each, after which the connection is closed as
  /// stale (and its unacked deliveries go back to their queues).
  std::uint32_t ping_max_missed = 2;
  /// A PB0 connection (it has no PING) with no bytes either way for this long is closed.
  std::chrono::milliseconds idle_timeout{0};
  /// A connection whose send queue stays at --client-queue-bytes without a byte written for
  /// this long is closed as a slow consumer (ERR 8 where it can still be sent).
  std::chrono::milliseconds write_deadline{30'000};
  /// New connections accepted per second, in all and from one address (token buckets holding
  /// twice that, so a burst of two seconds' worth passes); past it ERR 7 with a retry hint.
  std::uint32_t max_connect_rate = 0;
  std::uint32_t max_connect_rate_per_address = 0;
  /// Connections open at once from one address.
  std::size_t max_connections_per_address = 0;
  // Users and permissions (see README, "Securing paperboy").
  /// The users file (TOML [[user]] tables); empty: no authentication, every client may do
  /// anything (for trusted networks).
  std::string users_file;
  /// With users: the user whose permissions PB0 clients (which cannot authenticate) get; empty:
  /// PB0 clients are refused.
  std::string pb0_user;
  /// Failed authentications one source address may make per minute; past that it is refused at
  /// once, without hashing.
  std::uint32_t auth_failures_per_minute = 5;
  /// How long a failed authentication waits before its ERR 10: the attacker's time, not ours.
  std::chrono::milliseconds auth_failure_delay{250};

  // TLS (see README, "Securing paperboy"). All of it needs a restart to change.
  /// A TLS listener beside the plain one, on the same bind address (0: a free port); none when
  /// unset.
  std::optional<std::uint16_t> tls_port;
  /// The server's certificate chain and private key (PEM files); required with tls_port.
  std::string tls_cert;
  std::string tls_key;
  /// CA certificates (PEM) client certificates must be signed by; set: every TLS client must
  /// present one (mTLS). Empty: no client certificate is asked for.
  std::string tls_ca;
  /// With tls_ca and users: the verified client certificate's subject CN names the user, and
  /// HELLO needs no token.
  bool tls_map_user = false;
  /// No plain listener: only TLS is served (requires tls_port).
  bool no_plain = false;

  // Durable queues (see README, "Durability"). All of it needs a restart to change.
  /// The directory of the journal that keeps durable queues' messages on disk; empty: nothing is
  /// durable, every queue lives in memory only.
  std::string data_dir;
  /// With data_dir: the /queue channels that are durable, as v2 wildcard patterns
  /// ("/queue/billing/>"); empty means every /queue channel. /topic messages are never stored.
  std::vector<std::string> durable;
  /// Start even when the journal has a corrupt record before its end, skipping it (reported);
  /// without it such a journal stops the start, naming the file and offset.
  bool recover_skip_corrupt = false;
};

/// The patterns in force: config.durable, or every /queue channel when it is empty.
std::vector<std::string> durable_patterns(const Config& config);

/// Why the durability settings cannot be used (a pattern that names no /queue channel, a
/// --durable without --data-dir); empty when they can.
std::string durable_settings_error(const Config& config);

/// Half the machine's memory (MemTotal in /proc/meminfo), or 4 GiB when that cannot be read.
std::size_t default_max_memory();

/// Why the TLS settings cannot be used (a flag missing its partner, a certificate or key file
/// that does not load), naming the flag and the file; empty when they can.
std::string tls_settings_error(const Config& config);

}  // namespace paperboy::broker
