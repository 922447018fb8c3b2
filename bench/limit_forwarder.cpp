// paperboy-limit: the smallest PB1 forwarder that can be fast, as the "limit" row of compare.sh.
//
// One thread, one epoll set, level-triggered. Per readable connection: one read of up to 256 KiB,
// every complete frame parsed in place, each PUB encoded once as a MSG into a per-batch arena, and
// every subscriber it goes to remembers only the arena range (adjacent ranges merge, so a topic
// subscriber's whole batch is usually one span). A queue message has one recipient, so it is
// encoded straight into that consumer's own batch buffer instead: round robin would leave a
// consumer every n-th arena range, one iovec per message, and the kernel's per-segment cost of
// a thousand 150-byte segments per writev is most of the work (a payload copy is far cheaper).
// After the read, each touched subscriber is
// flushed with one writev. The last channel a connection published to is cached, so a stream of
// PUBs to one channel skips the name lookup. Bytes a socket does not take are copied to that
// connection's pending buffer and written on EPOLLOUT.
//
// It speaks just enough PB1 for paperboy-bench (HELLO -> WELCOME, SUB -> OK, UNSUB, PUB, PING),
// with no limits, no backlog for queues without consumers, no GAP: it is a ceiling to measure
// paperboyd against, not a broker. The codec comes from paperboy::protocol.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "paperboy/protocol/channel.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"

namespace {

namespace pb = paperboy::protocol;

constexpr std::size_t read_size = 256 * 1024;
constexpr std::uint32_t max_payload = pb::default_max_payload;
constexpr std::uint32_t max_body = pb::max_frame_body(max_payload);
// A subscriber this far behind loses what comes next (the bench never lets it get there).
constexpr std::size_t max_pending = 64 * 1024 * 1024;

struct Connection;

struct Channel {
  std::string name;
  bool queue = false;
  std::vector<Connection*> subscribers;
  std::size_t next = 0;  // round-robin position (queue)
};

// A range of the batch arena, or of the connection's own batch buffer; offsets, not pointers,
// because both grow during a batch.
struct Span {
  std::size_t offset;
  std::size_t size;
  bool own = false;
};

struct Connection {
  int fd = -1;
  bool greeted = false;
  bool dead = false;
  bool touched = false;
  bool want_write = false;
  std::string leftover;     // the start of a frame the last read cut off
  std::vector<Span> batch;  // what this read batch sends here
  std::string own;          // queue messages of this batch, encoded for this connection alone
  std::string pending;      // what the socket did not take
  std::vector<Channel*> channels;
  Channel* last_published = nullptr;
};

class Forwarder {
 public:
  explicit Forwarder(int listen_fd) : listen_fd_(listen_fd), scratch_(read_size + max_body + 4) {
    epoll_fd_ = ::epoll_create1(0);
    watch(listen_fd_, EPOLLIN, EPOLL_CTL_ADD);
  }

