#include "checks.hpp"

#include <doctest/doctest.h>

#include <atomic>

#include "payloads.hpp"

namespace paperboy::itest {
namespace {

std::string unique_channel(std::string_view base) {
  static std::atomic<unsigned> counter{0};
  return std::string(base) + std::to_string(++counter);
}

}  // namespace

void check_serves(std::uint16_t port) {
  const std::string channel = unique_channel("/topic/itest.health.");
  Conn subscriber(port, "health-subscriber");
  Conn publisher(port, "health-publisher");
  subscriber.hello();
  publisher.hello();
  subscriber.subscribe(channel);
  publisher.publish(channel, "still serving");
  subscriber.expect_msg(channel, "still serving");
}

Bystander::Bystander(std::uint16_t port)
    : subscriber_(port, "bystander-subscriber"),
      publisher_(port, "bystander-publisher"),
      channel_(unique_channel("/topic/itest.bystander.")) {
  subscriber_.hello();
  publisher_.hello();
  subscriber_.subscribe(channel_);
  check();
}

void Bystander::check() {
  const std::string payload = numbered_payload(sent_++, 100, "bystander");
  publisher_.publish(channel_, payload);
  subscriber_.expect_msg(channel_, payload);
}

void expect_clean_exit(Daemon& daemon, Duration timeout) {
  const auto status = daemon.terminate(timeout);
  if (!status) {
    FAIL_CHECK("paperboyd did not exit within " << timeout.count() << " ms of SIGTERM; its log:\n"
                                                << daemon.log_tail());
    return;
  }
  CHECK_MESSAGE(status->clean(), "paperboyd ended with " << status->describe() << "; its log:\n"
                                                         << daemon.log_tail());
}

}  // namespace paperboy::itest
