#pragma once

#include <openssl/types.h>

#include <asio/ip/tcp.hpp>
#include <string>

#include "transport.hpp"

namespace paperboy::broker {

/// Transport over TLS: OpenSSL driving the same non-blocking socket TcpTransport would have.
/// Reads fill the session's large buffer from as many records as have arrived; writes gather
/// the send queue's front entries into one buffer of up to 64 KiB and hand it to SSL_write at
/// once, so records are full (a record costs a header, a MAC and a syscall each).
class TlsTransport final : public Transport {
 public:
  /// Bytes gathered from the send queue for one SSL_write: four full records.
  static constexpr std::size_t write_batch = 64 * 1024;

  /// Sets up `socket` as TcpTransport does and a server-side SSL for it from `context`.
  TlsTransport(asio::ip::tcp::socket socket, SSL_CTX* context);
  ~TlsTransport() override;

  /// Runs the server side of the handshake. An error when it fails or the transport is closed
  /// meanwhile (a handshake deadline), with OpenSSL's reason, or what happened, in `reason`.
  asio::awaitable<std::error_code> handshake(std::string& reason);

  asio::any_io_executor executor() override;
  std::string peer_name() const override;
  IoResult read_some(char* data, std::size_t size) noexcept override;
  IoResult write_gathered(const SendQueue& queue, std::size_t front_offset) noexcept override;
  asio::awaitable<std::error_code> wait(Ready ready) override;
  Peer probe_peer() noexcept override;
  void shutdown_send() noexcept override;
  void close() noexcept override;
  bool output_pending() const noexcept override { return !pending_.empty(); }
  std::string verified_subject_name() const override { return subject_; }

 private:
  /// The IoResult for a failed SSL call's `ret`, noting in `wants` which readiness it waits for.
  IoResult failure(int ret, Ready& wants) noexcept;
  /// Retries the SSL_write that wanted to wait; would_block while it still does.
  std::error_code finish_pending() noexcept;

  asio::ip::tcp::socket socket_;
  SSL* ssl_;
  /// What a read and a write last waited for: TLS may need to write to read, or read to write.
  Ready read_wants_ = Ready::readable;
  Ready write_wants_ = Ready::writable;
  /// The batch SSL_write began and could not finish: OpenSSL must be given the same bytes again.
  /// Held only while a write waits, so an idle connection holds no batch.
  std::string pending_;
  std::string subject_;
};

}  // namespace paperboy::broker