  [[noreturn]] void run() {
    std::vector<epoll_event> events(256);
    for (;;) {
      const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
      for (int i = 0; i < n; ++i) {
        const epoll_event& e = events[static_cast<std::size_t>(i)];
        if (e.data.fd == listen_fd_) {
          accept_all();
          continue;
        }
        const auto it = connections_.find(e.data.fd);
        if (it == connections_.end()) continue;
        Connection& c = *it->second;
        if (c.dead) continue;
        if (e.events & EPOLLOUT) write_pending(c);
        if (!c.dead && (e.events & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_batch(c);
        flush_touched();
      }
      reap();
    }
  }

 private:
  void watch(int fd, std::uint32_t events, int op) {
    epoll_event e{};
    e.events = events;
    e.data.fd = fd;
    ::epoll_ctl(epoll_fd_, op, fd, &e);
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Connection>();
      c->fd = fd;
      connections_.emplace(fd, std::move(c));
      watch(fd, EPOLLIN, EPOLL_CTL_ADD);
    }
  }

  // One read, then every complete frame in it.
  void read_batch(Connection& c) {
    char* buffer = scratch_.data();
    const std::size_t carried = c.leftover.size();
    if (carried > 0) std::memcpy(buffer, c.leftover.data(), carried);
    const ssize_t n = ::read(c.fd, buffer + carried, read_size);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return kill(c);
    if (n < 0) return;
    std::string_view bytes(buffer, carried + static_cast<std::size_t>(n));
    for (;;) {
      const auto frame = pb::parse_frame(bytes, max_body);
      if (frame.status == pb::FrameStatus::need_more) break;
      if (frame.status == pb::FrameStatus::too_large) return kill(c);
      bytes.remove_prefix(pb::frame_header_size + frame.body.size());
      on_frame(c, frame.body);
      if (c.dead) return;
    }
    c.leftover.assign(bytes);
  }

  void on_frame(Connection& c, std::string_view body) {
    const auto message = pb::decode(body);
    if (!message) return kill(c);
    if (!c.greeted) {
      if (pb::op_of(*message) != pb::Op::hello) return kill(c);
      c.greeted = true;
      return reply(c, pb::Welcome{pb::pb1_version, max_payload, "paperboy-limit"});
    }
    switch (pb::op_of(*message)) {
      case pb::Op::pub: return on_pub(c, std::get<pb::Pub>(*message));
      case pb::Op::sub: return on_sub(c, std::get<pb::Sub>(*message));
      case pb::Op::unsub: return on_unsub(c, std::get<pb::Unsub>(*message));
      case pb::Op::ping: return reply(c, pb::Pong{std::get<pb::Ping>(*message).token});
      default: return;
    }
  }

  void on_pub(Connection& c, const pb::Pub& pub) {
    Channel* channel = c.last_published;
    if (!channel || channel->name != pub.channel) {
      const auto it = channels_.find(std::string(pub.channel));
      channel = it == channels_.end() ? nullptr : it->second.get();
      c.last_published = channel;
    }
    if (pub.req != 0) reply(c, pb::Ok{pub.req});
    if (!channel || channel->subscribers.empty()) return;
    if (channel->queue) {
      const std::size_t n = channel->subscribers.size();
      Connection& consumer = *channel->subscribers[channel->next++ % n];
      send(consumer, encode_own(consumer, pb::Msg{0, 0, pub.channel, pub.reply_to, pub.payload}));
      return;
    }
    // Encoded once; every recipient gets the same arena range.
    const Span span = encode(pb::Msg{0, 0, pub.channel, pub.reply_to, pub.payload});
    for (Connection* s : channel->subscribers) send(*s, span);
  }

  void on_sub(Connection& c, const pb::Sub& sub) {
    auto& slot = channels_[std::string(sub.channel)];
    if (!slot) {
      slot = std::make_unique<Channel>();
      slot->name = std::string(sub.channel);
      slot->queue = pb::channel_kind(sub.channel) == pb::ChannelKind::queue;
    }
    if (std::find(c.channels.begin(), c.channels.end(), slot.get()) == c.channels.end()) {
      slot->subscribers.push_back(&c);
      c.channels.push_back(slot.get());
    }
    if (sub.req != 0) reply(c, pb::Ok{sub.req});
  }

  void on_unsub(Connection& c, const pb::Unsub& unsub) {
    const auto it = channels_.find(std::string(unsub.channel));
    if (it != channels_.end()) leave(c, *it->second);
    if (unsub.req != 0) reply(c, pb::Ok{unsub.req});
  }

  void leave(Connection& c, Channel& channel) {
    std::erase(channel.subscribers, &c);
    std::erase(c.channels, &channel);
    if (c.last_published == &channel) c.last_published = nullptr;
  }

  Span encode(const pb::Message& m) {
    const std::size_t offset = arena_.size();
    const std::size_t size = pb::frame_header_size + pb::encoded_body_size(m);
    arena_.resize(offset + size);
    pb::write_frame(m, arena_.data() + offset);
    return {offset, size};
  }

  static Span encode_own(Connection& c, const pb::Message& m) {
    const std::size_t offset = c.own.size();
    const std::size_t size = pb::frame_header_size + pb::encoded_body_size(m);
    c.own.resize(offset + size);
    pb::write_frame(m, c.own.data() + offset);
    return {offset, size, true};
  }

  void reply(Connection& c, const pb::Message& m) { send(c, encode(m)); }

  void send(Connection& c, Span span) {
    if (!c.touched) {
      c.touched = true;
      touched_.push_back(&c);
    }
    if (!c.batch.empty() && c.batch.back().own == span.own &&
        c.batch.back().offset + c.batch.back().size == span.offset) {
      c.batch.back().size += span.size;
    } else {
      c.batch.push_back(span);
    }
  }

  // Each subscriber touched by this batch: one writev (more only past IOV_MAX spans).
  void flush_touched() {
    for (Connection* c : touched_) {
      c->touched = false;
      if (!c->dead) flush(*c);
      c->batch.clear();
      c->own.clear();
    }
    touched_.clear();
    arena_.clear();
  }

  void flush(Connection& c) {
    std::size_t i = 0;
    if (c.pending.empty()) {
      std::vector<iovec>& iov = iov_;
      while (i < c.batch.size()) {
        iov.clear();
        for (std::size_t j = i; j < c.batch.size() && iov.size() < IOV_MAX; ++j) {
          iov.push_back({bytes_of(c, c.batch[j]), c.batch[j].size});
        }
        const ssize_t n = ::writev(c.fd, iov.data(), static_cast<int>(iov.size()));
        if (n < 0 && errno != EAGAIN && errno != EINTR) return kill(c);
        std::size_t written = n > 0 ? static_cast<std::size_t>(n) : 0;
        const std::size_t end = i + iov.size();
        while (i < end && written >= c.batch[i].size) written -= c.batch[i++].size;
        if (i < end) {
          // The socket is full: keep the rest of this span, and everything after it.
          c.batch[i].offset += written;
          c.batch[i].size -= written;
          break;
        }
      }
    }
    for (; i < c.batch.size(); ++i) {
      if (c.pending.size() + c.batch[i].size > max_pending) break;
      c.pending.append(bytes_of(c, c.batch[i]), c.batch[i].size);
    }
    if (!c.pending.empty()) write_pending(c);
  }

  char* bytes_of(Connection& c, const Span& span) {
    return (span.own ? c.own.data() : arena_.data()) + span.offset;
  }

  void write_pending(Connection& c) {
    while (!c.pending.empty()) {
      const ssize_t n = ::write(c.fd, c.pending.data(), c.pending.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN) return kill(c);
      if (n <= 0) break;
      c.pending.erase(0, static_cast<std::size_t>(n));
    }
    const bool want = !c.pending.empty();
    if (want != c.want_write) {
      c.want_write = want;
      watch(c.fd, want ? EPOLLIN | EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD);
    }
  }

  // Closing waits for the end of the event loop pass: other connections' batches may still
  // name this one.
  void kill(Connection& c) {
    if (c.dead) return;
    c.dead = true;
    while (!c.channels.empty()) leave(c, *c.channels.back());
    dead_.push_back(c.fd);
  }

  void reap() {
    for (const int fd : dead_) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      ::close(fd);
      connections_.erase(fd);
    }
    dead_.clear();
  }

