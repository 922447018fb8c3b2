#include "reply.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <variant>

#include "interrupts.hpp"
#include "notices.hpp"
#include "shell_command.hpp"

namespace paperboy::cli {
namespace {

constexpr auto wait_slice = std::chrono::seconds(1);

// Notes go to stderr; channel names are the broker's checked UTF-8, so they print as they are.
void note(const client::Message& message, const char* what) {
  std::fprintf(stderr, "reply: %s (message on %s)\n", what, message.channel.c_str());
}

// The answer to one request, or nothing when the command failed (noted on stderr).
std::optional<std::string> answer(const ReplyArgs& args, const client::Message& request,
                                  std::size_t max_payload) {
  if (args.exec.empty()) return request.payload;
  auto result = run_shell_command(args.exec, request.payload, max_payload);
  if (result.status != 0) {
    std::fprintf(stderr, "reply: --exec command exited with status %d: no reply (message on %s)\n",
                 result.status, request.channel.c_str());
    return std::nullopt;
  }
  if (result.truncated) {
    note(request, "--exec output is larger than the broker's max payload: no reply");
    return std::nullopt;
  }
  return std::move(result.output);
}

}  // namespace

CLI::App* add_reply_command(CLI::App& app, ReplyArgs& args) {
  auto* command = app.add_subcommand(
      "reply", "Answer requests on a channel: echo them, or reply with a command's output");
  command->footer(
      "Subscribes to --channel and answers each message that has a reply_to (as sent by\n"
      "`paperboy request` or Client::request): with its own payload, or with --exec, with the\n"
      "stdout of `/bin/sh -c CMD` run with the request payload on its stdin. Run several on a\n"
      "/queue channel to share the requests between them.\n"
      "A message without reply_to is skipped, with a note on stderr. When CMD exits non-zero\n"
      "no reply is sent (the requester times out); with --ack manual the request is NACKed,\n"
      "so the broker hands it out again (to another responder if one has credit) until it\n"
      "lands in the dead-letter channel; otherwise it is dropped.\n"
      "When the connection is lost it connects again (a random wait of up to 100 ms, doubling\n"
      "to 5 s, forever) and subscribes again, with a note on stderr each time:\n"
      "  disconnected: REASON; reconnecting\n"
      "  reconnected to HOST:PORT; subscribed again\n"
      "--no-reconnect exits with an error instead.\n"
      "Stops after --count replies, or on Ctrl-C (exit status 0).");
  command
      ->add_option("-c,--channel", args.channel,
                   "Channel to take requests from: /queue/... or /topic/...")
      ->type_name("CHANNEL")
      ->required();
  command
      ->add_option("-e,--exec", args.exec,
                   "Reply with the stdout of this /bin/sh command, fed the request on stdin")
      ->type_name("CMD");
  command->add_option("-n,--count", args.count, "Exit after this many replies (0: never)")
      ->type_name("N")
      ->capture_default_str();
  add_ack_options(*command, args.ack);
  args.connect.name = "paperboy-reply";
  add_connect_options(*command, args.connect);
  add_reconnect_option(*command, args.connect);
  return command;
}

int run_reply(const ReplyArgs& args) {
  auto client = connect(args.connect);
  const auto timeout = timeout_of(args.connect);
  client.subscribe(args.channel, subscribe_options(args.ack), timeout);
  catch_interrupts();
  // A command that does not read all of its stdin closes the pipe we feed it; that must not
  // kill us with SIGPIPE. The command itself gets the default action back.
  if (!args.exec.empty()) std::signal(SIGPIPE, SIG_IGN);

  std::uint64_t replied = 0;
  while (!interrupted() && (args.count == 0 || replied < args.count)) {
    auto event = client.next(wait_slice);
    if (!event) continue;
    const auto* message = std::get_if<client::Message>(&*event);
    if (message == nullptr) {
      report_notice(*event);
      continue;
    }
    const auto& request = *message;
    if (request.reply_to.empty()) {
      note(request, "skipped a message without reply_to");
      client.ack(request);  // handled: there is nobody to answer
      continue;
    }
    const auto reply = answer(args, request, client.server_max_payload());
    if (!reply) {
      client.nack(request);  // no-op for auto-ack deliveries
      continue;
    }
    client.reply(request, *reply);
    client.ack(request);
    ++replied;
    // An echo is instant, so replies to a burst go out in one write when next() runs dry; a
    // command may take long, and the replies to requests already received must not wait
    // behind it.
    if (!args.exec.empty()) client.flush(timeout);
  }
  client.close(timeout);
  return 0;
}

}  // namespace paperboy::cli
