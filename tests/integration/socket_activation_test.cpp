// systemd socket activation: a listening socket passed as fd 3 (LISTEN_FDS=1, LISTEN_PID=<the
// daemon's pid>) is served instead of binding, and connections made while no daemon runs wait in
// its backlog until one does, so a restart refuses nobody.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <optional>
#include <string>
#include <system_error>

#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

/// What systemd holds for a .socket unit: a TCP socket listening on 127.0.0.1 and a free port.
class ListeningSocket {
 public:
  ListeningSocket() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
        ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::system_error(errno, std::generic_category(), "listening socket");
    }
    port_ = ntohs(address.sin_port);
  }
  ~ListeningSocket() { ::close(fd_); }
  ListeningSocket(const ListeningSocket&) = delete;
  ListeningSocket& operator=(const ListeningSocket&) = delete;

  int fd() const { return fd_; }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A --port the daemon must not bind: the passed socket wins.
constexpr std::uint16_t ignored_port = 1;

void check_pub_sub(std::uint16_t port, const std::string& channel) {
  Conn subscriber(port, "subscriber");
  subscriber.hello();
  subscriber.subscribe(channel);
  Conn publisher(port, "publisher");
  publisher.hello();
  publisher.publish(channel, "through the passed socket");
  subscriber.expect_msg(channel, "through the passed socket");
}

}  // namespace

TEST_CASE("socket activation: the daemon serves on the socket passed as fd 3") {
  ListeningSocket listener;
  Daemon daemon({}, ignored_port, {.environment = {}, .listen_fd = listener.fd()});
  INFO(daemon.log_tail());
  CHECK(daemon.port() == listener.port());
  CHECK(daemon.log_count("server.socket_activated fd=3") == 1);
  check_pub_sub(listener.port(), "/topic/activated");
  const auto exit = daemon.terminate();
  REQUIRE(exit);
  CHECK_MESSAGE(exit->clean(), exit->describe());
}

TEST_CASE("socket activation: connections made while no daemon runs are served when one starts") {
  ListeningSocket listener;
  // Before any daemon: the kernel completes the handshake into the backlog and keeps the HELLO.
  Conn early(listener.port(), "early");
  early.send_hello();
  {
    Daemon first({}, ignored_port, {.environment = {}, .listen_fd = listener.fd()});
    INFO(first.log_tail());
    early.expect<p::Welcome>();
    early.ping_pong();
    const auto exit = first.terminate();
    REQUIRE(exit);
  }
  // Between a stop and the next start (a restart): still queued, not refused.
  Conn meanwhile(listener.port(), "meanwhile");
  meanwhile.send_hello();
  Daemon second({}, ignored_port, {.environment = {}, .listen_fd = listener.fd()});
  INFO(second.log_tail());
  meanwhile.expect<p::Welcome>();
  check_pub_sub(listener.port(), "/topic/restarted");
}

TEST_CASE("socket activation: LISTEN_FDS meant for another process is ignored") {
  // LISTEN_PID names the test process, not the daemon: it binds its own port as usual.
  Daemon daemon({}, 0, {{"LISTEN_FDS=1", "LISTEN_PID=" + std::to_string(::getpid())}});
  INFO(daemon.log_tail());
  CHECK(daemon.log_count("server.socket_activated") == 0);
  Conn client(daemon.port(), "client");
  client.hello();
}

TEST_CASE("socket activation: a connection made while the daemon drains waits for the next one") {
  ListeningSocket listener;
  std::optional<Conn> during;
  {
    Daemon first({"--client-queue-bytes", "67108864", "--shutdown-grace", "2"}, ignored_port,
                 {.environment = {}, .listen_fd = listener.fd()});
    INFO(first.log_tail());
    // A subscriber that never reads keeps the daemon draining until its grace is over.
    Conn stuck(listener.port(), "stuck", SocketOptions{4096});
    Conn publisher(listener.port(), "publisher");
    stuck.hello();
    publisher.hello();
    stuck.subscribe("/topic/stuck");
    for (std::size_t i = 0; i < 2000; ++i) {
      publisher.pub("/topic/stuck", numbered_payload(i, 4096));
    }
    publisher.ping_pong();
    first.signal(SIGTERM);
    publisher.expect_err_and_close(0, 6);
    // Draining: the daemon no longer accepts, but the socket systemd holds still listens.
    during.emplace(listener.port(), "during");
    during->send_hello();
    const auto exit = first.wait_exit(std::chrono::seconds(30));
    REQUIRE(exit);
    CHECK_MESSAGE(exit->clean(), exit->describe());
    // What the stuck subscriber never read is reported, not silently dropped.
    CHECK(first.log_count("server.unsent connections=1 ") == 1);
  }
  Daemon second({}, ignored_port, {.environment = {}, .listen_fd = listener.fd()});
  INFO(second.log_tail());
  during->expect<p::Welcome>();
  during->ping_pong();
}
