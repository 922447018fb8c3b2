#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "deadline.hpp"

namespace paperboy::itest {

/// Socket options set before connecting.
struct SocketOptions {
  int receive_buffer = 0;  ///< SO_RCVBUF in bytes; 0 keeps the kernel's default
};

/// Outcome of one bounded receive.
enum class RecvStatus { data, timeout, closed, reset };

/// A TCP connection to 127.0.0.1 in non-blocking mode: every send and receive waits at most a
/// given time (poll), so a test can never hang on the daemon. Setup errors throw
/// std::system_error; I/O outcomes are returned.
class Socket {
 public:
  /// Connects to 127.0.0.1:port.
  explicit Socket(std::uint16_t port, SocketOptions options = {});
  ~Socket();
  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  /// Sends what the socket takes within `wait` (0 = only what fits now); the bytes sent.
  /// Sets `error` to errno when the peer is gone (EPIPE, ECONNRESET), leaving it 0 otherwise.
  std::size_t send_some(std::string_view bytes, Duration wait, int& error);

  /// Receives up to `size` bytes, waiting at most `wait` for some to arrive.
  RecvStatus recv_some(char* out, std::size_t size, Duration wait, std::size_t& received);

  /// Half-closes: the peer reads EOF, this side can still receive.
  void shutdown_write();
  /// Closes with SO_LINGER 0, so the peer gets a RST instead of a FIN.
  void abort();
  void close();
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace paperboy::itest
