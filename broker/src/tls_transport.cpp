#include "tls_transport.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>

#include "gather_write.hpp"
#include "tcp_transport.hpp"
#include "tls_context.hpp"
#include "use_nothrow.hpp"

namespace paperboy::broker {

namespace {

// The subject CN of the peer's certificate if it was verified, else empty.
std::string verified_common_name(SSL* ssl) {
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return {};
  X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return {};
  unsigned char* utf8 = nullptr;
  const int length =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  if (length < 0) return {};
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return name;
}

// The one gather buffer of the event loop's thread: a batch only needs its own copy while
// SSL_write waits to finish it (TlsTransport::pending_).
std::array<char, TlsTransport::write_batch>& gather_buffer() {
  thread_local std::array<char, TlsTransport::write_batch> buffer;
  return buffer;
}

}  // namespace

TlsTransport::TlsTransport(asio::ip::tcp::socket socket, SSL_CTX* context)
    : socket_(std::move(socket)), ssl_(SSL_new(context)) {
  if (ssl_ == nullptr) throw std::bad_alloc();
  prepare_accepted(socket_);
  SSL_set_fd(ssl_, socket_.native_handle());
  // A batch that waited is retried from pending_, not from where it was first gathered.
  SSL_set_mode(ssl_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_accept_state(ssl_);
}

TlsTransport::~TlsTransport() {
  SSL_free(ssl_);
}

asio::awaitable<std::error_code> TlsTransport::handshake(std::string& reason) {
  for (;;) {
    if (!socket_.is_open()) {
      reason = "closed";
      co_return asio::error::operation_aborted;
    }
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_accept(ssl_);
    if (ret == 1) break;
    const int code = SSL_get_error(ssl_, ret);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
      auto [ec] =
          co_await socket_.async_wait(code == SSL_ERROR_WANT_READ ? asio::socket_base::wait_read
                                                                  : asio::socket_base::wait_write,
                                      use_nothrow);
      if (ec) {
        reason = ec == asio::error::operation_aborted ? "closed" : ec.message();
        co_return ec;
      }
      continue;
    }
    const int saved_errno = errno;
    if (code == SSL_ERROR_SYSCALL || code == SSL_ERROR_ZERO_RETURN) {
      ERR_clear_error();
      reason = saved_errno != 0 ? std::strerror(saved_errno) : "the peer closed";
    } else {
      reason = take_ssl_errors("handshake failed");
    }
    co_return std::make_error_code(std::errc::protocol_error);
  }
  subject_ = verified_common_name(ssl_);
  co_return std::error_code{};
}

asio::any_io_executor TlsTransport::executor() {
  return socket_.get_executor();
}

std::string TlsTransport::peer_name() const {
  return peer_name_of(socket_);
}

IoResult TlsTransport::failure(int ret, Ready& wants) noexcept {
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ: wants = Ready::readable; return {0, asio::error::would_block};
    case SSL_ERROR_WANT_WRITE: wants = Ready::writable; return {0, asio::error::would_block};
    case SSL_ERROR_ZERO_RETURN: return {0, asio::error::eof};
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (saved_errno == 0) return {0, asio::error::eof};
      return {0, std::error_code(saved_errno, std::system_category())};
    default:
      // A bad record or MAC: the stream cannot be trusted any further.
      ERR_clear_error();
      return {0, std::make_error_code(std::errc::protocol_error)};
  }
}

IoResult TlsTransport::read_some(char* data, std::size_t size) noexcept {
  // Closed: the descriptor may already be another connection's.
  if (!socket_.is_open()) return {0, asio::error::bad_descriptor};
  // SSL_read returns one record (16 KiB at most) a call: take every record that has arrived, so
  // a read batch is as large as over TCP.
  std::size_t total = 0;
  while (total < size) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    const int ret = SSL_read_ex(ssl_, data + total, size - total, &n);
    if (ret == 1) {
      total += n;
      continue;
    }
    const IoResult failed = failure(ret, read_wants_);
    // What was read goes first; the failure repeats on the next call.
    return total > 0 ? IoResult{total, {}} : failed;
  }
  return {total, {}};
}

std::error_code TlsTransport::finish_pending() noexcept {
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  const int ret = SSL_write_ex(ssl_, pending_.data(), pending_.size(), &n);
  if (ret != 1) return failure(ret, write_wants_).error;
  std::string().swap(pending_);  // give the batch's memory back
  return {};
}

IoResult TlsTransport::write_gathered(const SendQueue& queue, std::size_t front_offset) noexcept {
  if (!socket_.is_open()) return {0, asio::error::bad_descriptor};
  if (!pending_.empty()) {
    if (const auto ec = finish_pending()) return {0, ec};
  }
  std::array<iovec, IOV_MAX> spans;
  const std::size_t count = gather_spans(queue, front_offset, spans);
  auto& batch = gather_buffer();
  std::size_t size = 0;
  for (std::size_t i = 0; i < count && size < batch.size(); ++i) {
    const std::size_t take = std::min(spans[i].iov_len, batch.size() - size);
    std::memcpy(batch.data() + size, spans[i].iov_base, take);
    size += take;
  }
  if (size == 0) return {0, {}};
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  const int ret = SSL_write_ex(ssl_, batch.data(), size, &n);
  if (ret != 1) {
    const IoResult failed = failure(ret, write_wants_);
    if (!would_block(failed.error)) return failed;
    // OpenSSL has begun the batch and must finish it with the same bytes: from now on they are
    // ours, not the send queue's (which may drop or take back entries meanwhile).
    try {
      pending_.assign(batch.data(), size);
    } catch (const std::bad_alloc&) {
      return {0, std::make_error_code(std::errc::not_enough_memory)};
    }
  }
  return {size, {}};
}

asio::awaitable<std::error_code> TlsTransport::wait(Ready ready) {
  const Ready wants = ready == Ready::readable ? read_wants_ : write_wants_;
  const auto what =
      wants == Ready::readable ? asio::socket_base::wait_read : asio::socket_base::wait_write;
  auto [ec] = co_await socket_.async_wait(what, use_nothrow);
  co_return ec;
}

Transport::Peer TlsTransport::probe_peer() noexcept {
  if (!socket_.is_open()) return Peer::gone;
  return probe_socket(socket_.native_handle());
}

void TlsTransport::shutdown_send() noexcept {
  if (!socket_.is_open()) return;
  // Our close_notify, best effort (a full socket buffer drops it), then the TCP FIN.
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_send, ignored);
}

void TlsTransport::close() noexcept {
  std::error_code ignored;
  socket_.close(ignored);
}

}  // namespace paperboy::broker
