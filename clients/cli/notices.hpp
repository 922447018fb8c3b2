#pragma once

#include "paperboy/client/event.hpp"

namespace paperboy::cli {

/// Prints an event that is not a message as one line on stderr: `gap channel=C dropped=N`,
/// `blocked channel=C` or `unblocked channel=C`. A message prints nothing.
void report_notice(const client::Event& event);

}  // namespace paperboy::cli
