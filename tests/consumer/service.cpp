// A service on the installed AsyncClient: answers each request on /queue/greetings with
// "hello, <payload>", on the application's own io_context, until SIGINT or SIGTERM. The client
// reconnects by itself, so the service outlives broker restarts. With --check it asks itself
// once, prints the answer and drains (scripts/check-install.sh runs it so).
//   usage: paperboy_service PORT [--check]
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/this_coro.hpp>
#include <chrono>
#include <iostream>
#include <string>
#include <variant>

#include "paperboy/client/async_client.hpp"

namespace pb = paperboy::client;

asio::awaitable<void> answer(pb::AsyncClient* client, pb::Subscription requests) {
  while (auto event = co_await requests.next()) {
    if (const auto* request = std::get_if<pb::Message>(&*event)) {
      client->reply(*request, "hello, " + request->payload);
    }
  }
}

asio::awaitable<void> serve(pb::AsyncClient* client, std::uint16_t port, bool check) {
  pb::ConnectOptions options;
  options.client_name = "greeter";
  co_await client->connect("127.0.0.1", port, std::move(options));
  auto requests = co_await client->subscribe("/queue/greetings");
  asio::co_spawn(co_await asio::this_coro::executor, answer(client, requests), asio::detached);
  if (check) {
    const auto reply =
        co_await client->request("/queue/greetings", "consumer", std::chrono::seconds(5));
    std::cout << reply.payload << "\n";
    if (reply.payload != "hello, consumer") throw std::runtime_error("wrong answer");
    co_await client->drain();
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: paperboy_service PORT [--check]\n";
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(std::stoul(argv[1]));
  const bool check = argc > 2 && std::string(argv[2]) == "--check";
  asio::io_context io;
  pb::AsyncClient client(io.get_executor());
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int) { client.close(); });
  int status = 0;
  asio::co_spawn(io, serve(&client, port, check), [&](std::exception_ptr failure) {
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        std::cerr << "paperboy_service: " << e.what() << "\n";
        status = 1;
      }
    }
    if (failure || check) signals.cancel();
  });
  io.run();
  return status;
}
