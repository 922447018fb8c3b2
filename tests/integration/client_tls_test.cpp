// The C++ client and the `paperboy` CLI over TLS to the real daemon: a round trip, the server's
// certificate refused when signed by a CA we do not trust or for another name, a client
// certificate for a broker that requires one (mTLS).
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "client_tls_certificates.hpp"
#include "command.hpp"
#include "daemon.hpp"
#include "paperboy/client/client.hpp"
#include "socket.hpp"

#ifndef PAPERBOY_CLI_PATH
#error "PAPERBOY_CLI_PATH must name the paperboy binary under test"
#endif

namespace pc = paperboy::client;
using namespace paperboy::itest;
using namespace std::chrono_literals;

namespace {

// TEMPORARY until tls-broker's listener is merged: socat terminates TLS in front of a plain
// paperboyd.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

struct TlsBrokerOptions {
  std::filesystem::path cert;
  std::filesystem::path key;
  std::filesystem::path client_ca;  // empty: no client certificate required
};

class TlsBroker {
 public:
  explicit TlsBroker(const TlsBrokerOptions& options) : tls_port_(free_port()) {
    std::string listen = "OPENSSL-LISTEN:" + std::to_string(tls_port_) +
                         ",bind=127.0.0.1,reuseaddr,fork,cert=" + options.cert.string() +
                         ",key=" + options.key.string();
    listen +=
        options.client_ca.empty() ? ",verify=0" : ",verify=1,cafile=" + options.client_ca.string();
    front_ = std::make_unique<Command>(std::vector<std::string>{
        "socat", listen, "TCP:127.0.0.1:" + std::to_string(daemon_.port())});
    const bool listening = wait_until(
        [&] {
          try {
            Socket probe(tls_port_);
            return true;
          } catch (const std::system_error&) {
            return false;
          }
        },
        default_timeout);
    REQUIRE_MESSAGE(listening, "socat did not listen: " << front_->err());
  }

  std::uint16_t tls_port() const { return tls_port_; }
  std::uint16_t plain_port() const { return daemon_.port(); }

 private:
  Daemon daemon_;
  std::uint16_t tls_port_;
  std::unique_ptr<Command> front_;
};

pc::ConnectOptions tls_options(const std::filesystem::path& ca) {
  pc::ConnectOptions options;
  options.tls.enabled = true;
  options.tls.ca_file = ca.string();
  options.reconnect.enabled = false;
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
  const ClientTlsCertificates certificates;
  TlsBroker broker({certificates.server_cert(), certificates.server_key(), {}});
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
  const ClientTlsCertificates certificates;
  TlsBroker broker({certificates.untrusted_server_cert(), certificates.untrusted_server_key(), {}});
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
  const ClientTlsCertificates certificates;
  TlsBroker broker({certificates.server_cert(), certificates.server_key(), {}});
  auto options = tls_options(certificates.ca());
  options.tls.server_name = "broker.example.com";
  expect_refused(broker.tls_port(), "127.0.0.1", options, "hostname mismatch");
  // An IP address the certificate does not hold is refused the same way.
  options.tls.server_name = "127.0.0.2";
  expect_refused(broker.tls_port(), "127.0.0.1", options, "IP address mismatch");
}

TEST_CASE("client over TLS: a broker that requires a client certificate (mTLS)") {
  const ClientTlsCertificates certificates;
  TlsBroker broker({certificates.server_cert(), certificates.server_key(), certificates.ca()});
  const auto client_cert = certificates.make_client("billing-worker");
  auto options = tls_options(certificates.ca());
  options.tls.cert_file = client_cert.string() + ".pem";
  options.tls.key_file = client_cert.string() + ".key";
  pc::Client client;
  client.connect("127.0.0.1", broker.tls_port(), options);
  expect_round_trip(client, broker.plain_port(), "/topic/mtls");

  // Without a certificate the broker ends the handshake: no WELCOME, a connection error.
  pc::Client anonymous;
  CHECK_THROWS_AS(anonymous.connect("127.0.0.1", broker.tls_port(), tls_options(certificates.ca())),
                  pc::Error);
}

TEST_CASE("client over TLS: unusable TLS files are refused before connecting") {
  const ClientTlsCertificates certificates;
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
  options.tls.cert_file = certificates.server_cert().string();  // and no key
  pc::Client keyless;
  CHECK_THROWS_AS(keyless.connect("127.0.0.1", 1, options), pc::Error);
}

TEST_CASE("paperboy send and listen --tls --ca: a round trip through the CLI") {
  const ClientTlsCertificates certificates;
  TlsBroker broker({certificates.server_cert(), certificates.server_key(), {}});
  const std::string port = std::to_string(broker.tls_port());
  const std::string ca = certificates.ca().string();
  // A queue keeps the message until listen takes it, so the two need no ordering.
  const auto sent = run_to_end({PAPERBOY_CLI_PATH, "send", "--port", port, "--tls", "--ca", ca,
                                "--channel", "/queue/cli-tls", "--data", "hello tls"});
  REQUIRE_MESSAGE(sent.status.clean(), sent.err);
  const auto listened = run_to_end({PAPERBOY_CLI_PATH, "listen", "--port", port, "--ca", ca,
                                    "--channel", "/queue/cli-tls", "--count", "1"});
  REQUIRE_MESSAGE(listened.status.clean(), listened.err);
  CHECK(listened.out.find("hello tls") != std::string::npos);

  // Without --ca the system's CAs do not know ours: send fails, exit 1, saying why.
  const auto refused = run_to_end({PAPERBOY_CLI_PATH, "send", "--port", port, "--tls", "--channel",
                                   "/queue/cli-tls", "--data", "nobody"});
  CHECK(refused.status.exited());
  CHECK(refused.status.code() == 1);
  CHECK_MESSAGE(refused.err.find("certificate verify failed") != std::string::npos, refused.err);
}
