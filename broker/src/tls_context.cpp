#include "tls_context.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace paperboy::broker {

namespace {

// "--tls-cert /etc/x.pem: No such file or directory": the flag, the file, and why, before
// OpenSSL gets to say something vaguer about it.
void check_readable(std::string_view flag, const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0) {
    throw std::runtime_error(fmt::format("{} {}: {}", flag, path, std::strerror(errno)));
  }
}

[[noreturn]] void fail(std::string_view flag, const std::string& path, std::string_view what) {
  throw std::runtime_error(
      fmt::format("{} {}: {}: {}", flag, path, what, take_ssl_errors("unknown OpenSSL error")));
}

}  // namespace

std::string take_ssl_errors(std::string_view fallback) {
  std::string reasons;
  while (const unsigned long code = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(code);
    if (!reasons.empty()) reasons += "; ";
    reasons += reason != nullptr ? reason : fmt::format("error {:#x}", code);
  }
  return reasons.empty() ? std::string(fallback) : reasons;
}

TlsContext::TlsContext(const Config& config) : context_(SSL_CTX_new(TLS_server_method())) {
  if (context_ == nullptr) throw std::runtime_error("SSL_CTX_new: " + take_ssl_errors("failed"));
  try {
    SSL_CTX_set_min_proto_version(context_, TLS1_2_VERSION);
    // A peer that closes without close_notify is an ordinary end of input (as over TCP), not an
    // error; renegotiation is an old attack surface nobody here needs.
    SSL_CTX_set_options(context_, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION |
                                      SSL_OP_CIPHER_SERVER_PREFERENCE);
    // An idle connection gives its 34 KiB of record buffers back: 100,000 mostly idle clients
    // would otherwise hold 3 GiB of them.
    SSL_CTX_set_mode(context_, SSL_MODE_RELEASE_BUFFERS);
    check_readable("--tls-cert", config.tls_cert);
    if (SSL_CTX_use_certificate_chain_file(context_, config.tls_cert.c_str()) != 1) {
      fail("--tls-cert", config.tls_cert, "not a PEM certificate");
    }
    check_readable("--tls-key", config.tls_key);
    if (SSL_CTX_use_PrivateKey_file(context_, config.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
      fail("--tls-key", config.tls_key, "not a PEM private key");
    }
    if (SSL_CTX_check_private_key(context_) != 1) {
      fail("--tls-key", config.tls_key, "does not match the --tls-cert certificate");
    }
    if (!config.tls_ca.empty()) {
      check_readable("--tls-ca", config.tls_ca);
      if (SSL_CTX_load_verify_locations(context_, config.tls_ca.c_str(), nullptr) != 1) {
        fail("--tls-ca", config.tls_ca, "not PEM CA certificates");
      }
      // Tell clients which CAs we accept, and refuse any that presents no certificate.
      SSL_CTX_set_client_CA_list(context_, SSL_load_client_CA_file(config.tls_ca.c_str()));
      SSL_CTX_set_verify(context_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
  } catch (...) {
    SSL_CTX_free(context_);
    throw;
  }
}

TlsContext::~TlsContext() {
  SSL_CTX_free(context_);
}

std::string tls_settings_error(const Config& config) {
  if (!config.tls_port) {
    if (config.no_plain) return "--no-plain needs --tls-port (nothing would be served)";
    if (!config.tls_cert.empty() || !config.tls_key.empty() || !config.tls_ca.empty() ||
        config.tls_map_user) {
      return "--tls-cert, --tls-key, --tls-ca and --tls-map-user need --tls-port";
    }
    return {};
  }
  if (config.tls_cert.empty() || config.tls_key.empty()) {
    return "--tls-port needs --tls-cert and --tls-key";
  }
  if (config.tls_map_user && (config.tls_ca.empty() || config.users_file.empty())) {
    return "--tls-map-user needs --tls-ca (verified client certificates) and --users";
  }
  try {
    TlsContext loaded(config);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

}  // namespace paperboy::broker
