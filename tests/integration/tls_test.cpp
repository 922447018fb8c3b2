// TLS (issue 13): --tls-port beside the plain port, a PB1 round trip over TLS, `openssl
// s_client` (TLS 1.2 at least), a plain client or a silent connect on the TLS port closed while
// both ports keep serving, mTLS with --tls-ca, --tls-map-user naming the user by the
// certificate's CN, --no-plain, the handshake-failure counter in /metrics, and bad certificate
// files stopping the start.
#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

#include "command.hpp"
#include "config_file.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "deadline.hpp"
#include "http_get.hpp"
#include "test_certificates.hpp"
#include "tls_conn.hpp"
#include "token_hash.hpp"

using namespace paperboy::itest;
namespace p = paperboy::protocol;

namespace {

constexpr std::uint16_t not_authorized = 4;
constexpr std::uint16_t auth_failed = 10;

// The certificates of one test binary run: openssl is run once, not per case.
TestCertificates& certificates() {
  static TestCertificates made;
  return made;
}

std::vector<std::string> tls_flags(std::vector<std::string> more = {}) {
  const CertificateFiles server = certificates().server();
  std::vector<std::string> flags = {"--tls-port", "0",         "--tls-cert",
                                    server.cert,  "--tls-key", server.key};
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

// The port of the `server.listening ... tls=true` line, once the daemon logged it.
std::uint16_t tls_port(const Daemon& daemon) {
  static const std::regex line(R"(server\.listening[^\n]*\bport=(\d+)[^\n]*\btls=true)");
  return logged_port(daemon, line);
}

TlsClientFiles trusting_ca(CertificateFiles client = {}) {
  return {certificates().ca(), client.cert, client.key};
}

// `openssl s_client` against the TLS port with `extra` flags and nothing to send: its exit and
// what it printed.
Run s_client(std::uint16_t port, const std::string& extra) {
  return run_to_end({"/bin/sh", "-c",
                     "openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                         " -CAfile \"$0\" -verify_return_error " + extra + " </dev/null 2>&1",
                     certificates().ca()});
}

}  // namespace

TEST_CASE("tls: HELLO, SUB and PUB round trip over TLS, beside plain clients") {
  Daemon daemon(tls_flags());
  const std::uint16_t port = tls_port(daemon);
  REQUIRE(port != daemon.port());
  TlsConn secure(port, trusting_ca());
  REQUIRE_MESSAGE(secure.handshake_error().empty(), secure.handshake_error());
  secure.hello("secure");
  secure.send(p::Sub{1, 0, 0, "/topic/news"});
  secure.expect_ok(1);

  Conn plain(daemon.port(), "plain");
  plain.hello();
  plain.subscribe("/topic/back");
  // Many messages and one larger than a TLS record and than a write batch: several SSL_writes
  // and records each way, in order and intact.
  std::string large(200 * 1024, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>('a' + i % 26);
  for (int i = 0; i < 50; ++i) plain.pub("/topic/news", "message " + std::to_string(i));
  plain.pub("/topic/news", large);
  for (int i = 0; i < 50; ++i) {
    const auto msg = secure.expect_message();
    const auto* delivered = std::get_if<p::Msg>(&*msg);
    REQUIRE(delivered != nullptr);
    CHECK(delivered->payload == "message " + std::to_string(i));
  }
  const auto big = secure.expect_message();
  REQUIRE(std::holds_alternative<p::Msg>(*big));
  CHECK(std::get<p::Msg>(*big).payload == large);

  secure.send(p::Pub{2, "/topic/back", {}, large});
  secure.expect_ok(2);
  plain.expect_msg("/topic/back", large);
  plain.ping_pong();
}

TEST_CASE("tls: openssl s_client completes a handshake, TLS 1.1 is refused") {
  Daemon daemon(tls_flags());
  const std::uint16_t port = tls_port(daemon);
  const Run ok = s_client(port, "");
  CHECK_MESSAGE(ok.out.find("Verify return code: 0 (ok)") != std::string::npos, ok.out);
  CHECK_MESSAGE(ok.out.find("TLSv1.3") != std::string::npos, ok.out);
  const Run old = s_client(port, "-tls1_1");
  CHECK_FALSE(old.status.clean());
  CHECK(wait_until([&] { return daemon.log_count("tls.handshake_failed") >= 1; }));
  const Run tls12 = s_client(port, "-tls1_2");
  CHECK_MESSAGE(tls12.out.find("TLSv1.2") != std::string::npos, tls12.out);
}

TEST_CASE("tls: a plain client on the TLS port is closed, and both ports keep serving") {
  Daemon daemon(tls_flags());
  const std::uint16_t port = tls_port(daemon);
  Conn wrong(port, "plain-on-tls");
  wrong.send_hello();
  wrong.expect_closed();
  CHECK(wait_until([&] { return daemon.log_count("tls.handshake_failed") == 1; }));

  Conn plain(daemon.port(), "plain");
  plain.hello();
  plain.ping_pong();
  TlsConn secure(port, trusting_ca());
  REQUIRE_MESSAGE(secure.handshake_error().empty(), secure.handshake_error());
  secure.hello();
}

TEST_CASE("tls: a connect that never starts the handshake is closed after --handshake-timeout") {
  Daemon daemon(tls_flags({"--handshake-timeout", "0.3"}));
  const std::uint16_t port = tls_port(daemon);
  Socket silent(port);
  char byte = 0;
  std::size_t n = 0;
  const RecvStatus status = silent.recv_some(&byte, 1, default_timeout, n);
  CHECK((status == RecvStatus::closed || status == RecvStatus::reset));
  CHECK(
      wait_until([&] { return daemon.log_count("no handshake within --handshake-timeout") == 1; }));
  TlsConn secure(port, trusting_ca());
  REQUIRE_MESSAGE(secure.handshake_error().empty(), secure.handshake_error());
  secure.hello();
}

TEST_CASE("mtls: --tls-ca requires a client certificate signed by that CA") {
  Daemon daemon(tls_flags({"--tls-ca", certificates().ca()}));
  const std::uint16_t port = tls_port(daemon);
  TlsConn good(port, trusting_ca(certificates().client("alice")));
  REQUIRE_MESSAGE(good.handshake_error().empty(), good.handshake_error());
  good.hello();

  // TLS 1.3 clients finish their side before the server checks their certificate: the refusal
  // arrives as an alert instead of the WELCOME.
  TlsConn none(port, trusting_ca());
  none.try_send(p::Hello{p::pb1_version, "anonymous", {}});
  CHECK(none.closed_within());
  TlsConn untrusted(port, trusting_ca(certificates().untrusted_client("mallory")));
  untrusted.try_send(p::Hello{p::pb1_version, "m", {}});
  CHECK(untrusted.closed_within());
  CHECK(wait_until([&] { return daemon.log_count("tls.handshake_failed") >= 1; }));
  good.send(p::Ping{7});
  CHECK(std::holds_alternative<p::Pong>(*good.expect_message()));
}

TEST_CASE("mtls: --tls-map-user names the user by the certificate's CN") {
  ConfigFile users("[[user]]\nname = \"alice\"\ntoken_hash = \"" + hash_of("alice-token") +
                   "\"\npublish = [\"/topic/alice/>\"]\nsubscribe = [\"/topic/alice/>\"]\n");
  Daemon daemon(
      tls_flags({"--tls-ca", certificates().ca(), "--tls-map-user", "--users", users.arg()}));
  const std::uint16_t port = tls_port(daemon);

  TlsConn alice(port, trusting_ca(certificates().client("alice")));
  REQUIRE_MESSAGE(alice.handshake_error().empty(), alice.handshake_error());
  alice.hello("");  // no name, no token: the certificate says who
  alice.send(p::Sub{1, 0, 0, "/topic/alice/inbox"});
  alice.expect_ok(1);
  alice.send(p::Sub{2, 0, 0, "/topic/bob/inbox"});
  alice.expect_err(2, not_authorized);
  alice.send(p::Ping{3});
  CHECK(std::holds_alternative<p::Pong>(*alice.expect_message()));

  TlsConn same_name(port, trusting_ca(certificates().client("alice")));
  same_name.hello("alice");

  TlsConn other_name(port, trusting_ca(certificates().client("alice")));
  REQUIRE(other_name.handshake_error().empty());
  other_name.send(p::Hello{p::pb1_version, "bob", {}});
  other_name.expect_err(0, auth_failed);
  CHECK(other_name.closed_within());

  TlsConn nobody(port, trusting_ca(certificates().client("carol")));
  REQUIRE(nobody.handshake_error().empty());
  nobody.send(p::Hello{p::pb1_version, "", {}});
  nobody.expect_err(0, auth_failed);

  // Over plain TCP the token still decides.
  Conn plain(daemon.port(), "plain");
  plain.send_hello("alice", p::pb1_version, "alice-token");
  plain.expect<p::Welcome>();
}

TEST_CASE("tls: --no-plain serves TLS only") {
  Daemon daemon(tls_flags({"--no-plain"}));
  const std::uint16_t port = tls_port(daemon);
  CHECK(daemon.log_count("server.listening") == 1);
  CHECK(daemon.port() == port);
  TlsConn secure(port, trusting_ca());
  REQUIRE_MESSAGE(secure.handshake_error().empty(), secure.handshake_error());
  secure.hello();
}

TEST_CASE("tls: /metrics counts failed handshakes") {
  Daemon daemon(tls_flags({"--http", "127.0.0.1:0"}));
  const std::uint16_t port = tls_port(daemon);
  const std::uint16_t http = http_port(daemon);
  CHECK(metric(http_get(http, "/metrics"), "paperboy_tls_handshake_failures_total") == 0);
  for (int i = 0; i < 3; ++i) {
    Conn wrong(port, "plain-on-tls");
    wrong.send_hello();
    wrong.expect_closed();
  }
  CHECK(wait_until([&] {
    return metric(http_get(http, "/metrics"), "paperboy_tls_handshake_failures_total") == 3;
  }));
  CHECK(http_get(http, "/stats").find("\"tls_handshake_failures\":3") != std::string::npos);
}

TEST_CASE("tls: a certificate or key that does not load stops the start, naming the file") {
  const CertificateFiles server = certificates().server();
  const Run missing = run_paperboyd({"--port", "0", "--tls-port", "0", "--tls-cert",
                                     "/nonexistent/cert.pem", "--tls-key", server.key});
  CHECK(missing.status.exited());
  CHECK(missing.status.code() == 2);
  CHECK_MESSAGE(missing.err.find("--tls-cert /nonexistent/cert.pem") != std::string::npos,
                missing.err);
  const Run wrong_key = run_paperboyd({"--port", "0", "--tls-port", "0", "--tls-cert", server.cert,
                                       "--tls-key", certificates().client("x").key});
  CHECK(wrong_key.status.code() == 2);
  CHECK_MESSAGE(wrong_key.err.find("not --tls-cert's") != std::string::npos, wrong_key.err);
  const Run no_key = run_paperboyd({"--port", "0", "--tls-port", "0", "--tls-cert", server.cert});
  CHECK(no_key.status.code() == 2);
  const Run checked = run_paperboyd(
      {"--tls-port", "0", "--tls-cert", server.cert, "--tls-key", server.key, "--check-config"});
  CHECK_MESSAGE(checked.status.clean(), checked.err);
}
