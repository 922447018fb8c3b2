#include "connection.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/error.hpp>
#include <asio/ip/address.hpp>
#include <cerrno>
#include <climits>
#include <limits>
#include <string>
#include <vector>

#include "errors.hpp"
#include "paperboy/protocol/errc.hpp"

namespace paperboy::client {
namespace {

// WELCOME is small; frames after it are read in large chunks, many per read.
constexpr std::size_t handshake_read_size = 256;
constexpr std::size_t read_size = 64 * 1024;

// Milliseconds left until the deadline, rounded up, as poll(2) wants them.
int poll_timeout(Connection::Clock::time_point deadline) {
  const auto now = Connection::Clock::now();
  if (deadline <= now) return 0;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
  return static_cast<int>(std::min<std::chrono::milliseconds::rep>(left, INT_MAX));
}

std::error_code errno_code() {
  return {errno, std::system_category()};
}

// Nothing to do right now on a non-blocking socket.
bool no_progress(const asio::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again ||
         ec == asio::error::interrupted;
}

}  // namespace

Connection::Connection()
    : socket_(io_),
      in_(handshake_read_size, protocol::max_frame_body(protocol::default_max_payload)) {}

void Connection::connect(std::string_view host, std::uint16_t port, Clock::time_point deadline) {
  const std::string peer = std::string(host) + ":" + std::to_string(port);
  std::vector<asio::ip::tcp::endpoint> endpoints;
  asio::error_code ec;
  const auto address = asio::ip::make_address(std::string(host), ec);
  if (!ec) {
    endpoints.emplace_back(address, port);
  } else {
    asio::ip::tcp::resolver resolver(io_);
    const auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) throw connection_error(ec, "cannot resolve " + std::string(host) + ": " + ec.message());
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }

  // asio's synchronous connect ignores non-blocking mode and would wait without a deadline, so
  // connect the native socket and poll for writability.
  std::error_code last = make_error_code(std::errc::host_unreachable);
  for (const auto& endpoint : endpoints) {
    close();
    socket_.open(endpoint.protocol(), ec);
    if (!ec) socket_.non_blocking(true, ec);
    if (ec) {
      last = ec;
      continue;
    }
    const auto fd = socket_.native_handle();
    // A program that runs other programs (`paperboy reply --exec`) must not hand them the
    // connection: one that outlived us would keep it open, and the broker would not give our
    // unacked deliveries back.
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) {
      if (errno != EINPROGRESS) {
        last = errno_code();
        continue;
      }
      short ready = 0;
      while (ready == 0 && Clock::now() < deadline) ready = wait(POLLOUT, deadline);
      if (ready == 0) {
        close();
        throw timeout_error("connecting to " + peer);
      }
      int so_error = 0;
      socklen_t length = sizeof so_error;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length) != 0) so_error = errno;
      if (so_error != 0) {
        last = std::error_code(so_error, std::system_category());
        continue;
      }
    }
    // We batch frames ourselves; Nagle would only delay the last partial batch.
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    return;
  }
  close();
  throw connection_error(last, "cannot connect to " + peer + ": " + last.message());
}

void Connection::set_max_payload(std::uint32_t max_payload) {
  // Exact reads during the handshake left nothing buffered, so the buffer can be replaced.
  const auto limit = std::min(
      max_payload, std::numeric_limits<std::uint32_t>::max() - protocol::frame_header_allowance);
  in_ = protocol::FrameBuffer(read_size, protocol::max_frame_body(limit));
  pending_frame_size_ = 0;
  exact_reads_ = false;
}

