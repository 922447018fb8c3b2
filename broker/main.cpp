// paperboyd: reads flags and the config file into Settings, runs the Server on one thread (and the
// --http listener on threads of its own), reloads on SIGHUP, stops on SIGINT/SIGTERM.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "daemon/http_listener.hpp"
#include "daemon/logging.hpp"
#include "daemon/open_file_limit.hpp"
#include "daemon/reload.hpp"
#include "daemon/settings.hpp"
#include "paperboy/broker/server.hpp"
#include "paperboy/broker/systemd_notify.hpp"

int main(int argc, char** argv) {
  using namespace paperboy::daemon;
  ParsedSettings parsed = parse_settings(argc, argv);
  if (!parsed.settings) {
    if (!parsed.error.empty()) {
      std::fprintf(stderr, "%s\nRun with --help for more information.\n", parsed.error.c_str());
    }
    return parsed.exit_code;
  }
  Settings& settings = *parsed.settings;
  if (settings.check_config) {
    std::printf("paperboyd: configuration ok%s%s\n", settings.config_file.empty() ? "" : ": ",
                settings.config_file.c_str());
    return 0;
  }

  auto logger = spdlog::stderr_color_mt("paperboyd");
  spdlog::set_default_logger(logger);
  use_log_format(settings.log_format);
  spdlog::set_level(spdlog::level::from_str(settings.log_level));
  if (!fit_connections_to_open_file_limit(settings.config)) return 1;

  try {
    asio::io_context io(1);
    paperboy::broker::Server server(io, settings.config);
    // Bound before server.start(), so that readiness (READY=1) means every listener is bound.
    // Declared after the Server: destroyed (stopped) before it, whatever way this block ends.
    std::optional<HttpListener> http;
    if (settings.http) {
      http.emplace(io, server, settings.http->address, settings.http->port);
      spdlog::info("http.listening address={} port={}", settings.http->address, http->port());
    }
    asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
    std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec,
                                                                     int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        paperboy::broker::systemd::notify_reloading([&] { reload(server, settings, argc, argv); });
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
    // Requests still in progress time out (503) now that the loop has stopped.
    if (http) http->stop();
    if (server.failed()) return 1;
  } catch (const paperboy::broker::UnusableJournal& e) {
    // As a bad setting: nothing is served from a journal that would silently lose messages.
    spdlog::critical("storage.corrupt what={:?}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("server.failed what={:?}", e.what());
    return 1;
  }
  return 0;
}
