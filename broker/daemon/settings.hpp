#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "paperboy/broker/config.hpp"

namespace paperboy::daemon {

/// How log lines are written: `time level event key=value` text, or one JSON object a line.
enum class LogFormat { text, json };

/// Where the HTTP listener (--http) binds: an IP address and a port (0: a free one).
struct HttpEndpoint {
  std::string address;
  std::uint16_t port = 0;
  bool operator==(const HttpEndpoint&) const = default;
};

/// Reads `ADDRESS:PORT` (`127.0.0.1:8222`, `[::1]:8222`): nothing unless the address is an IPv4
/// or IPv6 literal and the port a number from 0 to 65535.
std::optional<HttpEndpoint> parse_http_endpoint(std::string_view text);

/// Everything paperboyd's command line and config file say: the Server's Config and what main
/// itself uses.
struct Settings {
  broker::Config config;
  std::string log_level = "info";
  LogFormat log_format = LogFormat::text;
  std::optional<HttpEndpoint> http;  ///< nothing: no HTTP listener (the default)
  std::string config_file;           ///< empty: no --config
  bool check_config = false;
};

/// The outcome of reading the command line and the config file it names: settings, or how to
/// stop (--help and --version are printed already and stop with 0; errors stop with 2).
struct ParsedSettings {
  std::optional<Settings> settings;
  int exit_code = 0;
  std::string error;  ///< why the settings are unusable, naming the flag or the key and line
};

/// Parses the flags, reading the --config file first so that flags given on the command line
/// override it. Called again on SIGHUP with the same command line to reload the file.
ParsedSettings parse_settings(int argc, const char* const* argv);

/// parse_settings with its flags built once: building the CLI11 app (about 70 options) costs
/// more than a parse, so a caller that parses many times (the config fuzzer) keeps one. Each
/// parse starts from the defaults.
class SettingsParser {
 public:
  SettingsParser();
  ~SettingsParser();
  SettingsParser(const SettingsParser&) = delete;
  SettingsParser& operator=(const SettingsParser&) = delete;

  ParsedSettings parse(int argc, const char* const* argv);

 private:
  struct Bound;
  std::unique_ptr<Bound> bound_;
};

}  // namespace paperboy::daemon
