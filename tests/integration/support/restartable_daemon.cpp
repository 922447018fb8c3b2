#include "restartable_daemon.hpp"

#include <doctest/doctest.h>

#include <csignal>

namespace paperboy::itest {

RestartableDaemon::RestartableDaemon(std::vector<std::string> flags) : flags_(std::move(flags)) {
  generations_.push_back(std::make_unique<Daemon>(flags_));
  port_ = current().port();
}

RestartableDaemon::~RestartableDaemon() {
  if (frozen_) thaw();
}

void RestartableDaemon::kill() {
  current().signal(SIGKILL);
  const auto status = current().wait_exit();
  REQUIRE_MESSAGE(status.has_value(), "paperboyd did not die of SIGKILL");
}

void RestartableDaemon::terminate() {
  const auto status = current().terminate();
  REQUIRE_MESSAGE(status.has_value(), "paperboyd did not exit on SIGTERM");
  CHECK_MESSAGE(status->clean(), "paperboyd ended with " << status->describe());
}

void RestartableDaemon::freeze() {
  current().signal(SIGSTOP);
  frozen_ = true;
}

void RestartableDaemon::thaw() {
  current().signal(SIGCONT);
  frozen_ = false;
}

void RestartableDaemon::start() {
  REQUIRE_MESSAGE(!current().running(), "start() while paperboyd still runs");
  generations_.push_back(std::make_unique<Daemon>(flags_, port_));
  REQUIRE(current().port() == port_);
}

std::string RestartableDaemon::log_tail(std::size_t lines) const {
  std::string all;
  for (std::size_t i = 0; i < generations_.size(); ++i) {
    all += "--- paperboyd #" + std::to_string(i + 1) + " ---\n" + generations_[i]->log_tail(lines);
  }
  return all;
}

}  // namespace paperboy::itest