std::optional<std::string_view> Connection::flush(Clock::time_point deadline) {
  if (!is_open()) throw not_connected_error();
  while (unsent() > 0 || write_error_) {
    if (write_error_) fail(write_error_, "cannot write to the server");
    if (write_some() || write_error_) continue;
    // The socket's send buffer is full: the broker stopped reading us, e.g. for a full /queue
    // backlog. Keep reading what it sends meanwhile, and hand each frame over: when this
    // connection also consumes that queue, our reading is what makes room (without it each
    // side would wait for the other until the deadline), and a BLOCKED says why we wait.
    if (!exact_reads_) {
      if (auto frame = buffered_frame()) return frame;
    }
    if (Clock::now() >= deadline) {
      throw timeout_error(
          "writing to the server: it stopped reading (back-pressure, e.g. a full /queue "
          "backlog) with " +
          std::to_string(unsent()) + " bytes unsent");
    }
    const short ready = wait(exact_reads_ ? POLLOUT : POLLOUT | POLLIN, deadline);
    if ((ready & POLLOUT) == 0 && (ready & POLLIN) != 0 && !exact_reads_) read_some();
  }
  return std::nullopt;
}

std::optional<std::string_view> Connection::read_frame(Clock::time_point deadline) {
  if (!is_open()) throw not_connected_error();
  for (;;) {
    if (auto frame = buffered_frame()) return frame;
    // Try the socket before sleeping on it: a busy subscriber usually finds bytes waiting.
    if (unsent() > 0) write_some();
    if (read_some()) continue;
    if (Clock::now() >= deadline) return std::nullopt;  // a zero timeout needs no poll()
    const short ready = wait(unsent() > 0 ? POLLIN | POLLOUT : POLLIN, deadline);
    if (ready == 0) return std::nullopt;
  }
}

std::optional<std::string_view> Connection::buffered_frame() {
  const auto parsed = in_.next();
  if (parsed.status == protocol::FrameStatus::frame) {
    pending_frame_size_ = 0;
    return parsed.body;
  }
  if (parsed.status == protocol::FrameStatus::too_large) {
    fail(protocol::make_error_code(protocol::Errc::frame_too_large),
         "the server sent a frame of " + std::to_string(parsed.declared_length) +
             " bytes, over the limit");
  }
  pending_frame_size_ = parsed.declared_length;
  return std::nullopt;
}

void Connection::close() noexcept {
  asio::error_code ignored;
  socket_.close(ignored);
}

bool Connection::write_some() {
  asio::error_code ec;
  const auto n = socket_.write_some(asio::buffer(out_.data() + out_sent_, unsent()), ec);
  if (no_progress(ec)) return false;
  if (ec) {
    // The server is gone or going; what it sent before (maybe an ERR) is still to be read.
    write_error_ = ec;
    out_.clear();
    out_sent_ = 0;
    return false;
  }
  out_sent_ += n;
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
  return n > 0;
}

bool Connection::read_some() {
  char* at = in_.writable_data();
  std::size_t room = in_.writable_size();
  if (exact_reads_) {
    // Read no byte past the frame in progress (its length is known once its prefix is in).
    const auto have = in_.buffered();
    const auto header = protocol::frame_header_size;
    room = std::min(room, have < header ? header - have : header + pending_frame_size_ - have);
  }
  asio::error_code ec;
  const auto n = socket_.read_some(asio::buffer(at, room), ec);
  if (no_progress(ec)) return false;
  if (ec == asio::error::eof) {
    fail(make_error_code(std::errc::connection_reset),
         in_.partial() ? "the server closed the connection mid-frame"
                       : "the server closed the connection");
  }
  if (ec) fail(ec, "cannot read from the server");
  in_.commit(n);
  return true;
}

short Connection::wait(short events, Clock::time_point deadline) {
  pollfd fd{socket_.native_handle(), events, 0};
  const int n = ::poll(&fd, 1, poll_timeout(deadline));
  if (n < 0) {
    if (errno == EINTR) return 0;
    fail(errno_code(), "poll failed");
  }
  return n == 0 ? short{0} : fd.revents;
}

void Connection::fail(std::error_code ec, std::string_view what) {
  std::string message(what);
  if (ec.category() == std::system_category()) message += ": " + ec.message();
  throw connection_error(ec, message);
}

}  // namespace paperboy::client
