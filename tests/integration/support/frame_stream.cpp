#include "frame_stream.hpp"

#include <doctest/doctest.h>

#include <cstring>

#include "paperboy/protocol/messages.hpp"

namespace paperboy::itest {

FrameStream::FrameStream(std::uint16_t port, std::string name, Describer describer,
                         SocketOptions options, Unsolicited unsolicited)
    : socket_(port, options),
      name_(std::move(name)),
      describe_(describer),
      unsolicited_(unsolicited),
      buffer_(64 * 1024, client_max_body) {}

void FrameStream::send_raw(std::string_view bytes, Duration timeout) {
  int error = 0;
  const std::size_t sent = socket_.send_some(bytes, timeout, error);
  if (sent == bytes.size()) return;
  if (error != 0) {
    FAIL(name_ << ": send failed after " << sent << " of " << bytes.size()
               << " bytes: " << std::strerror(error));
  }
  FAIL(name_ << ": the daemon took only " << sent << " of " << bytes.size() << " bytes in "
             << timeout.count() << " ms");
}

void FrameStream::send_frame(std::string_view body, Duration timeout) {
  std::string frame;
  protocol::append_raw_frame(frame, body);
  send_raw(frame, timeout);
}

std::optional<std::string> FrameStream::next_frame(Duration timeout) {
  const Deadline deadline(timeout);
  for (;;) {
    const protocol::FrameParse parsed = buffer_.next();
    if (parsed.status == protocol::FrameStatus::frame) {
      if (unsolicited_ == nullptr || !unsolicited_(parsed.body)) return std::string(parsed.body);
      ++unsolicited_seen_;
      continue;
    }
    if (parsed.status == protocol::FrameStatus::too_large) {
      FAIL(name_ << ": the daemon sent a frame length of " << parsed.declared_length
                 << " bytes, more than any test expects");
    }
    if (closed_) return std::nullopt;
    std::size_t n = 0;
    char* into = buffer_.writable_data();
    switch (socket_.recv_some(into, buffer_.writable_size(), deadline.remaining(), n)) {
      case RecvStatus::data: buffer_.commit(n); break;
      case RecvStatus::timeout: return std::nullopt;
      case RecvStatus::reset: reset_ = true; [[fallthrough]];
      case RecvStatus::closed: closed_ = true; break;
    }
  }
}

std::string FrameStream::partial_frame() {
  // writable_data() keeps the unparsed bytes contiguous and returns the position right after them.
  const char* end = buffer_.writable_data();
  return std::string(end - buffer_.buffered(), buffer_.buffered());
}

std::string FrameStream::expect_frame(std::string_view what, Duration timeout) {
  if (auto body = next_frame(timeout)) return std::move(*body);
  if (closed_) {
    FAIL(name_ << ": waiting for " << what << ", the daemon "
               << std::string(reset_ ? "reset" : "closed") << " the connection"
               << (buffer_.buffered() > 0
                       ? " (" + std::to_string(buffer_.buffered()) + " bytes of a frame left)"
                       : std::string()));
  }
  FAIL(name_ << ": waited " << timeout.count() << " ms for " << what << ", nothing arrived");
  return {};
}

void FrameStream::expect_nothing(Duration quiet) {
  if (auto body = next_frame(quiet)) {
    FAIL(name_ << ": expected silence for " << quiet.count() << " ms, got " << describe_(*body));
  }
  if (closed_) FAIL(name_ << ": expected silence, the daemon closed the connection");
}

void FrameStream::expect_closed(Duration timeout) {
  if (auto body = next_frame(timeout)) {
    FAIL(name_ << ": expected the daemon to close the connection, got " << describe_(*body));
  }
  if (!closed_)
    FAIL(name_ << ": the daemon did not close the connection within " << timeout.count() << " ms");
  if (buffer_.buffered() > 0) {
    FAIL(name_ << ": the connection closed " << buffer_.buffered()
               << " bytes into an incomplete frame");
  }
}

std::vector<std::string> FrameStream::read_until_closed(Duration timeout) {
  const Deadline deadline(timeout);
  std::vector<std::string> frames;
  while (auto body = next_frame(deadline.remaining())) frames.push_back(std::move(*body));
  if (!closed_) {
    FAIL(name_ << ": the daemon did not close the connection within " << timeout.count() << " ms ("
               << frames.size() << " frames arrived)");
  }
  return frames;
}

}  // namespace paperboy::itest
