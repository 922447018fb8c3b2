#pragma once

#include "settings.hpp"

namespace paperboy::daemon {

/// Makes the default logger write `format` from the next line on (at start-up and on reload).
void use_log_format(LogFormat format);

}  // namespace paperboy::daemon
