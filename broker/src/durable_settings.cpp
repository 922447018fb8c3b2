#include <spdlog/fmt/fmt.h>

#include "paperboy/broker/config.hpp"
#include "permission_pattern.hpp"

namespace paperboy::broker {

std::vector<std::string> durable_patterns(const Config& config) {
  if (config.durable.empty()) return {"/queue/>"};
  return config.durable;
}

std::string durable_settings_error(const Config& config) {
  if (!config.durable.empty() && config.data_dir.empty()) {
    return "--durable: needs --data-dir (without it nothing is stored)";
  }
  if (config.recover_skip_corrupt && config.data_dir.empty()) {
    return "--recover: needs --data-dir";
  }
  for (const std::string& pattern : config.durable) {
    if (!pattern.starts_with("/queue/") || !valid_permission_pattern(pattern)) {
      return fmt::format(
          "--durable: {:?} is not a /queue channel or pattern (\"/queue/billing\", "
          "\"/queue/billing/>\"); /topic messages are never stored",
          pattern);
    }
  }
  return {};
}

}  // namespace paperboy::broker
