#pragma once

#include <filesystem>
#include <string>

#include "temp_dir.hpp"

namespace paperboy::itest {

/// TEMPORARY (until tls-broker's test_certificates lands): throwaway certificates made with the
/// openssl command in a private temp directory: a CA, a server certificate it signed (SANs
/// IP:127.0.0.1 and DNS:localhost), client certificates it signs on demand, and a second CA
/// nobody trusts with a server certificate of its own.
class ClientTlsCertificates {
 public:
  ClientTlsCertificates();

  std::filesystem::path ca() const { return dir_.path() / "ca.pem"; }
  std::filesystem::path server_cert() const { return dir_.path() / "server.pem"; }
  std::filesystem::path server_key() const { return dir_.path() / "server.key"; }
  std::filesystem::path untrusted_ca() const { return dir_.path() / "untrusted-ca.pem"; }
  std::filesystem::path untrusted_server_cert() const {
    return dir_.path() / "untrusted-server.pem";
  }
  std::filesystem::path untrusted_server_key() const {
    return dir_.path() / "untrusted-server.key";
  }
  /// A client certificate with CN=<name> signed by ca(): its .pem and .key paths (stem).
  std::filesystem::path make_client(const std::string& name) const;

 private:
  TempDir dir_;
};

}  // namespace paperboy::itest
