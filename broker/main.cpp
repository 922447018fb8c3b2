// paperboyd: parses flags into a Config, runs the Server on one thread, stops on SIGINT/SIGTERM.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>

#include "paperboy/broker/config.hpp"
#include "paperboy/broker/server.hpp"

#ifndef PAPERBOY_VERSION
#error "PAPERBOY_VERSION must be defined by the build (the CMake project version)"
#endif

namespace {

using paperboy::broker::Config;
using paperboy::broker::SlowConsumerPolicy;

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t mib = 1024 * kib;
constexpr std::uint64_t tib = mib * mib;

// Option groups of --help, in the order they are shown.
constexpr const char* network = "Network";
constexpr const char* limits = "Limits";
constexpr const char* queues = "Queues";
constexpr const char* timing = "Timing";
constexpr const char* logging = "Logging";

// Parses a whole flag value as T: digits only for integers (no sign on unsigned ones), a finite
// decimal for floating point.
template <class T>
std::optional<T> parse_number(const std::string& text) {
  T value{};
  if constexpr (std::is_floating_point_v<T>) {
    char* end = nullptr;
    value = static_cast<T>(std::strtod(text.c_str(), &end));
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) return {};
  } else {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return {};
  }
  return value;
}

/// Adds a numeric flag whose value must lie in [min, max]. Anything else (out of range, not a
/// number, NaN) stops start-up with `--flag: must be a number from min to max, got X` and exit
/// code 2, before a value that would overflow somewhere inside can be used.
template <class T, class Min, class Max>
CLI::Option* add_bounded(CLI::App& app, const char* group, const std::string& name, T& value,
                         Min min, Max max, std::string unit, const std::string& help) {
  const T lo = static_cast<T>(min);
  const T hi = static_cast<T>(max);
  auto in_range = [lo, hi](std::string& text) -> std::string {
    const auto parsed = parse_number<T>(text);
    if (parsed && *parsed >= lo && *parsed <= hi) return {};
    return fmt::format("must be a number from {} to {}, got {:?}", lo, hi, text);
  };
  return app.add_option(name, value, fmt::format("{} (range {} to {})", help, lo, hi))
      ->check(CLI::Validator(in_range, ""))
      ->type_name(std::move(unit))
      ->capture_default_str()
      ->group(group);
}

void add_flags(CLI::App& app, Config& config, std::string& log_level, double& frame_timeout,
               double& shutdown_grace) {
  app.add_option("--bind", config.bind_address, "Address to listen on (IPv4 or IPv6)")
      ->type_name("ADDRESS")
      ->capture_default_str()
      ->group(network);
  add_bounded(app, network, "--port", config.port, 0, 65535, "PORT",
              "TCP port; 0 picks a free one, logged as server.listening ... port=N");
  add_bounded(app, network, "--max-connections", config.max_connections, 1, 10'000'000, "N",
              "Clients connected at once; the next PB1 client gets ERR 7 after its HELLO. Lowered "
              "at start-up to what the open-file limit allows");
  app.add_option("--server-id", config.server_id,
                 "Name sent in WELCOME (default: paperboyd-HOST-PID)")
      ->type_name("NAME")
      ->group(network);

  add_bounded(app, network, "--max-protocol-version", config.max_protocol_version, 1,
              paperboy::protocol::pb1_latest_version, "N",
              "Newest PB1 version spoken (default 2); 1 answers as a version-1 broker does, "
              "refusing HELLO version 2 with ERR 2 (for testing clients' fallback, or a rolling "
              "upgrade)");
  add_bounded(app, limits, "--max-payload", config.max_payload, 1, 256 * mib, "BYTES",
              "Largest message payload; a larger PUB gets ERR 2 and is closed");
  add_bounded(app, limits, "--client-queue-bytes", config.client_queue_bytes, 1, tib, "BYTES",
              "Bytes queued for one client before it counts as a slow consumer (default 8 MiB)");
  const std::map<std::string, SlowConsumerPolicy> policies{
      {"drop", SlowConsumerPolicy::drop}, {"disconnect", SlowConsumerPolicy::disconnect}};
  app.add_option("--slow-consumer", config.slow_consumer,
                 "What a topic subscriber over --client-queue-bytes gets: drop (it loses messages "
                 "and is told how many with GAP) or disconnect (ERR 8, then closed)")
      ->transform(CLI::CheckedTransformer(policies, CLI::ignore_case).description(""))
      ->type_name("drop|disconnect")
      ->default_str("drop")
      ->group(limits);
  add_bounded(app, limits, "--max-subscriptions", config.max_subscriptions, 1, 1'000'000'000, "N",
              "Channels one client may subscribe to at once; the next SUB gets ERR 4");
  add_bounded(app, limits, "--max-read-ahead", config.max_read_ahead, 0, tib, "BYTES",
              "Bytes of PUBs read past one that waits for a full queue before reading stops "
              "(default 1 MiB)");
  add_bounded(app, limits, "--max-unacked-bytes", config.max_unacked_bytes, kib, tib, "BYTES",
              "Bytes of manual-ack deliveries one client may hold unacked before its manual-ack "
              "subscriptions get no more (default 64 MiB)");
  config.max_memory = paperboy::broker::default_max_memory();
  add_bounded(app, limits, "--max-memory", config.max_memory, mib, mib * tib, "BYTES",
              "Bytes the broker may hold for clients before every PUB waits, until holdings fall "
              "to 7/8 (default: half of RAM)");

  add_bounded(app, queues, "--channel-backlog", config.channel_backlog_messages, 1, 1'000'000'000,
              "N", "Messages a /queue channel holds for its consumers before publishers block");
  add_bounded(app, queues, "--channel-backlog-bytes", config.channel_backlog_bytes, 1, tib, "BYTES",
              "Bytes a /queue channel holds before publishers block (default 64 MiB)");
  add_bounded(app, queues, "--max-queues", config.max_queues, 1, 1'000'000'000, "N",
              "Queue channels that may exist at once, dead-letter channels included; a PUB or "
              "SUB creating one more gets ERR 4");
  add_bounded(app, queues, "--default-prefetch", config.default_prefetch, 1, 65535, "N",
              "Unacked messages a manual-ack subscription may hold when it asks for prefetch 0");
  add_bounded(app, queues, "--max-prefetch", config.max_prefetch, 1, 65535, "N",
              "Most unacked messages one manual-ack subscription may hold; larger asks are "
              "clamped");
  add_bounded(app, queues, "--max-redeliveries", config.max_redeliveries, 0, 1'000'000, "N",
              "Failed redeliveries after which a queue message moves to its dead-letter channel");
  app.add_option("--dead-letter-suffix", config.dead_letter_suffix,
                 "Appended to a queue's name to name its dead-letter channel; empty: no dead "
                 "letters")
      ->type_name("SUFFIX")
      ->capture_default_str()
      ->group(queues);

  add_bounded(app, timing, "--frame-timeout", frame_timeout, 0.001, 86400, "SECONDS",
              "Time a client may take to finish a frame it started, or to send its first");
  add_bounded(app, timing, "--shutdown-grace", shutdown_grace, 0, 3600, "SECONDS",
              "Time a closing connection, or the daemon on SIGTERM, may take to flush");

  app.add_option("--log-level", log_level,
                 "Least severe level logged: trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"})
                  .description(""))
      ->type_name("LEVEL")
      ->capture_default_str()
      ->group(logging);
}

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

