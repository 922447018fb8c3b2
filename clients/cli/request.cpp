#include "request.hpp"

#include <iostream>
#include <iterator>
#include <stdexcept>

#include "notices.hpp"
#include "output_format.hpp"

namespace paperboy::cli {
namespace {

std::string read_stdin() {
  std::ios::sync_with_stdio(false);
  std::string bytes{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  if (std::cin.bad()) throw std::runtime_error("cannot read stdin");
  return bytes;
}

}  // namespace

CLI::App* add_request_command(CLI::App& app, RequestArgs& args) {
  auto* command = app.add_subcommand("request", "Send a request to a channel and print the reply");
  command->footer(
      "The request is published with a reply_to channel private to this connection; a\n"
      "responder (e.g. `paperboy reply`) publishes its answer there. Without --data the\n"
      "request is all of stdin. The reply is printed like `listen` prints a message (--format).\n"
      "Exits 0 with the reply, 1 with a one-line reason on stderr when none comes within\n"
      "--timeout or the broker refused the request. With a broker that speaks PB1 version 2\n"
      "a request to a channel nobody consumes fails at once (`no responders on CHANNEL`),\n"
      "and one that waits in a queue expires there when --timeout runs out.");
  command
      ->add_option("-c,--channel", args.channel,
                   "Channel to send the request to: /queue/... (one responder answers) or "
                   "/topic/... (the first answer counts)")
      ->type_name("CHANNEL")
      ->required();
  auto* data =
      command->add_option("-d,--data", args.data, "The request payload (default: all of stdin)")
          ->type_name("TEXT");
  command->add_option("-f,--format", args.format, "How to print the reply: text, raw, hex or json")
      ->type_name("FORMAT")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "raw", "hex", "json"}).description(""));
  args.connect.name = "paperboy-request";
  add_connect_options(*command, args.connect);
  command->callback([&args, data] { args.data_given = data->count() > 0; });
  return command;
}

int run_request(const RequestArgs& args) {
  const auto format = parse_output_format(args.format).value_or(OutputFormat::text);
  const std::string payload = args.data_given ? args.data : read_stdin();
  auto client = connect(args.connect, report_notice);
  const auto reply = client.request(args.channel, payload, timeout_of(args.connect));
  std::string out;
  append_message(out, reply, format);
  write_stdout(out);
  client.close(timeout_of(args.connect));
  return 0;
}

}  // namespace paperboy::cli