  int epoll_fd_ = -1;
  int listen_fd_;
  std::vector<char> scratch_;
  std::string arena_;
  std::vector<iovec> iov_;
  std::vector<Connection*> touched_;
  std::vector<int> dead_;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::string, std::unique_ptr<Channel>> channels_;
};

int listen_on(const char* address, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address, &addr.sin_addr) != 1) return -1;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return -1;
  if (::listen(fd, SOMAXCONN) != 0) return -1;
  return fd;
}

std::uint16_t bound_port(int fd) {
  sockaddr_in addr{};
  socklen_t size = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  return ntohs(addr.sin_port);
}

}  // namespace

int main(int argc, char** argv) {
  const char* address = "127.0.0.1";
  long port = 25100;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--bind" && i + 1 < argc) {
      address = argv[++i];
    } else if (arg == "--port" && i + 1 < argc) {
      port = std::strtol(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr,
                   "usage: paperboy-limit [--bind ADDRESS] [--port PORT]\n"
                   "  the minimal PB1 forwarder that marks the limit in bench/compare.sh\n");
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "limit.failed reason=\"bad port\"\n");
    return 1;
  }
  const int fd = listen_on(address, static_cast<std::uint16_t>(port));
  if (fd < 0) {
    std::fprintf(stderr, "limit.failed reason=\"%s\"\n", std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "limit.listening address=%s port=%u\n", address,
               static_cast<unsigned>(bound_port(fd)));
  Forwarder(fd).run();
}
