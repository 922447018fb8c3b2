#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <string>
#include <utility>
#include <variant>

#include "paperboy/client/options.hpp"

namespace paperboy::client {

/// The client's TLS settings loaded into an asio::ssl::context (CA, client certificate, TLS 1.2
/// at least); throws Error (invalid_argument) naming the file that cannot be used.
asio::ssl::context make_tls_context(const TlsOptions& options);

/// The connection to a broker: a plain TCP socket or TLS over one, behind one interface, so the
/// client's reader and writer do not care which. An Asio AsyncReadStream/AsyncWriteStream.
class ServerStream {
 public:
  using executor_type = asio::ip::tcp::socket::executor_type;
  using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

  explicit ServerStream(asio::ip::tcp::socket socket) : stream_(std::move(socket)) {}
  ServerStream(asio::ip::tcp::socket socket, asio::ssl::context& context)
      : stream_(std::in_place_type<TlsStream>, std::move(socket), context) {}

  executor_type get_executor() { return socket().get_executor(); }
  /// The TCP socket underneath (to connect it, set options on it, close it).
  asio::ip::tcp::socket& socket() {
    if (auto* tls = std::get_if<TlsStream>(&stream_)) return tls->next_layer();
    return std::get<asio::ip::tcp::socket>(stream_);
  }
  bool tls() const noexcept { return std::holds_alternative<TlsStream>(stream_); }
  /// The TLS stream (only when tls()), for its handshake.
  TlsStream& tls_stream() { return std::get<TlsStream>(stream_); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (auto* tls = std::get_if<TlsStream>(&stream_)) {
      return tls->async_read_some(buffers, std::forward<Token>(token));
    }
    return std::get<asio::ip::tcp::socket>(stream_).async_read_some(buffers,
                                                                    std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (auto* tls = std::get_if<TlsStream>(&stream_)) {
      return tls->async_write_some(buffers, std::forward<Token>(token));
    }
    return std::get<asio::ip::tcp::socket>(stream_).async_write_some(buffers,
                                                                     std::forward<Token>(token));
  }

  /// Closes the socket (no TLS close_notify: the broker treats either end the same), ending
  /// whatever waits on it.
  void close() {
    asio::error_code ignored;
    socket().close(ignored);
  }

 private:
  std::variant<asio::ip::tcp::socket, TlsStream> stream_;
};

/// Prepares a TLS stream for its client handshake with `host`: SNI (for a DNS name), and unless
/// verification is off, the check that the certificate names `host` (a DNS name, or an IP
/// address against the certificate's IP SANs). Throws Error when OpenSSL refuses the name.
void prepare_tls_handshake(ServerStream::TlsStream& stream, const std::string& host,
                           bool verify_peer);

/// Why a TLS handshake failed, in words: OpenSSL's verify result when the certificate was the
/// reason ("certificate verify failed: hostname mismatch"), else the error's message.
std::string tls_failure(ServerStream::TlsStream& stream, const asio::error_code& ec);

}  // namespace paperboy::client
