#include "settings.hpp"

#include <spdlog/fmt/fmt.h>
#include <CLI/CLI.hpp>
#include <asio/ip/address.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "config_key_line.hpp"

namespace paperboy::daemon {
namespace {

using broker::Config;
using broker::SlowConsumerPolicy;

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t mib = 1024 * kib;
constexpr std::uint64_t tib = mib * mib;

// Option groups of --help, in the order they are shown.
constexpr const char* network = "Network";
constexpr const char* limits = "Limits";
constexpr const char* queues = "Queues";
constexpr const char* timing = "Timing";
constexpr const char* logging = "Logging";
constexpr const char* configuration = "Configuration";
constexpr const char* security = "Security";
constexpr const char* durability = "Durability";

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

// Checks --http as it is read, so that a bad value stops start-up naming the flag (or the
// config file's line) like every other bad value.
std::string check_http_endpoint(const std::string& text) {
  if (text.empty() || parse_http_endpoint(text)) return {};
  return fmt::format(
      "must be ADDRESS:PORT with an IP address (127.0.0.1:8222, [::1]:8222) and a port from 0 "
      "to 65535, or empty for no HTTP listener; got {:?}",
      text);
}

void add_flags(CLI::App& app, Settings& settings, std::string& http, double& frame_timeout,
               double& shutdown_grace) {
  Config& config = settings.config;
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

  app.add_option("--http", http,
                 "HTTP listener for GET /metrics (Prometheus), /stats (JSON), /healthz and POST "
                 "/queues/purge, as ADDRESS:PORT (127.0.0.1:8222); port 0 picks a free one, logged "
                 "as http.listening ... port=N. Empty (the default): none. It has no "
                 "authentication: keep it on a loopback or private address")
      ->check(CLI::Validator(check_http_endpoint, ""))
      ->type_name("ADDRESS:PORT")
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
              "N",
              "Messages a /queue channel holds for its consumers before publishers block (a "
              "durable one keeps the rest on disk only: paging)");
  add_bounded(app, queues, "--channel-backlog-bytes", config.channel_backlog_bytes, 1, tib, "BYTES",
              "Bytes a /queue channel holds before publishers block (default 64 MiB; a durable one "
              "keeps the rest on disk only: paging)");
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
              "Time a client may take to finish a frame it started (its first one too)");
  add_bounded(app, timing, "--shutdown-grace", shutdown_grace, 0, 3600, "SECONDS",
              "Time a closing connection, or the daemon on SIGTERM, may take to flush");

  app.add_option("--users", config.users_file,
                 "TOML file of [[user]] tables (name, token_hash, publish, subscribe, "
                 "deny_publish, deny_subscribe, admin): HELLO must name a user and its token, and "
                 "SUB and PUB must be permitted. Reread on SIGHUP. Without it every client may "
                 "do anything: for trusted networks only")
      ->type_name("FILE")
      ->group(security);
  app.add_option("--pb0-user", config.pb0_user,
                 "With --users: the user whose permissions PB0 clients get (they cannot "
                 "authenticate); without it they are refused")
      ->type_name("NAME")
      ->group(security);
  add_bounded(app, security, "--auth-failures", config.auth_failures_per_minute, 1, 1'000'000, "N",
              "Failed HELLOs one address may make per minute; past it the next are refused with "
              "ERR 10 at once, without checking the token");

  app.add_option("--log-level", settings.log_level,
                 "Least severe level logged: trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"})
                  .description(""))
      ->type_name("LEVEL")
      ->capture_default_str()
      ->group(logging);
  const std::map<std::string, LogFormat> formats{{"text", LogFormat::text},
                                                 {"json", LogFormat::json}};
  app.add_option("--log-format", settings.log_format,
                 "text: `time level event key=value` lines; json: one JSON object a line "
                 "({\"ts\", \"level\", \"event\", \"msg\"}), for journald and log shippers")
      ->transform(CLI::CheckedTransformer(formats).description(""))
      ->type_name("text|json")
      ->default_str("text")
      ->group(logging);

  app.set_config("--config", "",
                 "TOML file of settings: each flag under its long name without dashes "
                 "(max-payload = 1048576); flags given on the command line override it. "
                 "SIGHUP reads it again")
      ->type_name("FILE")
      ->group(configuration);
  // An unknown key is a mistake (a typo silently ignored would leave a default in force).
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.add_flag("--check-config", settings.check_config,
               "Validate the flags and the --config file, then exit: 0 when valid, 2 naming "
               "what is wrong")
      ->configurable(false)
      ->group(configuration);
}

