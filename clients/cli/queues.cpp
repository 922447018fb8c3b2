#include "queues.hpp"

#include <iostream>
#include <stdexcept>

#include "output_format.hpp"
#include "queues_view.hpp"
#include "stats_view.hpp"

namespace paperboy::cli {
namespace {

// The operator's answer to `question` on stdin; a closed stdin answers no.
bool confirmed(const std::string& question) {
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    std::cerr << '\n';
    return false;
  }
  return is_yes(answer);
}

std::runtime_error no_such_queue(const std::string& channel) {
  return std::runtime_error("no queue channel named " + channel);
}

}  // namespace

CLI::App* add_queues_command(CLI::App& app, QueuesArgs& args) {
  auto* command = app.add_subcommand("queues", "List the queue channels with their depth");
  command->footer(
      "Reads GET /stats from paperboyd's HTTP listener (start it with paperboyd --http).\n"
      "DEPTH and BYTES are what waits for a consumer, UNACKED what consumers hold without\n"
      "having acknowledged it, BLOCKED the publishers waiting for room, OLDEST the age of the\n"
      "message at the head (— when the queue is empty), DURABLE whether its messages are kept\n"
      "on disk (paperboyd --data-dir). A queue channel exists while it has\n"
      "consumers, messages or blocked publishers.\n"
      "--json prints the queue channels of the /stats document as one JSON array.");
  command->add_flag("--json", args.json, "Print the queue channels as a JSON array");
  add_http_option(*command, args.http);
  return command;
}

CLI::App* add_queue_command(CLI::App& app, PurgeArgs& purge) {
  auto* queue = app.add_subcommand("queue", "Operate on one queue channel (purge)");
  queue->require_subcommand(1);
  auto* command = queue->add_subcommand("purge", "Drop every message waiting in a queue channel");
  command->footer(
      "Shows how many messages wait and asks for confirmation on stdin (y or yes purges;\n"
      "anything else, or a closed stdin, purges nothing and exits 1), unless --yes.\n"
      "Messages handed out to consumers and not yet acknowledged are not purged.\n"
      "Prints how many were purged; exits 1 when there is no queue channel of that name.");
  command->add_option("channel", purge.channel, "The queue channel: /queue/...")
      ->type_name("CHANNEL")
      ->required();
  command->add_flag("-y,--yes", purge.yes, "Purge without asking");
  add_http_option(*command, purge.http);
  command->add_option("--name", purge.name, "With users: an admin user's name")
      ->type_name("NAME")
      ->group("Connection");
  command->add_option("--token", purge.token, "With users: that user's token")
      ->type_name("TOKEN")
      ->envname("PAPERBOY_TOKEN")
      ->group("Connection");
  return command;
}

int run_queues(const QueuesArgs& args) {
  AdminHttp http(args.http.address);
  const auto stats = http.stats(false);
  write_stdout(args.json ? queue_channels(stats).dump() + "\n" : render_queues(stats));
  return 0;
}

int run_purge(const PurgeArgs& args) {
  AdminHttp http(args.http.address);
  if (!args.name.empty()) http.authenticate_as(args.name, args.token);
  if (!args.yes) {
    const auto queue = find_queue(http.stats(false), args.channel);
    if (!queue) throw no_such_queue(args.channel);
    const auto depth = count_of(*queue, "backlog_messages");
    if (!confirmed("Purge " + std::to_string(depth) + " message" + (depth == 1 ? "" : "s") +
                   " from " + args.channel + "?")) {
      std::cerr << "paperboy: not purged\n";
      return 1;
    }
  }
  const auto purged = http.purge_queue(args.channel);
  if (!purged) throw no_such_queue(args.channel);
  write_stdout("purged " + std::to_string(*purged) + " message" + (*purged == 1 ? "" : "s") +
               " from " + args.channel + "\n");
  return 0;
}

}  // namespace paperboy::cli
