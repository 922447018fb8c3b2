#pragma once

#include <optional>
#include <string>

#include "paperboy/broker/config.hpp"

namespace paperboy::daemon {

/// How log lines are written: `time level event key=value` text, or one JSON object a line.
enum class LogFormat { text, json };

/// Everything paperboyd's command line and config file say: the Server's Config and what main
/// itself uses.
struct Settings {
  broker::Config config;
  std::string log_level = "info";
  LogFormat log_format = LogFormat::text;
  std::string config_file;  ///< empty: no --config
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

}  // namespace paperboy::daemon
