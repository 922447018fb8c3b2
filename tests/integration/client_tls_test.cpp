// The C++ client and the `paperboy` CLI over TLS to the real daemon: a round trip, the server's
// certificate refused when signed by a CA we do not trust or for another name, a client
// certificate for a broker that requires one (mTLS), a reconnect after the daemon restarts.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <variant>
#include <vector>

#include "command.hpp"
#include "daemon.hpp"
#include "paperboy/client/client.hpp"
#include "test_certificates.hpp"

#ifndef PAPERBOY_CLI_PATH
#error "PAPERBOY_CLI_PATH must name the paperboy binary under test"
#endif

namespace pc = paperboy::client;
using namespace paperboy::itest;
using namespace std::chrono_literals;

namespace {

struct TlsBrokerOptions {
  std::filesystem::path cert;
  std::filesystem::path key;
  std::filesystem::path client_ca;  // empty: no client certificate required
};

// The TLS port from the `server.listening ... tls=true` line, or 0 while there is none.
std::uint16_t tls_listening_port(const std::string& log) {
  static const std::regex line(R"(server\.listening[^\n]*\bport=(\d+)[^\n]*\btls=true)");
  std::smatch match;
  return std::regex_search(log, match, line)
             ? static_cast<std::uint16_t>(std::stoul(match[1].str()))
             : std::uint16_t{0};
}

// paperboyd with a plain and a TLS listener; kill_and_restart() starts it again on the same
// TLS port.
class TlsBroker {
 public:
  explicit TlsBroker(const TlsBrokerOptions& options) : options_(options) { start(0); }

  std::uint16_t tls_port() const { return tls_port_; }
  std::uint16_t plain_port() const { return daemon_->port(); }
  Daemon& daemon() { return *daemon_; }

  void kill_and_restart() {
    REQUIRE(daemon_->stop(SIGKILL).has_value());
    daemon_.reset();
    start(tls_port_);
  }

 private:
  void start(std::uint16_t tls_port) {
    std::vector<std::string> flags = {"--tls-port", std::to_string(tls_port),
                                      "--tls-cert", options_.cert.string(),
                                      "--tls-key",  options_.key.string()};
    if (!options_.client_ca.empty())
      flags.insert(flags.end(), {"--tls-ca", options_.client_ca.string()});
    daemon_ = std::make_unique<Daemon>(flags);
    // Logged right after the plain listener's line.
    REQUIRE_MESSAGE(
        wait_until([&] { return (tls_port_ = tls_listening_port(daemon_->log())) != 0; }),
        "no TLS listener: " << daemon_->log_tail());
  }

  TlsBrokerOptions options_;
  std::unique_ptr<Daemon> daemon_;
  std::uint16_t tls_port_ = 0;
};

pc::ConnectOptions tls_options(const std::filesystem::path& ca) {
  pc::ConnectOptions options;
  options.tls.enabled = true;
  options.tls.ca_file = ca.string();
  options.reconnect.enabled = false;
  // The TLS handshake is part of connecting: on a loaded machine under sanitizers the first
  // one (OpenSSL's start-up in both processes) can take seconds.
  options.connect_timeout = 20s;
  return options;
}

// Publishes on a second plain client and expects it back on `client`'s subscription.
void expect_round_trip(pc::Client& client, std::uint16_t plain_port, const std::string& channel) {
  client.subscribe(channel);
  pc::Client publisher;
  publisher.connect("127.0.0.1", plain_port);
  publisher.publish_confirmed(channel, "over tls");
  auto event = client.next(default_timeout);
  REQUIRE(event.has_value());
  const auto* message = std::get_if<pc::Message>(&*event);
  REQUIRE(message != nullptr);
  CHECK(message->channel == channel);
  CHECK(message->payload == "over tls");
  // And the other way: what the TLS client publishes reaches the broker.
  client.publish_confirmed(channel, "back");
  event = client.next(default_timeout);
  REQUIRE(event.has_value());
  message = std::get_if<pc::Message>(&*event);
  REQUIRE(message != nullptr);
  CHECK(message->payload == "back");
}

// connect() must fail with a connection error that says why the handshake failed.
void expect_refused(std::uint16_t port, const std::string& host, const pc::ConnectOptions& options,
                    const std::string& reason) {
  pc::Client client;
  try {
    client.connect(host, port, options);
    FAIL("connected despite " << reason);
  } catch (const pc::Error& e) {
    CHECK(e.connection_lost());
    CHECK_MESSAGE(std::string(e.what()).find(reason) != std::string::npos, e.what());
  }
}

}  // namespace

TEST_CASE("client over TLS: round trip with the server verified by its CA, by IP and by name") {
  TestCertificates certificates;
  TlsBroker broker({certificates.server().cert, certificates.server().key, {}});
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    CAPTURE(host);
    pc::Client client;
    client.connect(host, broker.tls_port(), tls_options(certificates.ca()));
    CHECK(client.connected());
    expect_round_trip(client, broker.plain_port(), "/topic/tls/" + host);
    client.close();
  }
}

TEST_CASE("client over TLS: a server certificate from a CA we do not trust is refused") {
  TestCertificates certificates;
  TlsBroker broker({certificates.untrusted_server().cert, certificates.untrusted_server().key, {}});
  expect_refused(broker.tls_port(), "127.0.0.1", tls_options(certificates.ca()),
                 "certificate verify failed");
  // Without verification the same server is accepted (encrypted, unauthenticated).
  auto unverified = tls_options(certificates.ca());
  unverified.tls.verify_peer = false;
  pc::Client client;
  client.connect("127.0.0.1", broker.tls_port(), unverified);
  CHECK(client.connected());
}

