#pragma once

#include "paperboy/broker/config.hpp"

namespace paperboy::daemon {

/// Every connection is a file descriptor: raises the soft open-file limit to the hard one, and
/// lowers max_connections (with a warning) to what that limit leaves room for, so the daemon
/// refuses clients with ERR 7 instead of failing accept() in a loop. False when the limit leaves
/// no room at all.
bool fit_connections_to_open_file_limit(broker::Config& config);

}  // namespace paperboy::daemon
