#pragma once
// A queue consumer as a connection has it (its outbox, its ack ledger), with the far end of its
// socket in the test's hands: what the consumer was given is what arrives there, decoded.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ack_ledger.hpp"
#include "outbox.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "paperboy/protocol/msg_layout.hpp"
#include "publication.hpp"
#include "queue_channel.hpp"
#include "queue_consumer.hpp"
#include "router.hpp"
#include "tcp_transport.hpp"
#include "traffic.hpp"

namespace paperboy::broker::test {

/// A published message's shared frame, as the router hands it to a channel.
inline SharedBuffer queue_message(std::string_view payload, std::string_view channel = "/queue/q") {
  return Publication(channel, {}, payload, 0).v2_frame();
}

/// The payload of a message's shared frame.
inline std::string payload_of(const SharedBuffer& message) {
  const std::string_view frame = message.view();
  const auto layout = protocol::written_msg_v2_layout(frame);
  return std::string(layout.payload_in(frame.substr(protocol::frame_header_size)));
}

/// One MSG frame as the consumer's peer read it.
struct Received {
  std::string payload;
  std::uint64_t delivery = 0;
  bool redelivered = false;
};

class QueuePeer {
 public:
  QueuePeer(asio::io_context& io, const Config& config, bool manual_ack, std::uint32_t prefetch)
      : outbox(io.get_executor(), config, traffic),
        consumer(outbox, ledger, manual_ack, prefetch, config.max_unacked_bytes) {
    // A socketpair, not loopback TCP: what one write sent is readable at once, whole. The
    // transport does not care which stream socket it writes to.
    int fds[2] = {-1, -1};
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    asio::ip::tcp::socket near_end(io);
    near_end.assign(asio::ip::tcp::v4(), fds[0]);
    transport_ = std::make_unique<TcpTransport>(std::move(near_end));
    peer_fd_ = fds[1];
    ::fcntl(peer_fd_, F_SETFL, ::fcntl(peer_fd_, F_GETFL) | O_NONBLOCK);
  }
  ~QueuePeer() { ::close(peer_fd_); }
  QueuePeer(const QueuePeer&) = delete;
  QueuePeer& operator=(const QueuePeer&) = delete;

  /// Writes what the consumer's outbox holds to the socket and returns every MSG the peer has
  /// read since the last call, in order.
  std::vector<Received> receive() {
    const auto ec = outbox.flush_to(*transport_);
    REQUIRE_MESSAGE((!ec || ec == std::errc::resource_unavailable_try_again), ec.message());
    char chunk[64 * 1024];
    for (;;) {
      const ssize_t n = ::read(peer_fd_, chunk, sizeof chunk);
      if (n <= 0) break;
      pending_.append(chunk, static_cast<std::size_t>(n));
    }
    std::vector<Received> got;
    std::string_view rest = pending_;
    for (;;) {
      const auto frame = protocol::parse_frame(rest, protocol::max_frame_body(1 << 20));
      if (frame.status != protocol::FrameStatus::frame) break;
      rest.remove_prefix(protocol::frame_header_size + frame.body.size());
      const auto decoded = protocol::decode(frame.body);
      REQUIRE(decoded);
      const auto* msg = std::get_if<protocol::Msg>(&*decoded);
      REQUIRE_MESSAGE(msg, "a queue consumer was sent something other than MSG");
      got.push_back({std::string(msg->payload), msg->delivery, msg->redelivered()});
    }
    pending_.erase(0, pending_.size() - rest.size());
    return got;
  }

  /// receive() until `count` messages came (a large one takes several writes and reads).
  std::vector<Received> receive_at_least(std::size_t count) {
    std::vector<Received> got;
    for (int round = 0; round < 10000 && got.size() < count; ++round) {
      for (auto& r : receive()) got.push_back(std::move(r));
    }
    return got;
  }

  /// Writes what the consumer's outbox holds, as far as the socket takes it; the peer reads
  /// nothing, so a large delivery is left half written.
  void write_without_reading() {
    const auto ec = outbox.flush_to(*transport_);
    REQUIRE_MESSAGE((!ec || ec == std::errc::resource_unavailable_try_again), ec.message());
  }

  /// What an ACK does at the session: settles the delivery and lets the channel hand out more.
  void ack(std::uint64_t delivery) {
    REQUIRE(ledger.take(delivery));
    consumer.settled();
    consumer.channel().pump();
  }

  Traffic traffic;
  Outbox outbox;
  AckLedger ledger;
  QueueConsumer consumer;

 private:
  std::unique_ptr<TcpTransport> transport_;
  int peer_fd_ = -1;
  std::string pending_;
};

/// The queue channel "/queue/q" and the router it dead-letters through.
struct ChannelFixture {
  explicit ChannelFixture(Config c = {}) : config(std::move(c)) {}
  /// Publishes a message that must be taken (by a consumer or the backlog).
  void publish(std::string_view payload) { REQUIRE(offer(payload)); }
  /// Publishes a message: false when the channel refuses it (its backlog is full).
  bool offer(std::string_view payload) {
    Publication message("/queue/q", {}, payload, 0);
    return channel.publish(message);
  }

  /// Runs what the channel posted: bulk hand-outs go a slice per loop turn.
  void run_posted() {
    io.restart();
    io.poll();
  }

  asio::io_context io;
  Config config;
  Router router{config, io.get_executor()};
  QueueChannel channel{"/queue/q", config, router};
};

/// The payloads of `received`, in order.
inline std::vector<std::string> payloads(const std::vector<Received>& received) {
  std::vector<std::string> out;
  for (const auto& r : received) out.push_back(r.payload);
  return out;
}

}  // namespace paperboy::broker::test
