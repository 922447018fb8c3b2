#include "test_certificates.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "command.hpp"

namespace paperboy::itest {

namespace {

void openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  const Run run = run_to_end(args);
  if (!run.status.clean()) {
    FAIL("openssl " << args.at(1) << " failed (" << run.status.describe() << "): " << run.err);
  }
}

const std::vector<std::string> ec_key = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                         "-nodes"};

}  // namespace

namespace {
// The names the daemon is reached by in the tests.
constexpr std::string_view server_names = "subjectAltName=IP:127.0.0.1,DNS:localhost";
}  // namespace

TestCertificates::TestCertificates() {
  make_ca("ca", "paperboy test CA");
  make_ca("other-ca", "paperboy untrusted CA");
  make_signed("server", "localhost", "ca", server_names);
}

void TestCertificates::make_ca(std::string_view stem, std::string_view common_name) {
  std::vector<std::string> args = {"req", "-x509", "-days",
                                   "2",   "-subj", "/CN=" + std::string(common_name)};
  args.insert(args.end(), ec_key.begin(), ec_key.end());
  args.insert(args.end(), {"-keyout", path(std::string(stem) + ".key"), "-out",
                           path(std::string(stem) + ".pem")});
  openssl(args);
}

CertificateFiles TestCertificates::make_signed(std::string_view stem, std::string_view common_name,
                                               std::string_view ca_stem,
                                               std::string_view extensions) {
  const CertificateFiles files{path(std::string(stem) + ".pem"), path(std::string(stem) + ".key")};
  if (std::filesystem::exists(files.cert)) return files;
  const std::string request = path(std::string(stem) + ".csr");
  std::vector<std::string> args = {"req", "-subj", "/CN=" + std::string(common_name)};
  args.insert(args.end(), ec_key.begin(), ec_key.end());
  args.insert(args.end(), {"-keyout", files.key, "-out", request});
  openssl(args);
  std::vector<std::string> sign = {"x509",
                                   "-req",
                                   "-days",
                                   "2",
                                   "-in",
                                   request,
                                   "-CA",
                                   path(std::string(ca_stem) + ".pem"),
                                   "-CAkey",
                                   path(std::string(ca_stem) + ".key"),
                                   "-CAcreateserial",
                                   "-out",
                                   files.cert};
  if (!extensions.empty()) {
    const std::string extfile = path(std::string(stem) + ".ext");
    std::ofstream(extfile) << extensions << '\n';
    sign.insert(sign.end(), {"-extfile", extfile});
  }
  openssl(sign);
  return files;
}

CertificateFiles TestCertificates::client(std::string_view name) {
  return make_signed("client-" + std::string(name), name, "ca", "");
}

CertificateFiles TestCertificates::untrusted_client(std::string_view name) {
  return make_signed("untrusted-" + std::string(name), name, "other-ca", "");
}

CertificateFiles TestCertificates::untrusted_server() {
  return make_signed("untrusted-server", "localhost", "other-ca", server_names);
}

}  // namespace paperboy::itest
