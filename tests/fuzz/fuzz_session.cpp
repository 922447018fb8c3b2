// libFuzzer target over a whole connection: the input is what a client sends.
//
// Each input gets a fresh Server (the daemon as a library) on 127.0.0.1:0 and its own
// io_context. A client socket in the same process connects to it over loopback TCP, sends the
// input and then its FIN, while it reads everything the broker answers; the server accepts and
// runs the session exactly as paperboyd does. The one connection can subscribe, publish to
// itself, ack, park PUBs on a full queue and so on: routing, queues, the ledger and the outbox
// are all exercised, not only the decoder.
//
// Checked for every input: the session closes by itself within a bound once its peer has
// finished (a session that lingers is a leak of a connection), the server then shuts down and
// frees everything (LeakSanitizer), and what the broker sent is a stream of frames, each of which
// decodes when the session spoke PB1. Timeouts are short so that an input that parks PUBs or
// leaves a frame unfinished costs milliseconds, not the daemon's seconds.

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "paperboy/broker/config.hpp"
#include "paperboy/broker/server.hpp"
#include "paperboy/protocol/channel.hpp"
#include "paperboy/protocol/frame.hpp"
#include "paperboy/protocol/messages.hpp"

namespace {

namespace pb = paperboy::protocol;
using paperboy::broker::Config;
using paperboy::broker::Server;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

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
  config.frame_timeout = 100ms;
  config.handshake_timeout = 100ms;
  config.shutdown_grace = 50ms;
  return config;
}

asio::awaitable<void> send_all(tcp::socket* client, std::string_view input) {
  co_await asio::async_write(*client, asio::buffer(input.data(), input.size()), use_nothrow);
  std::error_code ignored;
  client->shutdown(tcp::socket::shutdown_send, ignored);
}

// Reads until the broker closes, then closes the client without TIME_WAIT (a fuzzing run opens
// hundreds of thousands of connections) and shuts the server down.
asio::awaitable<void> receive_all(tcp::socket* client, std::string* output, Server* server) {
  char chunk[16 * 1024];
  for (;;) {
    auto [ec, n] = co_await client->async_read_some(asio::buffer(chunk), use_nothrow);
    output->append(chunk, n);
    if (ec) break;
  }
  std::error_code ignored;
  client->set_option(asio::socket_base::linger(true, 0), ignored);
  client->close(ignored);
  server->shut_down();
}

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
  std::string output;
  bool stopped = false;
  {
    asio::io_context io;
    Server server(io, config);
    server.on_stopped([&] { stopped = true; });
    server.start();
    tcp::socket client(io);
    client.connect({asio::ip::make_address_v4("127.0.0.1"), server.port()});
    asio::co_spawn(io, send_all(&client, input), asio::detached);
    asio::co_spawn(io, receive_all(&client, &output, &server), asio::detached);
    io.run_for(close_bound);
    if (!stopped) fail("the session did not close after its peer finished");
  }
  check_output(output, opens_pb1(input, max_body), max_body);
  return 0;
}
