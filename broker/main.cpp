// paperboyd: parses flags into a Config, runs the Server on one thread, stops on SIGINT/SIGTERM.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <functional>
#include <map>

#include "paperboy/broker/config.hpp"
#include "paperboy/broker/server.hpp"

namespace {

using paperboy::broker::Config;
using paperboy::broker::SlowConsumerPolicy;

void add_flags(CLI::App& app, Config& config, std::string& log_level, double& frame_timeout,
               double& shutdown_grace) {
  app.add_option("--bind", config.bind_address, "Address to listen on")->capture_default_str();
  app.add_option("--port", config.port, "TCP port; 0 picks a free one (logged at start-up)")
      ->capture_default_str();
  app.add_option("--max-payload", config.max_payload, "Largest message payload in bytes")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u * 1024 * 1024));
  app.add_option("--client-queue-bytes", config.client_queue_bytes,
                 "Bytes queued for one client before it counts as slow")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--channel-backlog", config.channel_backlog_messages,
                 "Messages a /queue channel holds for its consumers before publishers block")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--channel-backlog-bytes", config.channel_backlog_bytes,
                 "Bytes a /queue channel holds before publishers block")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  const std::map<std::string, SlowConsumerPolicy> policies{
      {"drop", SlowConsumerPolicy::drop}, {"disconnect", SlowConsumerPolicy::disconnect}};
  app.add_option("--slow-consumer", config.slow_consumer,
                 "What a topic subscriber with a full send queue gets: drop (lose messages, told "
                 "by GAP) or disconnect (ERR 8)")
      ->transform(CLI::CheckedTransformer(policies, CLI::ignore_case))
      ->default_str("drop");
  app.add_option("--max-connections", config.max_connections, "Most clients connected at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-queues", config.max_queues,
                 "Queue channels that may exist at once; a PUB or SUB creating one more gets ERR 4")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-subscriptions", config.max_subscriptions,
                 "Channels one client may subscribe to at once (more: ERR 4)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--default-prefetch", config.default_prefetch,
                 "Unacked messages a manual-ack subscription may hold when it asks for 0")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  app.add_option(
         "--max-prefetch", config.max_prefetch,
         "Most unacked messages one manual-ack subscription may hold (larger asks are clamped)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  app.add_option("--max-redeliveries", config.max_redeliveries,
                 "Failed redeliveries after which a queue message goes to its dead-letter channel")
      ->capture_default_str();
  app.add_option("--dead-letter-suffix", config.dead_letter_suffix,
                 "Suffix naming a queue's dead-letter channel; empty turns dead-lettering off")
      ->capture_default_str();
  // Memory bounds (issue 7): what one consumer may hold unacked, and what the whole broker may.
  app.add_option("--max-unacked-bytes", config.max_unacked_bytes,
                 "Bytes of manual-ack deliveries one client may hold unacked before it gets no "
                 "more (1 KiB to 1 TiB)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1} << 10, std::size_t{1} << 40));
  config.max_memory = paperboy::broker::default_max_memory();
  app.add_option("--max-memory", config.max_memory,
                 "Bytes the broker may hold for clients before publishers are paused (1 MiB to 1 "
                 "PiB; default: half of RAM)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1} << 20, std::size_t{1} << 50));
  app.add_option("--max-read-ahead", config.max_read_ahead,
                 "Bytes of PUBs read past one blocked on a full queue before reading stops")
      ->capture_default_str();
  app.add_option("--frame-timeout", frame_timeout,
                 "Seconds a client may take to finish a frame it started (or to send its first)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--shutdown-grace", shutdown_grace,
                 "Seconds a closing connection, or the daemon on SIGTERM, may take to flush")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--server-id", config.server_id, "Name sent in WELCOME (default: host-pid)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
}

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"paperboyd: a small, fast message broker (/topic fan-out, /queue round-robin)"};
  Config config;
  std::string log_level = "info";
  double frame_timeout = 10.0;
  double shutdown_grace = 2.0;
  add_flags(app, config, log_level, frame_timeout, shutdown_grace);
  CLI11_PARSE(app, argc, argv);
  config.frame_timeout = to_millis(frame_timeout);
  config.shutdown_grace = to_millis(shutdown_grace);

  auto logger = spdlog::stderr_color_mt("paperboyd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(log_level));

  try {
    asio::io_context io(1);
    paperboy::broker::Server server(io, std::move(config));
    asio::signal_set signals(io, SIGINT, SIGTERM);
    std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec,
                                                                     int signal) {
      if (ec) return;
      spdlog::info("server.signal signal={}", signal);
      server.shut_down();
      signals.async_wait(on_signal);  // a second signal cuts the grace short
    };
    signals.async_wait(on_signal);
    server.on_stopped([&] { signals.cancel(); });
    server.start();
    io.run();
    if (server.failed()) return 1;
  } catch (const std::exception& e) {
    spdlog::critical("server.failed what={:?}", e.what());
    return 1;
  }
  return 0;
}
