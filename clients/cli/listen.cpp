#include "listen.hpp"

#include <chrono>
#include <variant>

#include "interrupts.hpp"
#include "notices.hpp"
#include "output_format.hpp"

namespace paperboy::cli {
namespace {

constexpr auto wait_slice = std::chrono::seconds(1);

}  // namespace

CLI::App* add_listen_command(CLI::App& app, ListenArgs& args) {
  auto* command = app.add_subcommand("listen", "Subscribe to channels and print each message");
  command->footer(
      "Formats:\n"
      "  text  the payload, then a newline\n"
      "  raw   the payload bytes exactly, no separator\n"
      "  hex   the payload in lowercase hex, then a newline\n"
      "  json  one object per line: {\"channel\":...,\"reply_to\":...,\"payload\":...}\n"
      "        (\"payload_hex\" instead of \"payload\" when the payload is not UTF-8),\n"
      "        with \"redelivered\":true added for a message handed out before, and\n"
      "        \"published_at\":\"2026-12-07T02:00:00.123456789Z\" (UTC) and\n"
      "        \"headers\":[{\"key\":...,\"value\":...},...] (\"value_hex\" when not UTF-8)\n"
      "        from a broker that speaks PB1 version 2 (headers only when there are any)\n"
      "Wildcards on /topic: '*' is one segment, a last '>' one or more (/topic/news/>);\n"
      "each message is printed once, with the channel it was published on.\n"
      "Messages a slow listener lost on a topic are reported on stderr as\n"
      "  gap channel=C dropped=N\n"
      "With --ack manual each /queue message is acked once it is printed; what was received\n"
      "but not printed when listen stops goes back to the queue for other consumers.\n"
      "When the connection is lost it connects again (a random wait of up to 100 ms, doubling\n"
      "to 5 s, forever) and subscribes again, with a note on stderr each time:\n"
      "  disconnected: REASON; reconnecting\n"
      "  reconnected to HOST:PORT; subscribed again\n"
      "--no-reconnect exits with an error instead.\n"
      "Stops after --count messages, or on Ctrl-C (exit status 0).");
  command
      ->add_option("-c,--channel", args.channels,
                   "Channel to subscribe to: /topic/... (wildcards allowed) or /queue/...; "
                   "repeat for several")
      ->type_name("CHANNEL")
      ->required();
  command
      ->add_option("-f,--format", args.format, "How to print each message: text, raw, hex or json")
      ->type_name("FORMAT")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "raw", "hex", "json"}).description(""));
  command->add_option("-n,--count", args.count, "Exit after this many messages (0: never)")
      ->type_name("N")
      ->capture_default_str();
  command->add_flag("--show-channel", args.show_channel,
                    "In text and hex formats, start each line with the message's channel and a "
                    "space");
  add_ack_options(*command, args.ack);
  args.connect.name = "paperboy-listen";
  add_connect_options(*command, args.connect);
  add_reconnect_option(*command, args.connect);
  return command;
}

int run_listen(const ListenArgs& args) {
  const auto format = parse_output_format(args.format).value_or(OutputFormat::text);
  auto client = connect(args.connect);
  for (const auto& channel : args.channels) {
    client.subscribe(channel, subscribe_options(args.ack), timeout_of(args.connect));
  }
  // Only now: until subscribed, Ctrl-C simply ends the process.
  catch_interrupts();

  std::string out;
  std::uint64_t received = 0;
  while (!interrupted() && (args.count == 0 || received < args.count)) {
    auto event = client.next(wait_slice);
    if (!event) continue;
    const auto* message = std::get_if<client::Message>(&*event);
    if (message == nullptr) {
      report_notice(*event);
      continue;
    }
    out.clear();
    append_message(out, *message, format, args.show_channel);
    write_stdout(out);
    // Printed, so done: the ack (a no-op for auto-ack deliveries) is written with the next
    // batch, at the latest when next() waits.
    client.ack(*message);
    ++received;
  }
  client.close(timeout_of(args.connect));
  return 0;
}

}  // namespace paperboy::cli