// CLI11 says `INI was not able to parse KEY` for an unknown key: name the key and its line.
std::string describe_unknown_key(const CLI::App& app, const std::string& file,
                                 const CLI::ConfigError& error) {
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_file(file);
  } catch (const CLI::Error&) {
    return error.what();
  }
  for (const CLI::ConfigItem& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // CLI11's section markers
    if (item.parents.empty() && app.get_option_no_throw("--" + item.name) != nullptr) continue;
    const std::string key = item.fullname();
    const auto line = config_key_line(file, key);
    return fmt::format(
        "{}:{}: unknown key {:?} (settings are the long flags without dashes; "
        "see --help)",
        file, line ? std::to_string(*line) : "?", key);
  }
  return error.what();
}

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

/// Adds a flag of seconds (a decimal from `min` to `max`) that sets `value` in milliseconds.
CLI::Option* add_seconds(CLI::App& app, const std::string& name, std::chrono::milliseconds& value,
                         double min, double max, const std::string& help) {
  auto in_range = [min, max](std::string& text) -> std::string {
    const auto parsed = parse_number<double>(text);
    if (parsed && *parsed >= min && *parsed <= max) return {};
    return fmt::format("must be a number from {} to {}, got {:?}", min, max, text);
  };
  return app
      .add_option_function<double>(
          name, [&value](double seconds) { value = to_millis(seconds); },
          fmt::format("{} (range {} to {})", help, min, max))
      ->check(CLI::Validator(in_range, ""))
      ->type_name("SECONDS")
      ->default_str(fmt::format("{}", double(value.count()) / 1000.0))
      ->group(timing);
}

// Liveness and connection limits (issue 13): their flags, in one place.
void add_liveness_flags(CLI::App& app, Config& config) {
  add_seconds(app, "--handshake-timeout", config.handshake_timeout, 0.001, 86400,
              "Time from the connect until the first frame (HELLO, or PB0's channel) is complete; "
              "then the connection is closed (a PB1 peer that began its HELLO gets ERR 1)");
  add_seconds(app, "--ping-interval", config.ping_interval, 0, 86400,
              "A PB1 client nothing was read from for this long gets a PING; 0: never");
  add_bounded(app, timing, "--ping-max-missed", config.ping_max_missed, 1, 1000, "N",
              "PINGs left unanswered (an interval each) before the client is closed as stale and "
              "its unacked deliveries go back to their queues");
  add_seconds(app, "--idle-timeout", config.idle_timeout, 0, 86400 * 365,
              "A PB0 client with no bytes either way for this long is closed; 0: never");
  add_seconds(app, "--write-deadline", config.write_deadline, 0, 86400,
              "A client whose send queue stays full with nothing written for this long is closed "
              "as a slow consumer (ERR 8); 0: never");
  add_bounded(app, limits, "--max-connect-rate", config.max_connect_rate, 0, 100'000'000, "N",
              "New connections accepted per second in all (bursts of twice that); past it ERR 7 "
              "with a retry hint; 0: no limit");
  add_bounded(app, limits, "--max-connect-rate-per-address", config.max_connect_rate_per_address, 0,
              100'000'000, "N",
              "New connections accepted per second from one address (bursts of twice that); 0: "
              "no limit");
  add_bounded(app, limits, "--max-connections-per-address", config.max_connections_per_address, 0,
              10'000'000, "N", "Connections open at once from one address; 0: no limit");
}

