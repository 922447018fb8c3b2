#pragma once

#include <string>
#include <string_view>

#include "temp_dir.hpp"

namespace paperboy::itest {

/// A certificate and its private key, as PEM file paths.
struct CertificateFiles {
  std::string cert;
  std::string key;
};

/// Throwaway certificates made at run time with the `openssl` command in a private temp dir:
/// a CA, a server certificate it signed (SAN IP:127.0.0.1 and DNS:localhost), client
/// certificates it signed (CN = a user name), and a second CA nobody trusts with client
/// certificates of its own. EC P-256 keys, so making them takes milliseconds.
class TestCertificates {
 public:
  /// Makes both CAs and the server certificate; the test fails if `openssl` does.
  TestCertificates();

  /// The trusted CA's certificate (PEM): the daemon's --tls-ca, the clients' CA file.
  std::string ca() const { return path("ca.pem"); }
  /// The server certificate and key: the daemon's --tls-cert and --tls-key.
  CertificateFiles server() const { return {path("server.pem"), path("server.key")}; }
  /// A client certificate with subject CN=`name`, signed by the trusted CA (made once per name).
  CertificateFiles client(std::string_view name);
  /// A client certificate with subject CN=`name`, signed by the CA nobody trusts.
  CertificateFiles untrusted_client(std::string_view name);
  /// A server certificate for 127.0.0.1 and localhost signed by the CA nobody trusts.
  CertificateFiles untrusted_server();

 private:
  std::string path(std::string_view file) const { return (dir_.path() / file).string(); }
  /// Makes a CA (self-signed) named `stem`.pem and `stem`.key.
  void make_ca(std::string_view stem, std::string_view common_name);
  /// Makes `stem`.pem and `stem`.key for `common_name`, signed by the CA `ca_stem`, with
  /// `extensions` (an openssl -extfile line; empty: none).
  CertificateFiles make_signed(std::string_view stem, std::string_view common_name,
                               std::string_view ca_stem, std::string_view extensions);

  TempDir dir_;
};

}  // namespace paperboy::itest
