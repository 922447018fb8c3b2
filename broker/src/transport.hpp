#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/error.hpp>
#include <cstddef>
#include <string>
#include <system_error>

namespace paperboy::broker {

class SendQueue;

/// Outcome of one non-blocking read or write: bytes moved, or the error (would_block when
/// nothing can move now; asio::error::eof when the peer finished sending).
struct IoResult {
  std::size_t bytes = 0;
  std::error_code error;
};

/// True for the error that means "nothing can move now, wait until the connection is ready".
/// (asio reports it in its own category, sendmsg in the system one.)
inline bool would_block(std::error_code ec) noexcept {
  return ec == asio::error::would_block || ec == asio::error::try_again ||
         ec == std::errc::resource_unavailable_try_again || ec == std::errc::operation_would_block;
}

/// One connection's byte stream, as the session and its outbox use it. Every call but wait()
/// returns at once: the session reads and writes until would_block, then waits. That keeps the
/// fast paths (one large read per batch, one gathered write of many frames) inside the
/// implementation, at one virtual call per syscall batch, never per message. Plain TCP is
/// TcpTransport; a TLS stream is a second implementation of the same calls.
class Transport {
 public:
  enum class Ready { readable, writable };
  /// What a socket that is not being read says about its peer.
  enum class Peer { sending, finished, gone };

  virtual ~Transport() = default;

  /// The executor the connection's I/O completes on.
  virtual asio::any_io_executor executor() = 0;
  /// The peer's address for log lines ("unknown" once it is gone).
  virtual std::string peer_name() const = 0;

  /// Reads what is there, up to `size` bytes, without waiting.
  virtual IoResult read_some(char* data, std::size_t size) noexcept = 0;
  /// Writes as much of `queue` as the connection takes now, starting `front_offset` bytes into
  /// its front entry, gathered from many entries into one call.
  virtual IoResult write_gathered(const SendQueue& queue, std::size_t front_offset) noexcept = 0;
  /// Sleeps until the connection is ready; an error once it is closed.
  virtual asio::awaitable<std::error_code> wait(Ready ready) = 0;
  /// Looks at the peer without reading: a publisher blocked on a full queue is not read, so only
  /// a probe can tell that it went away.
  virtual Peer probe_peer() noexcept = 0;
  /// Says we will send no more (our FIN), leaving the reading side open.
  virtual void shutdown_send() noexcept = 0;
  /// Closes at once; a pending wait() ends with an error.
  virtual void close() noexcept = 0;

  /// True while bytes write_gathered took from the send queue (and counted as written) are
  /// still to go out: TLS must finish a record it began. The writer keeps writing until false.
  virtual bool output_pending() const noexcept { return false; }
  /// The subject CN of a client certificate verified against --tls-ca; empty without one.
  virtual std::string verified_subject_name() const { return {}; }
};

}  // namespace paperboy::broker
