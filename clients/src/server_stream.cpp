#include "server_stream.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <asio/ip/address.hpp>
#include <system_error>

#include "paperboy/client/error.hpp"

namespace paperboy::client {
namespace {

Error tls_setup_error(const std::string& what, const asio::error_code& ec) {
  return Error(make_error_code(std::errc::invalid_argument), "TLS: " + what + ": " + ec.message(),
               true);
}

}  // namespace

asio::ssl::context make_tls_context(const TlsOptions& options) {
  asio::ssl::context context(asio::ssl::context::tls_client);
  // TLS 1.2 at least, as the broker requires; OpenSSL negotiates 1.3 where both can.
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  asio::error_code ec;
  if (options.ca_file.empty()) {
    context.set_default_verify_paths(ec);
    if (ec) throw tls_setup_error("cannot load the system's trusted CAs", ec);
  } else {
    context.load_verify_file(options.ca_file, ec);
    if (ec) throw tls_setup_error("cannot load CA file " + options.ca_file, ec);
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    throw Error(make_error_code(std::errc::invalid_argument),
                "TLS: a client certificate needs its key, and a key its certificate", true);
  }
  if (!options.cert_file.empty()) {
    context.use_certificate_chain_file(options.cert_file, ec);
    if (ec) throw tls_setup_error("cannot load certificate file " + options.cert_file, ec);
    context.use_private_key_file(options.key_file, asio::ssl::context::pem, ec);
    if (ec) throw tls_setup_error("cannot load key file " + options.key_file, ec);
  }
  context.set_verify_mode(options.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
  return context;
}

void prepare_tls_handshake(ServerStream::TlsStream& stream, const std::string& host,
                           bool verify_peer) {
  SSL* ssl = stream.native_handle();
  asio::error_code not_ip;
  asio::ip::make_address(host, not_ip);
  const bool is_ip = !not_ip;
  // SNI carries host names only (RFC 6066), never an address literal.
  // (SSL_set_tlsext_host_name, spelled out: the macro's C cast trips -Wold-style-cast.)
  if (!is_ip && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                         const_cast<char*>(host.c_str())) != 1) {
    throw Error(make_error_code(std::errc::invalid_argument),
                "TLS: cannot send server name " + host, true);
  }
  if (!verify_peer) return;
  // OpenSSL checks the name itself during the handshake, after the chain: a mismatch fails the
  // handshake with X509_V_ERR_HOSTNAME_MISMATCH (or IP_ADDRESS_MISMATCH).
  const int named = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str())
                          : SSL_set1_host(ssl, host.c_str());
  if (named != 1) {
    throw Error(make_error_code(std::errc::invalid_argument),
                "TLS: cannot verify against the name " + host, true);
  }
}

std::string tls_failure(ServerStream::TlsStream& stream, const asio::error_code& ec) {
  const long verified = SSL_get_verify_result(stream.native_handle());
  if (verified != X509_V_OK) {
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verified);
  }
  return ec.message();
}

}  // namespace paperboy::client
