// paperboy: the command-line client of the paperboyd message broker.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <exception>
#include <iostream>

#include "listen.hpp"
#include "paperboy/client/error.hpp"
#include "passwd.hpp"
#include "queues.hpp"
#include "reply.hpp"
#include "request.hpp"
#include "send.hpp"
#include "stats.hpp"

#ifndef PAPERBOY_VERSION
#error "PAPERBOY_VERSION must be defined by the build (the CMake project version)"
#endif

namespace {

bool is_subcommand(const CLI::App& app, const std::string& name) {
  const auto commands = app.get_subcommands([](const CLI::App*) { return true; });
  return std::any_of(commands.begin(), commands.end(),
                     [&](const CLI::App* command) { return command->check_name(name); });
}

}  // namespace

int main(int argc, char** argv) {
  using namespace paperboy::cli;

  CLI::App app{
      "paperboy: publish to and listen on a paperboyd message broker (PB1 protocol), and look "
      "at its state (its HTTP listener).",
      "paperboy"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "paperboy " PAPERBOY_VERSION, "Print the version and exit");
  app.footer("Run 'paperboy <command> --help' for the options of a command.");
  ListenArgs listen;
  auto* listen_command = add_listen_command(app, listen);
  SendArgs send;
  auto* send_command = add_send_command(app, send);
  RequestArgs request;
  auto* request_command = add_request_command(app, request);
  ReplyArgs reply;
  auto* reply_command = add_reply_command(app, reply);
  StatsArgs stats;
  auto* stats_command = add_stats_command(app, stats);
  QueuesArgs queues;
  auto* queues_command = add_queues_command(app, queues);
  auto* passwd_command = add_passwd_command(app);
  PurgeArgs purge;
  add_queue_command(app, purge);

  // CLI11 would only say that a subcommand is required.
  if (argc > 1 && argv[1][0] != '-' && !is_subcommand(app, argv[1])) {
    std::cerr << "paperboy: unknown subcommand: " << argv[1]
              << "\nRun 'paperboy --help' for the list of commands.\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 prints the message; usage errors exit 2, as command-line tools conventionally do.
    return app.exit(error) == 0 ? 0 : 2;
  }

  try {
    if (*listen_command) return run_listen(listen);
    if (*send_command) return run_send(send);
    if (*request_command) return run_request(request);
    if (*passwd_command) return run_passwd();
    if (*reply_command) return run_reply(reply);
    if (*stats_command) return run_stats(stats);
    if (*queues_command) return run_queues(queues);
    return run_purge(purge);
  } catch (const paperboy::client::Error& error) {
    std::cerr << "paperboy: " << error.what() << '\n';
  } catch (const std::exception& error) {
    std::cerr << "paperboy: " << error.what() << '\n';
  }
  return 1;
}
