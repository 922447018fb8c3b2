#pragma once

#include <openssl/types.h>

#include "paperboy/broker/config.hpp"

namespace paperboy::broker {

/// The OpenSSL server context every TLS connection is made from: the certificate and key,
/// TLS 1.2 at least, and with --tls-ca the client certificates it requires.
class TlsContext {
 public:
  /// Loads config's tls_cert, tls_key and tls_ca; throws std::runtime_error naming the flag,
  /// the file and what is wrong with it.
  explicit TlsContext(const Config& config);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const noexcept { return context_; }

 private:
  SSL_CTX* context_;
};

/// OpenSSL's reasons for the last failure on this thread (and clears them), e.g.
/// "wrong version number"; `fallback` when it has none.
std::string take_ssl_errors(std::string_view fallback);

}  // namespace paperboy::broker
