#pragma once

namespace paperboy::cli {

/// From now on SIGINT and SIGTERM only set a flag (see interrupted()), and cut short the wait
/// they land in: a blocking poll() returns at once, so a loop sees the flag without delay.
void catch_interrupts();

/// True once SIGINT or SIGTERM arrived after catch_interrupts().
bool interrupted() noexcept;

}  // namespace paperboy::cli
