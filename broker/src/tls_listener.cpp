#include "tls_listener.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/steady_timer.hpp>

#include "connection_limits.hpp"
#include "endpoint_format.hpp"
#include "paperboy/broker/server.hpp"
#include "tcp_transport.hpp"
#include "tls_transport.hpp"
#include "traffic.hpp"
#include "use_nothrow.hpp"

namespace paperboy::broker {

/// One handshake in progress: its transport until the handshake is over, and its deadline.
struct TlsListener::Handshaking {
  Handshaking(asio::io_context& io, std::unique_ptr<TlsTransport> t)
      : transport(std::move(t)), deadline(io) {}
  std::unique_ptr<TlsTransport> transport;
  asio::steady_timer deadline;
  bool timed_out = false;
};

TlsListener::TlsListener(asio::io_context& io, Server& server)
    : io_(io), server_(server), context_(server.config()), acceptor_(io) {
  listen_on(acceptor_, server.config().bind_address, *server.config().tls_port, "TLS ");
  port_ = acceptor_.local_endpoint().port();
}

TlsListener::~TlsListener() = default;

void TlsListener::start() {
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

void TlsListener::close() {
  std::error_code ignored;
  acceptor_.close(ignored);
  for (auto& [id, handshaking] : handshaking_) {
    if (handshaking->transport) handshaking->transport->close();
    handshaking->deadline.cancel();
  }
}

asio::awaitable<void> TlsListener::accept_loop() {
  RateLimitedLog failures;
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {
      failures("server.accept_failed tls=true error={:?}", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    asio::co_spawn(io_, handshake(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> TlsListener::handshake(asio::ip::tcp::socket socket) {
  std::error_code ec;
  const auto from = canonical_address(socket.remote_endpoint(ec).address());
  if (ec) co_return;  // already gone
  Traffic& traffic = server_.traffic();
  if (handshaking_.size() >= max_handshaking || server_.shutting_down()) {
    ++traffic.tls_handshake_failures;
    failure_log_("tls.handshake_failed peer={} reason=\"too many handshakes in progress\"",
                 from.to_string());
    co_return;  // the socket closes as it goes out of scope
  }
  auto state = std::make_shared<Handshaking>(
      io_, std::make_unique<TlsTransport>(std::move(socket), context_.native()));
  const auto id = next_handshake_++;
  handshaking_.emplace(id, state.get());
  // Read now, not at start-up, so a reloaded --handshake-timeout applies to the next connect.
  state->deadline.expires_after(server_.config().handshake_timeout);
  state->deadline.async_wait([weak = std::weak_ptr<Handshaking>(state)](std::error_code waited) {
    const auto handshaking = weak.lock();
    if (waited || !handshaking || !handshaking->transport) return;
    handshaking->timed_out = true;
    handshaking->transport->close();
  });
  std::string reason;
  const std::error_code failed = co_await state->transport->handshake(reason);
  state->deadline.cancel();
  handshaking_.erase(id);
  std::unique_ptr<TlsTransport> transport = std::move(state->transport);
  if (server_.shutting_down()) co_return;
  if (failed) {
    ++traffic.tls_handshake_failures;
    if (state->timed_out) reason = "no handshake within --handshake-timeout";
    failure_log_("tls.handshake_failed peer={} reason={:?}", from.to_string(), reason);
    co_return;
  }
  server_.admit(std::move(transport), from);
}

}  // namespace paperboy::broker