// --tls-port's value: a port, or empty for no TLS listener (as --http).
std::string check_tls_port(const std::string& text) {
  if (text.empty() || parse_number<std::uint16_t>(text)) return {};
  return fmt::format("must be a number from 0 to 65535, or empty for no TLS listener; got {:?}",
                     text);
}

// TLS (issue 13): its flags, in one place. --tls-port is read as text into `tls_port` (empty:
// no TLS listener).
void add_tls_flags(CLI::App& app, Config& config, std::string& tls_port) {
  app.add_option("--tls-port", tls_port,
                 "A TLS listener beside the plain one, on the same --bind address; 0 picks a "
                 "free port (logged like --port 0's, with tls=true); empty: none. Needs "
                 "--tls-cert and --tls-key; TLS 1.2 at least")
      ->check(CLI::Validator(check_tls_port, ""))
      ->type_name("PORT")
      ->group(security);
  app.add_option("--tls-cert", config.tls_cert,
                 "The server's certificate (PEM; its chain may follow it in the file)")
      ->type_name("FILE")
      ->group(security);
  app.add_option("--tls-key", config.tls_key, "The private key of --tls-cert (PEM)")
      ->type_name("FILE")
      ->group(security);
  app.add_option("--tls-ca", config.tls_ca,
                 "CA certificates (PEM): every TLS client must present a certificate signed by "
                 "one of them (mTLS)")
      ->type_name("FILE")
      ->group(security);
  app.add_flag("--tls-map-user", config.tls_map_user,
               "With --tls-ca and --users: the verified client certificate's subject CN names the "
               "user, and HELLO needs no token (an empty or the same name; another gets ERR 10)")
      ->group(security);
  app.add_flag("--no-plain", config.no_plain,
               "No plain --port listener: only TLS is served (needs --tls-port)")
      ->group(security);
}

// Durable queues (issue 14): their flags, in one place.
void add_durability_flags(CLI::App& app, Config& config) {
  app.add_option("--data-dir", config.data_dir,
                 "Directory of the journal that keeps durable queues on disk (created if "
                 "missing); a PUB with a req to a durable queue is confirmed once its message is "
                 "written and fdatasync'd. Empty (the default): queues live in memory only")
      ->type_name("DIR")
      ->group(durability);
  app.add_option("--durable", config.durable,
                 "A /queue channel or pattern (\"/queue/billing/>\") whose messages are kept in "
                 "--data-dir; repeatable (config key: durable = [...]). Default with --data-dir: "
                 "every /queue channel. /topic messages are never stored")
      ->type_name("PATTERN")
      ->group(durability);
  app.add_option_function<std::string>(
         "--recover",
         [&config](const std::string& mode) {
           config.recover_skip_corrupt = mode == "skip-corrupt";
         },
         "strict (the default): a journal with a corrupt record before its end stops the start, "
         "naming the file and byte offset; skip-corrupt: start anyway, skipping it (the start "
         "logs how many records and bytes)")
      ->check(CLI::IsMember({"strict", "skip-corrupt"}).description(""))
      ->type_name("strict|skip-corrupt")
      ->default_str("strict")
      ->group(durability);
}

// CLI11 names a bad value by its flag (`--max-payload: must be ...`): when the value came from
// the config file rather than the command line, put the file and line in front.
std::string locate_in_file(std::string message, const std::string& file, int argc,
                           const char* const* argv) {
  if (file.empty() || message.rfind("--", 0) != 0) return message;
  const std::string flag = message.substr(0, message.find(':'));
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == flag || arg.rfind(flag + "=", 0) == 0) return message;
  }
  const auto line = config_key_line(file, flag.substr(2));
  if (!line) return message;
  return fmt::format("{}:{}: {}", file, *line, message);
}

}  // namespace

