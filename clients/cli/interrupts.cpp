#include "interrupts.hpp"

#include <csignal>

namespace paperboy::cli {
namespace {

volatile std::sig_atomic_t interrupt_seen = 0;

extern "C" void on_interrupt(int /*signal*/) {
  interrupt_seen = 1;
}

}  // namespace

// Without SA_RESTART, so a signal cuts short the poll() inside Client::next() and the loop sees
// the flag at once. Callers wait in slices to bound the wait if the signal lands just before
// poll().
void catch_interrupts() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool interrupted() noexcept {
  return interrupt_seen != 0;
}

}  // namespace paperboy::cli
