// Connects to a paperboyd, subscribes, publishes one message and exits 0 once it came back.
//   usage: paperboy_consumer PORT
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <variant>

#include "paperboy/client/client.hpp"

namespace pb = paperboy::client;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: paperboy_consumer PORT\n";
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(std::stoul(argv[1]));
  const std::string channel = "/topic/consumer-check";
  const std::string payload = "hello from an installed paperboy::client";
  try {
    pb::ConnectOptions options;
    options.client_name = "consumer-check";
    pb::Client client;
    client.connect("127.0.0.1", port, options);
    client.subscribe(channel);
    client.publish_confirmed(channel, payload);
    const auto event = client.next(5s);
    const auto* message = event ? std::get_if<pb::Message>(&*event) : nullptr;
    if (message == nullptr || message->channel != channel || message->payload != payload) {
      std::cerr << "paperboy_consumer: the published message did not come back\n";
      return 1;
    }
    client.close();
  } catch (const pb::Error& e) {
    std::cerr << "paperboy_consumer: " << e.what() << "\n";
    return 1;
  }
  std::cout << "paperboy_consumer: round trip ok\n";
  return 0;
}
