// The integration suite's main: doctest's, plus SIGPIPE ignored, because a test that writes to a
// connection the daemon has just closed must see EPIPE and report it, not die.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  doctest::Context context(argc, argv);
  return context.run();
}
