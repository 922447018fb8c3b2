#include "reload.hpp"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "logging.hpp"
#include "open_file_limit.hpp"

namespace paperboy::daemon {

void reload(broker::Server& server, Settings& current, int argc, const char* const* argv) {
  ParsedSettings parsed = parse_settings(argc, argv);
  if (!parsed.settings) {
    spdlog::error("config.reload_failed file={:?} reason={:?} kept=\"the running configuration\"",
                  current.config_file, parsed.error);
    return;
  }
  Settings& next = *parsed.settings;
  if (!fit_connections_to_open_file_limit(next.config)) {
    spdlog::error("config.reload_failed file={:?} reason=\"open-file limit too low\"",
                  current.config_file);
    return;
  }
  broker::Server::Reconfigured result = server.reconfigure(next.config);
  if (next.log_level != current.log_level) result.changed.emplace_back("log-level");
  if (next.log_format != current.log_format) result.changed.emplace_back("log-format");
  // The HTTP listener is bound once, at start-up, like the broker's own port.
  if (next.http != current.http) result.needs_restart.emplace_back("http");
  next.http = current.http;
  for (const std::string& key : result.needs_restart) {
    spdlog::warn(
        "config.reload_needs_restart key={} reason=\"cannot change while running; "
        "the old value stays until a restart\"",
        key);
  }
  // Logged before the new level and format apply, so that it shows under the ones it replaces.
  spdlog::info("config.reloaded file={:?} changed={}", current.config_file,
               result.changed.empty() ? std::string("none")
                                      : fmt::format("{}", fmt::join(result.changed, ",")));
  use_log_format(next.log_format);
  spdlog::set_level(spdlog::level::from_str(next.log_level));
  next.config = server.config();  // what runs, restart-only settings included
  current = std::move(next);
}

}  // namespace paperboy::daemon
