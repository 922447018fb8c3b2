#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"

namespace paperboy::client {

/// One TCP connection carrying frames, with blocking reads and writes bounded by deadlines: the
/// socket is non-blocking and every wait is a poll(2) on it, so a Client needs no thread.
/// Outgoing frames are encoded into one buffer and written in large chunks; incoming bytes go
/// into a protocol::FrameBuffer and come out as frame bodies. Throws Error when the connection
/// breaks, but leaves the socket open: frames that arrived before the break (often an ERR that
/// explains it) can still be read. The owner closes it.
class Connection {
 public:
  using Clock = std::chrono::steady_clock;

  Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Opens a TCP connection to host:port (the first address that answers by the deadline).
  void connect(std::string_view host, std::uint16_t port, Clock::time_point deadline);

  /// Switches to the frame limit the server announced in WELCOME. Until then frames are read
  /// exactly (never a byte past the frame), so nothing is buffered under the old limit.
  void set_max_payload(std::uint32_t max_payload);

  /// From now on frames are encoded and decoded in this PB1 version (from WELCOME).
  void set_version(std::uint8_t version) noexcept { version_ = version; }
  std::uint8_t version() const noexcept { return version_; }

  /// Encodes a frame, in the connection's version, at the end of the outgoing buffer.
  void append(const protocol::Message& message) { protocol::append_frame(out_, message, version_); }

  /// Bytes appended but not yet written to the socket.
  std::size_t unsent() const noexcept { return out_.size() - out_sent_; }

  /// Writes the outgoing buffer. Returns nothing once all of it is written; returns a frame
  /// body that arrived while the socket was not writable (the broker holds us back, maybe
  /// saying so with BLOCKED): the caller handles it and calls flush() again. Throws Error when
  /// the deadline passes first, or when a write failed (now or during an earlier read_frame).
  /// The body is a view into the read buffer, valid until the next call on this connection.
  std::optional<std::string_view> flush(Clock::time_point deadline);

  /// The next frame body, waiting for it until the deadline, or nothing when the deadline passed
  /// or a signal interrupted the wait. Writes outgoing bytes while it waits (a failed write is
  /// remembered for flush(); reading goes on, to find out why). The body is a view into the read
  /// buffer, valid until the next call on this connection.
  std::optional<std::string_view> read_frame(Clock::time_point deadline);

  bool is_open() const noexcept { return socket_.is_open(); }
  void close() noexcept;

 private:
  std::optional<std::string_view> buffered_frame();
  bool write_some();
  bool read_some();
  short wait(short events, Clock::time_point deadline);
  [[noreturn]] void fail(std::error_code ec, std::string_view what);

  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  protocol::FrameBuffer in_;
  std::uint32_t pending_frame_size_ = 0;  // declared length of a partly read frame, 0 if unknown
  bool exact_reads_ = true;
  std::uint8_t version_ = protocol::pb1_version;
  std::string out_;
  std::size_t out_sent_ = 0;
  std::error_code write_error_;
};

}  // namespace paperboy::client
