#include "client_tls_certificates.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "command.hpp"

namespace paperboy::itest {
namespace {

void openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  const auto run = run_to_end(args);
  REQUIRE_MESSAGE(run.status.clean(), "openssl failed: " << run.err);
}

// A key and a certificate `name`.pem/.key for `subject`, signed by `ca` (self-signed if empty).
void make_certificate(const std::filesystem::path& dir, const std::string& name,
                      const std::string& subject, const std::string& ca,
                      std::vector<std::string> extensions) {
  std::vector<std::string> args = {"req",
                                   "-x509",
                                   "-newkey",
                                   "ec",
                                   "-pkeyopt",
                                   "ec_paramgen_curve:prime256v1",
                                   "-nodes",
                                   "-days",
                                   "2",
                                   "-keyout",
                                   (dir / (name + ".key")).string(),
                                   "-out",
                                   (dir / (name + ".pem")).string(),
                                   "-subj",
                                   subject};
  if (!ca.empty()) {
    extensions.push_back("basicConstraints=critical,CA:FALSE");
    args.insert(args.end(),
                {"-CA", (dir / (ca + ".pem")).string(), "-CAkey", (dir / (ca + ".key")).string()});
  }
  for (const auto& extension : extensions) args.insert(args.end(), {"-addext", extension});
  openssl(args);
}

}  // namespace

ClientTlsCertificates::ClientTlsCertificates() {
  const auto& dir = dir_.path();
  const std::string server_names = "subjectAltName=IP:127.0.0.1,DNS:localhost";
  make_certificate(dir, "ca", "/CN=paperboy-test-ca", "", {});
  make_certificate(dir, "server", "/CN=localhost", "ca", {server_names});
  make_certificate(dir, "untrusted-ca", "/CN=paperboy-untrusted-ca", "", {});
  make_certificate(dir, "untrusted-server", "/CN=localhost", "untrusted-ca", {server_names});
}

std::filesystem::path ClientTlsCertificates::make_client(const std::string& name) const {
  make_certificate(dir_.path(), "client-" + name, "/CN=" + name, "ca", {});
  return dir_.path() / ("client-" + name);
}

}  // namespace paperboy::itest
