#include "conn_set.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>

namespace paperboy::itest {
namespace {

// Waits until one of the sockets has bytes (or EOF) to read, or the deadline passes.
void wait_readable(const std::vector<Conn*>& conns, const Deadline& deadline) {
  std::vector<pollfd> fds;
  fds.reserve(conns.size());
  for (Conn* c : conns) fds.push_back(pollfd{c->socket().fd(), POLLIN, 0});
  for (;;) {
    const int r = ::poll(fds.data(), fds.size(), deadline.poll_ms());
    if (r >= 0) return;
    if (errno != EINTR) FAIL("poll: " << std::strerror(errno));
  }
}

}  // namespace

void pump_until(const std::vector<Conn*>& conns, const FrameHandler& on_frame,
                const std::function<bool()>& done, Duration timeout,
                const std::function<std::string()>& progress) {
  const Deadline deadline(timeout);
  std::size_t first = 0;
  for (;;) {
    // Take every frame already buffered or readable now, so poll() below only waits for new
    // bytes: a frame a FrameStream has buffered would not wake it. Each pass starts with a
    // different connection, so none is always served first.
    ++first;
    for (std::size_t j = 0; j < conns.size(); ++j) {
      const std::size_t i = (first + j) % conns.size();
      while (auto frame = conns[i]->poll_message(Duration::zero())) on_frame(i, std::move(*frame));
    }
    if (done()) return;
    if (deadline.expired()) {
      FAIL("not done within " << timeout.count() << " ms: " << progress());
    }
    wait_readable(conns, deadline);
  }
}

}  // namespace paperboy::itest