// Descriptors that are not client connections: the listener, stdio, the event loop's own, and
// the connections kept open past --max-connections just long enough to be told ERR 7.
constexpr rlim_t reserved_descriptors = 96;

/// Every connection is a file descriptor: raises the soft open-file limit to the hard one, and
/// lowers max_connections (with a warning) to what that limit leaves room for, so the daemon
/// refuses clients with ERR 7 instead of failing accept() in a loop. False when the limit leaves
/// no room at all.
bool fit_connections_to_open_file_limit(Config& config) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return true;  // nothing known: trust the flag
  if (limit.rlim_cur < limit.rlim_max) {
    const rlimit raised{limit.rlim_max, limit.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return true;
  if (limit.rlim_cur <= reserved_descriptors) {
    spdlog::critical("server.failed reason=\"open-file limit too low\" open_file_limit={} needs={}",
                     limit.rlim_cur, reserved_descriptors + 1);
    return false;
  }
  const auto room = static_cast<std::size_t>(limit.rlim_cur - reserved_descriptors);
  if (config.max_connections > room) {
    spdlog::warn(
        "server.max_connections_lowered requested={} allowed={} open_file_limit={} "
        "reason=\"each connection needs a file descriptor; raise the limit (ulimit -n, "
        "LimitNOFILE=) to allow more\"",
        config.max_connections, room, limit.rlim_cur);
    config.max_connections = room;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"paperboyd " PAPERBOY_VERSION
               ": a small, fast message broker. /topic channels fan out to every subscriber, "
               "/queue channels hand each message to one consumer, round-robin.",
               "paperboyd"};
  app.set_version_flag("--version", "paperboyd " PAPERBOY_VERSION, "Print the version and exit");
  app.footer(
      "Logs go to stderr as `event key=value` lines. SIGINT/SIGTERM: stop accepting, tell PB1 "
      "clients ERR 6, flush for up to --shutdown-grace, exit 0 (a second signal cuts the grace "
      "short). SIGHUP is logged and ignored. Start-up errors exit 1, bad flags exit 2.");
  Config config;
  std::string log_level = "info";
  double frame_timeout = 10.0;
  double shutdown_grace = 2.0;
  add_flags(app, config, log_level, frame_timeout, shutdown_grace);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 prints the message; usage errors exit 2, as command-line tools conventionally do.
    return app.exit(error) == 0 ? 0 : 2;
  }
  config.frame_timeout = to_millis(frame_timeout);
  config.shutdown_grace = to_millis(shutdown_grace);

  auto logger = spdlog::stderr_color_mt("paperboyd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(log_level));
  if (!fit_connections_to_open_file_limit(config)) return 1;

  try {
    asio::io_context io(1);
    paperboy::broker::Server server(io, std::move(config));
    asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
    std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec,
                                                                     int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        // Until reloading exists, a HUP from a log rotator or a closed terminal must not kill
        // the daemon (its default action), and must not pass unnoticed either.
        spdlog::warn("server.sighup_ignored reason=\"SIGHUP ignored until reload is implemented\"");
      } else {
        spdlog::info("server.signal signal={}", signal);
        server.shut_down();  // a second SIGINT/SIGTERM cuts the grace short
      }
      signals.async_wait(on_signal);
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
