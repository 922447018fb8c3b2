#include "tls_conn.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <cerrno>

#include <memory>

#include "describe.hpp"

namespace paperboy::itest {

namespace p = paperboy::protocol;

namespace {

std::string ssl_errors(std::string_view fallback) {
  std::string reasons;
  while (const unsigned long code = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(code);
    if (!reasons.empty()) reasons += "; ";
    reasons += reason != nullptr ? reason : "unknown";
  }
  return reasons.empty() ? std::string(fallback) : reasons;
}

}  // namespace

TlsConn::TlsConn(std::uint16_t port, const TlsClientFiles& files, Duration timeout)
    : socket_(port), context_(SSL_CTX_new(TLS_client_method())) {
  REQUIRE(context_ != nullptr);
  REQUIRE(SSL_CTX_load_verify_locations(context_, files.ca.c_str(), nullptr) == 1);
  SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
  if (!files.cert.empty()) {
    REQUIRE(SSL_CTX_use_certificate_chain_file(context_, files.cert.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(context_, files.key.c_str(), SSL_FILETYPE_PEM) == 1);
  }
  ssl_ = SSL_new(context_);
  REQUIRE(ssl_ != nullptr);
  SSL_set_fd(ssl_, socket_.fd());
  // The server certificate must name the address we connect to.
  REQUIRE(SSL_set1_host(ssl_, "127.0.0.1") == 1);
  const Deadline deadline(timeout);
  for (;;) {
    ERR_clear_error();
    const int ret = SSL_connect(ssl_);
    if (ret == 1) return;
    const int error = SSL_get_error(ssl_, ret);
    if ((error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) &&
        wait_for(error, deadline)) {
      continue;
    }
    handshake_error_ = error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE
                           ? "timed out"
                           : ssl_errors("handshake failed");
    return;
  }
}

TlsConn::~TlsConn() {
  SSL_free(ssl_);
  SSL_CTX_free(context_);
}

std::string TlsConn::version() const {
  return SSL_get_version(ssl_);
}

bool TlsConn::wait_for(int ssl_error, const Deadline& deadline) {
  const short events = ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
  pollfd ready{socket_.fd(), events, 0};
  return ::poll(&ready, 1, deadline.poll_ms()) == 1;
}

void TlsConn::send(const p::Message& message, Duration timeout) {
  REQUIRE_MESSAGE(handshake_error_.empty(), "TLS handshake failed: " << handshake_error_);
  if (!try_send(message, timeout)) FAIL("TLS write failed: " << ssl_errors("timed out or closed"));
}

bool TlsConn::try_send(const p::Message& message, Duration timeout) {
  if (!handshake_error_.empty()) return false;
  const std::string frame = p::encode_frame(message);
  const Deadline deadline(timeout);
  std::size_t sent = 0;
  while (sent < frame.size()) {
    ERR_clear_error();
    std::size_t n = 0;
    const int ret = SSL_write_ex(ssl_, frame.data() + sent, frame.size() - sent, &n);
    if (ret == 1) {
      sent += n;
      continue;
    }
    const int error = SSL_get_error(ssl_, ret);
    if ((error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) ||
        !wait_for(error, deadline)) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> TlsConn::next_frame(Duration timeout) {
  const Deadline deadline(timeout);
  for (;;) {
    const p::FrameParse parsed = buffer_.next();
    if (parsed.status == p::FrameStatus::frame) return std::string(parsed.body);
    if (parsed.status == p::FrameStatus::too_large) FAIL("the daemon sent an oversized frame");
    if (closed_ || !handshake_error_.empty()) return std::nullopt;
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    char* const into = buffer_.writable_data();  // may allocate or move: before its size
    const int ret = SSL_read_ex(ssl_, into, buffer_.writable_size(), &n);
    if (ret == 1) {
      buffer_.commit(n);
      continue;
    }
    const int saved_errno = errno;
    const int error = SSL_get_error(ssl_, ret);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      if (!wait_for(error, deadline)) return std::nullopt;
      continue;
    }
    // EOF, close_notify, a reset or an alert (a refused client certificate): closed.
    close_reason_ = "SSL error " + std::to_string(error) + " errno " + std::to_string(saved_errno) +
                    ": " + ssl_errors("no reason");
    closed_ = true;
  }
}

Decoded<p::Message> TlsConn::expect_message(Duration timeout) {
  auto body = next_frame(timeout);
  if (!body) {
    FAIL("TLS client: " << (closed_ ? "the daemon closed (" + close_reason_ + ")"
                                    : std::string("no frame in time")));
  }
  auto owned = std::make_unique<const std::string>(std::move(*body));
  auto decoded = p::decode(*owned);
  REQUIRE_MESSAGE(decoded.ok(), "TLS client: a frame that does not decode");
  return Decoded<p::Message>(std::move(owned), *decoded);
}

void TlsConn::hello(std::string_view name, std::string_view token) {
  send(p::Hello{p::pb1_version, name, token});
  const auto frame = expect_message();
  if (!std::holds_alternative<p::Welcome>(*frame)) {
    FAIL("TLS client: expected WELCOME, got " << describe(*frame));
  }
}

void TlsConn::expect_ok(std::uint32_t req, Duration timeout) {
  const auto frame = expect_message(timeout);
  const auto* ok = std::get_if<p::Ok>(&*frame);
  if (ok == nullptr || ok->req != req) {
    FAIL("TLS client: expected OK(" << req << "), got " << describe(*frame));
  }
}

void TlsConn::expect_err(std::uint32_t req, std::uint16_t code, Duration timeout) {
  const auto frame = expect_message(timeout);
  const auto* err = std::get_if<p::Err>(&*frame);
  if (err == nullptr || err->req != req || err->code != code) {
    FAIL("TLS client: expected ERR(" << req << ", " << code << "), got " << describe(*frame));
  }
}

bool TlsConn::closed_within(Duration timeout) {
  if (!handshake_error_.empty()) return true;
  const auto frame = next_frame(timeout);
  if (frame) FAIL("TLS client: expected a close, got a frame");
  return closed_;
}

}  // namespace paperboy::itest
