#pragma once

#include "paperboy/broker/server.hpp"
#include "settings.hpp"

namespace paperboy::daemon {

/// SIGHUP: parses the same command line again (so its --config file is reread whole and flags
/// given on the command line still override it) and applies what can change live, logging
/// `config.reloaded changed=...`, and `config.reload_needs_restart key=...` for each setting
/// that differs but cannot change in a running daemon. A file that does not parse or validate
/// changes nothing and logs `config.reload_failed reason=...`. `current` tracks what runs.
void reload(broker::Server& server, Settings& current, int argc, const char* const* argv);

}  // namespace paperboy::daemon
