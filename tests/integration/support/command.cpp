#include "command.hpp"

#include <doctest/doctest.h>

namespace paperboy::itest {

Command::Command(const std::vector<std::string>& argv)
    : name_(argv.at(0)), process_(argv, dir_.path() / "stdout", dir_.path() / "stderr") {}

std::string Command::out() const {
  return read_text(dir_.path() / "stdout");
}

std::string Command::err() const {
  return read_text(dir_.path() / "stderr");
}

ExitStatus Command::finish(Duration timeout) {
  const auto status = process_.wait_for(timeout);
  REQUIRE_MESSAGE(status.has_value(), name_ << " still runs after "
                                            << std::chrono::duration<double>(timeout).count()
                                            << " s; stderr:\n"
                                            << err());
  return *status;
}

int Command::exit_code(Duration timeout) {
  const ExitStatus status = finish(timeout);
  REQUIRE_MESSAGE(status.exited(), name_ << " ended with " << status.describe());
  return status.code();
}

Run run_to_end(const std::vector<std::string>& argv) {
  Command command(argv);
  const ExitStatus status = command.finish();
  return {status, command.out(), command.err()};
}

}  // namespace paperboy::itest
