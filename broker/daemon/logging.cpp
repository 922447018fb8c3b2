#include "logging.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "json_log_formatter.hpp"

namespace paperboy::daemon {

void use_log_format(LogFormat format) {
  if (format == LogFormat::json) {
    spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
}

}  // namespace paperboy::daemon