std::optional<HttpEndpoint> parse_http_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return {};
  std::string_view address = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  const bool bracketed = address.size() >= 2 && address.front() == '[' && address.back() == ']';
  if (bracketed) address = address.substr(1, address.size() - 2);
  std::error_code error;
  const asio::ip::address ip = asio::ip::make_address(std::string(address), error);
  // An IPv6 address needs its brackets, an IPv4 one must not have them.
  if (error || ip.is_v6() != bracketed) return {};
  const auto port = parse_number<std::uint16_t>(std::string(port_text));
  if (!port) return {};
  return HttpEndpoint{std::string(address), *port};
}

/// The app and the values its options write to: options hold pointers into it, so it stays put.
struct SettingsParser::Bound {
  CLI::App app{"paperboyd " PAPERBOY_VERSION
               ": a small, fast message broker. /topic channels fan out to every subscriber, "
               "/queue channels hand each message to one consumer, round-robin.",
               "paperboyd"};
  Settings settings;
  double frame_timeout = 0;
  double shutdown_grace = 0;
  std::string http;
  std::string tls_port;

  Bound() {
    app.set_version_flag("--version", "paperboyd " PAPERBOY_VERSION, "Print the version and exit");
    app.footer(
        "Logs go to stderr as `event key=value` lines. SIGINT/SIGTERM: stop accepting, tell PB1 "
        "clients ERR 6, flush for up to --shutdown-grace, exit 0 (a second signal cuts the grace "
        "short). SIGHUP reloads the --config file (flags given here still override it) and "
        "applies what can change live; a bad file keeps the running settings. Start-up errors "
        "exit 1, bad flags or settings exit 2.");
    reset();
    add_flags(app, settings, http, frame_timeout, shutdown_grace);
    add_liveness_flags(app, settings.config);
    add_tls_flags(app, settings.config, tls_port);
    add_durability_flags(app, settings.config);
  }

  /// Back to the defaults, as if nothing had been parsed: assigned in place, so the options'
  /// pointers stay good.
  void reset() {
    app.clear();
    settings = Settings{};
    frame_timeout = 10.0;
    shutdown_grace = 2.0;
    http.clear();
    tls_port.clear();
  }
};

SettingsParser::SettingsParser() : bound_(std::make_unique<Bound>()) {}
SettingsParser::~SettingsParser() = default;

ParsedSettings SettingsParser::parse(int argc, const char* const* argv) {
  Bound& b = *bound_;
  b.reset();
  CLI::App& app = b.app;
  ParsedSettings parsed;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ConfigError& error) {
    parsed.exit_code = 2;
    parsed.error = describe_unknown_key(app, app["--config"]->as<std::string>(), error);
    return parsed;
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) {
      app.exit(error);  // --help, --version: printed to stdout
      return parsed;
    }
    // Usage errors exit 2, as command-line tools conventionally do.
    parsed.exit_code = 2;
    parsed.error = locate_in_file(error.what(), app["--config"]->as<std::string>(), argc, argv);
    return parsed;
  }
  Settings settings = b.settings;
  settings.config_file = app["--config"]->as<std::string>();
  settings.config.frame_timeout = to_millis(b.frame_timeout);
  settings.config.shutdown_grace = to_millis(b.shutdown_grace);
  if (!b.http.empty()) settings.http = parse_http_endpoint(b.http);
  if (!b.tls_port.empty()) settings.config.tls_port = parse_number<std::uint16_t>(b.tls_port);
  // A certificate that does not load stops start-up (and --check-config) here, naming the file.
  if (std::string error = broker::tls_settings_error(settings.config); !error.empty()) {
    parsed.exit_code = 2;
    parsed.error = std::move(error);
    return parsed;
  }
  if (std::string error = broker::durable_settings_error(settings.config); !error.empty()) {
    parsed.exit_code = 2;
    parsed.error = std::move(error);
    return parsed;
  }
  parsed.settings = std::move(settings);
  return parsed;
}

ParsedSettings parse_settings(int argc, const char* const* argv) {
  return SettingsParser().parse(argc, argv);
}

}  // namespace paperboy::daemon