TEST_CASE("client over TLS: a certificate for another name is refused") {
  TestCertificates certificates;
  TlsBroker broker({certificates.server().cert, certificates.server().key, {}});
  auto options = tls_options(certificates.ca());
  options.tls.server_name = "broker.example.com";
  expect_refused(broker.tls_port(), "127.0.0.1", options, "hostname mismatch");
  // An IP address the certificate does not hold is refused the same way.
  options.tls.server_name = "127.0.0.2";
  expect_refused(broker.tls_port(), "127.0.0.1", options, "IP address mismatch");
}

TEST_CASE("client over TLS: a broker that requires a client certificate (mTLS)") {
  TestCertificates certificates;
  TlsBroker broker({certificates.server().cert, certificates.server().key, certificates.ca()});
  const auto client_cert = certificates.client("billing-worker");
  auto options = tls_options(certificates.ca());
  options.tls.cert_file = client_cert.cert;
  options.tls.key_file = client_cert.key;
  pc::Client client;
  client.connect("127.0.0.1", broker.tls_port(), options);
  expect_round_trip(client, broker.plain_port(), "/topic/mtls");

  // Without a certificate the broker ends the handshake: no WELCOME, a connection error.
  pc::Client anonymous;
  CHECK_THROWS_AS(anonymous.connect("127.0.0.1", broker.tls_port(), tls_options(certificates.ca())),
                  pc::Error);
}

TEST_CASE("client over TLS: unusable TLS files are refused before connecting") {
  TestCertificates certificates;
  auto options = tls_options(certificates.ca());
  options.tls.ca_file = "/nonexistent/ca.pem";
  pc::Client client;
  try {
    client.connect("127.0.0.1", 1, options);
    FAIL("connected with a missing CA file");
  } catch (const pc::Error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
    CHECK_MESSAGE(std::string(e.what()).find("/nonexistent/ca.pem") != std::string::npos, e.what());
  }
  options = tls_options(certificates.ca());
  options.tls.cert_file = certificates.server().cert;  // and no key
  pc::Client keyless;
  CHECK_THROWS_AS(keyless.connect("127.0.0.1", 1, options), pc::Error);
}

TEST_CASE("paperboy send and listen --tls --ca: a round trip through the CLI") {
  TestCertificates certificates;
  TlsBroker broker({certificates.server().cert, certificates.server().key, {}});
  const std::string port = std::to_string(broker.tls_port());
  const std::string ca = certificates.ca();
  // A queue keeps the message until listen takes it, so the two need no ordering.
  const auto sent =
      run_to_end({PAPERBOY_CLI_PATH, "send", "--timeout", "20s", "--port", port, "--tls", "--ca",
                  ca, "--channel", "/queue/cli-tls", "--data", "hello tls"});
  REQUIRE_MESSAGE(sent.status.clean(), sent.err);
  const auto listened = run_to_end({PAPERBOY_CLI_PATH, "listen", "--timeout", "20s", "--port", port,
                                    "--ca", ca, "--channel", "/queue/cli-tls", "--count", "1"});
  REQUIRE_MESSAGE(listened.status.clean(), listened.err);
  CHECK(listened.out.find("hello tls") != std::string::npos);

  // Without --ca the system's CAs do not know ours: send fails, exit 1, saying why.
  const auto refused = run_to_end({PAPERBOY_CLI_PATH, "send", "--timeout", "20s", "--port", port,
                                   "--tls", "--channel", "/queue/cli-tls", "--data", "nobody"});
  CHECK(refused.status.exited());
  CHECK(refused.status.code() == 1);
  CHECK_MESSAGE(refused.err.find("certificate verify failed") != std::string::npos, refused.err);
}

TEST_CASE("client over TLS: reconnects, with a new handshake, after the daemon restarts") {
  TestCertificates certificates;
  TlsBroker broker({certificates.server().cert, certificates.server().key, {}});
  auto options = tls_options(certificates.ca());
  options.reconnect.enabled = true;
  options.reconnect.initial_delay = 20ms;
  options.reconnect.max_delay = 200ms;
  pc::Client client;
  client.connect("localhost", broker.tls_port(), options);
  client.subscribe("/topic/again");
  broker.kill_and_restart();

  auto event = client.next(20s);
  REQUIRE(event.has_value());
  CHECK(std::holds_alternative<pc::Disconnected>(*event));
  event = client.next(20s);
  REQUIRE(event.has_value());
  REQUIRE(std::holds_alternative<pc::Reconnected>(*event));
  // The subscription was made again over the new TLS connection.
  client.publish_confirmed("/topic/again", "after restart");
  event = client.next(default_timeout);
  REQUIRE(event.has_value());
  const auto* message = std::get_if<pc::Message>(&*event);
  REQUIRE(message != nullptr);
  CHECK(message->payload == "after restart");
}

TEST_CASE(
    "paperboyd's TLS port: a client with a plain TCP connection is refused, TLS ones served") {
  TestCertificates certificates;
  TlsBroker broker({certificates.server().cert, certificates.server().key, {}});
  pc::ConnectOptions plain;
  plain.reconnect.enabled = false;
  pc::Client client;
  CHECK_THROWS_AS(client.connect("127.0.0.1", broker.tls_port(), plain), pc::Error);
  pc::Client tls;
  tls.connect("127.0.0.1", broker.tls_port(), tls_options(certificates.ca()));
  expect_round_trip(tls, broker.plain_port(), "/topic/after-plain");
}
