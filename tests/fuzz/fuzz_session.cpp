// libFuzzer target over a whole connection: the input is what a client sends.
//
// Each input gets a fresh Server (the daemon as a library) and its own io_context, and is fed
// to it through an in-process connection: an InputTransport, a third implementation of the
// Transport seam beside TCP and TLS, whose reads return the input and then end of stream and
// whose writes keep what the broker sends. The server admits it as it admits an accepted socket
// and runs the session exactly as paperboyd does. The one connection can subscribe, publish to
// itself, ack, park PUBs on a full queue and so on: routing, queues, the ledger and the outbox
// are all exercised, not only the decoder. No client socket is connected per input (the TCP
// harness this replaces ran 500 inputs a second; this one runs thousands).
//
// Checked for every input: the session closes by itself within a bound once its peer has
// finished or, blocked with input unread, has gone (a session that lingers is a leak of a
// connection), the server then shuts down and frees everything (LeakSanitizer), and what the
// broker sent is a stream of frames, each of which decodes when the session spoke PB1. Timeouts are
// short so that an input that parks PUBs or leaves a frame unfinished costs milliseconds, not the
// daemon's seconds.

#include <spdlog/spdlog.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/address_v4.hpp>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "gather_write.hpp"
#include "paperboy/broker/config.hpp"
#include "paperboy/broker/server.hpp"
#include "paperboy/protocol/channel.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"
#include "transport.hpp"

namespace {

namespace pb = paperboy::protocol;
using paperboy::broker::Config;
using paperboy::broker::IoResult;
using paperboy::broker::SendQueue;
using paperboy::broker::Server;
using paperboy::broker::Transport;
using namespace std::chrono_literals;

// Far longer than any input needs (the grace and the blocked-publisher probe are tens of ms),
// so that only a session that never closes trips it, even on a loaded machine under ASan.
constexpr auto close_bound = 20s;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "paperboy_fuzz_session: %s\n", what);
  std::abort();
}

Config fuzz_config() {
  Config config;
  config.port = 0;
  config.server_id = "fuzz";
  // Small bounds, so that short inputs reach them: a full queue, a full send queue, read-ahead.
  config.max_payload = 4096;
  config.client_queue_bytes = 16 * 1024;
  config.channel_backlog_messages = 8;
  config.channel_backlog_bytes = 8 * 1024;
  config.max_queues = 8;
  config.max_subscriptions = 16;
  config.max_read_ahead = 4096;
  config.max_unacked_bytes = 64 * 1024;
  config.default_prefetch = 4;
  config.max_redeliveries = 2;
  config.max_memory = 64 * 1024 * 1024;
  config.read_size = 512;
  config.frame_timeout = 20ms;
  config.handshake_timeout = 20ms;
  config.shutdown_grace = 5ms;
  return config;
}

/// What the harness sees of the connection after the server has taken the transport.
struct Connection {
  std::string output;
  bool closed = false;
};

/// A client that sends the input, then its FIN, and reads everything (never a full socket).
class InputTransport final : public Transport {
 public:
  InputTransport(asio::any_io_executor executor, std::string_view input, Connection& connection)
      : executor_(std::move(executor)), input_(input), connection_(connection) {}

  asio::any_io_executor executor() override { return executor_; }
  std::string peer_name() const override { return "127.0.0.1:1"; }

  IoResult read_some(char* data, std::size_t size) noexcept override {
    if (connection_.closed) return {0, asio::error::bad_descriptor};
    if (input_.empty()) return {0, asio::error::eof};
    const std::size_t n = std::min(size, input_.size());
    std::memcpy(data, input_.data(), n);
    input_.remove_prefix(n);
    return {n, {}};
  }

  IoResult write_gathered(const SendQueue& queue, std::size_t front_offset) noexcept override {
    if (connection_.closed || sent_fin_) return {0, asio::error::broken_pipe};
    std::array<iovec, IOV_MAX> spans;
    const std::size_t count = paperboy::broker::gather_spans(queue, front_offset, spans);
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      connection_.output.append(static_cast<const char*>(spans[i].iov_base), spans[i].iov_len);
      total += spans[i].iov_len;
    }
    return {total, {}};
  }

  // Always ready, as a socket whose peer has sent everything and reads as fast as it is written
  // to is: a read gives data or end of stream, a write takes everything.
  asio::awaitable<std::error_code> wait(Ready) override {
    if (connection_.closed) co_return asio::error::operation_aborted;
    co_return std::error_code{};
  }

  // The broker probes a peer it stopped reading (its PUBs wait for a full queue). While input is
  // unread, this client is there for a few sweeps, then it gives up and closes: a real socket
  // then answers the broker's PINGs with a reset. Without that, a publisher blocked on a queue
  // nobody drains would rightly be kept for as long as its peer stays, and the input would never
  // end.
  Peer probe_peer() noexcept override {
    if (input_.empty()) return Peer::finished;
    return ++probes_while_unread_ > patient_probes ? Peer::gone : Peer::sending;
  }
  void shutdown_send() noexcept override { sent_fin_ = true; }
  void close() noexcept override { connection_.closed = true; }

 private:
  asio::any_io_executor executor_;
  std::string_view input_;
  Connection& connection_;
  bool sent_fin_ = false;
  std::size_t probes_while_unread_ = 0;
  static constexpr std::size_t patient_probes = 3;
};

bool opens_pb1(std::string_view input, std::uint32_t max_body) {
  const auto first = pb::parse_frame(input, max_body);
  return first.status == pb::FrameStatus::frame && pb::opens_pb1(first.body);
}

void check_output(std::string_view output, bool pb1, std::uint32_t max_body) {
  // Frames after WELCOME are in the version it names.
  std::uint8_t version = pb::pb1_version;
  for (;;) {
    const auto frame = pb::parse_frame(output, max_body);
    if (frame.status == pb::FrameStatus::too_large) fail("the broker sent a frame over the limit");
    if (frame.status == pb::FrameStatus::need_more) return;
    if (pb1) {
      const auto decoded = pb::decode(frame.body, version);
      if (!decoded) fail("the broker sent a PB1 frame that does not decode");
      if (const auto* welcome = std::get_if<pb::Welcome>(&*decoded)) version = welcome->version;
    }
    output.remove_prefix(pb::frame_header_size + frame.body.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const Config config = fuzz_config();
  const std::uint32_t max_body = pb::max_frame_body(config.max_payload);
  Connection connection;
  bool stopped = false;
  {
    asio::io_context io;
    Server server(io, config);
    server.on_stopped([&] { stopped = true; });
    server.start();
    server.admit(std::make_unique<InputTransport>(io.get_executor(), input, connection),
                 asio::ip::make_address_v4("127.0.0.1"));
    const auto deadline = std::chrono::steady_clock::now() + close_bound;
    while (!connection.closed && std::chrono::steady_clock::now() < deadline) {
      io.run_one_for(close_bound);
    }
    if (!connection.closed) fail("the session did not close after its peer finished");
    server.shut_down();
    io.run_for(close_bound);
    if (!stopped) fail("the server did not stop");
  }
  check_output(connection.output, opens_pb1(input, max_body), max_body);
  return 0;
}
