#include "send.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string_view>
#include <thread>
#include <utility>

#include "duration_option.hpp"
#include "notices.hpp"
#include "option_values.hpp"

namespace paperboy::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Publishes one message each call, confirmed or not, and checks the first with a round trip:
// a refusal of an unconfirmed PUB (bad channel, not authorized) comes back as an ERR with no
// request id, so ask before sending the rest rather than after a million of them.
class Publisher {
 public:
  Publisher(client::Client& client, const SendArgs& args) : client_(client), args_(args) {
    options_.headers = args.headers;
    options_.ttl = args.ttl;
  }

  void publish(std::string_view payload) {
    const auto timeout = timeout_of(args_.connect);
    if (args_.confirm) {
      client_.publish_confirmed(args_.channel, payload, options_, timeout);
    } else {
      client_.publish(args_.channel, payload, options_);
      if (sent_ == 0) client_.ping(timeout);
    }
    ++sent_;
  }

  // Writes what is buffered, then waits until the broker has processed all of it.
  void finish() {
    const auto timeout = timeout_of(args_.connect);
    try {
      client_.sync(timeout);
    } catch (const client::Error& error) {
      if (!error.timed_out()) throw;
      throw client::Error(error.code(),
                          "the broker did not take every message within --timeout (a full /queue "
                          "backlog holds publishers back until its consumers catch up): " +
                              std::string(error.what()),
                          false);
    }
    client_.close(timeout);
  }

 private:
  client::Client& client_;
  const SendArgs& args_;
  client::PublishOptions options_;
  std::uint64_t sent_ = 0;
};

// Message n (from 1) of --count: its number, zero-padded to --size bytes (the low digits when
// --size is too small), so a listener can check order and loss by eye.
void generated_payload(std::string& out, std::uint64_t n, std::size_t size) {
  const auto digits = std::to_string(n);
  out.assign(size > digits.size() ? size - digits.size() : 0, '0');
  out.append(digits, digits.size() > size ? digits.size() - size : 0);
}

void send_generated(client::Client& client, Publisher& publisher, const SendArgs& args) {
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(args.interval_seconds));
  const auto start = Clock::now();
  std::string payload;
  for (std::uint64_t n = 1; n <= args.count; ++n) {
    if (interval > Clock::duration::zero()) {
      // Scheduled from the start, so the rate does not drift with the time spent sending.
      std::this_thread::sleep_until(start + interval * static_cast<Clock::rep>(n - 1));
    }
    generated_payload(payload, n, args.size);
    publisher.publish(payload);
    if (interval > Clock::duration::zero()) client.flush(timeout_of(args.connect));
  }
}

void send_lines(client::Client& client, Publisher& publisher, const SendArgs& args) {
  // Our own stdin buffer, so in_avail() tells whether the next line would block: publishes are
  // batched while input is pouring in and flushed as soon as it pauses (a person typing).
  std::ios::sync_with_stdio(false);
  std::string line;
  for (;;) {
    if (std::cin.rdbuf()->in_avail() <= 0) client.flush(timeout_of(args.connect));
    if (!std::getline(std::cin, line)) break;
    publisher.publish(line);
  }
}

}  // namespace

CLI::App* add_send_command(CLI::App& app, SendArgs& args) {
  auto* command = app.add_subcommand("send", "Publish messages to a channel");
  command->footer(
      "What is sent:\n"
      "  --data TEXT   that one message\n"
      "  --count N     N generated messages: 1, 2, ... zero-padded to --size bytes,\n"
      "                --interval seconds apart\n"
      "  (neither)     each line of stdin, without its newline, is one message\n"
      "Exits 0 once the broker has processed every message, 1 with the reason on stderr\n"
      "if it refused one (e.g. ERR 3 bad_channel) or could not be reached.\n"
      "While the broker holds a message back because the backlog of a /queue is full, send\n"
      "waits, and says so on stderr: `blocked channel=C`, then `unblocked channel=C`.\n"
      "--header and --ttl need a broker that speaks PB1 version 2; an older one makes send\n"
      "exit 1 rather than publish without them.");
  command
      ->add_option("-c,--channel", args.channel, "Channel to publish to: /topic/... or /queue/...")
      ->type_name("CHANNEL")
      ->required();
  auto* data =
      command->add_option("-d,--data", args.data, "Publish this one message")->type_name("TEXT");
  auto* count =
      command->add_option("-n,--count", args.count, "Publish this many generated messages")
          ->type_name("N");
  command->add_option("-s,--size", args.size, "Bytes per generated message")
      ->type_name("BYTES")
      ->capture_default_str()
      ->needs(count);
  command
      ->add_option("-i,--interval", args.interval_seconds,
                   "Seconds between generated messages (0: as fast as possible)")
      ->type_name("SECONDS")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0).description(""))
      ->needs(count);
  data->excludes(count);
  command->add_flag("--confirm", args.confirm,
                    "Wait for the broker to confirm each message (publisher confirms)");
  command
      ->add_option_function<std::vector<std::string>>(
          "-H,--header",
          [&args](const std::vector<std::string>& texts) {
            for (const auto& text : texts) {
              auto header = parse_header(text);
              if (!header) {
                throw CLI::ValidationError(
                    "--header", "'" + text +
                                    "' is not KEY=VALUE with a KEY of printable ASCII without "
                                    "space or ':'");
              }
              args.headers.push_back(std::move(*header));
            }
          },
          "A header for every message, KEY=VALUE; repeat for several (kept in order, a KEY may "
          "repeat)")
      ->type_name("KEY=VALUE");
  add_duration_option(*command, "--ttl", args.ttl,
                      "On a /queue: how long each message may wait for a consumer before the "
                      "broker discards it (500ms, 5s, 1m; 0: forever)",
                      std::chrono::milliseconds(0), "0");
  args.connect.name = "paperboy-send";
  add_connect_options(*command, args.connect);
  command->callback([&args, data, count] {
    args.source = *data    ? SendArgs::Source::data
                  : *count ? SendArgs::Source::generated
                           : SendArgs::Source::stdin_lines;
  });
  return command;
}

int run_send(const SendArgs& args) {
  auto client = connect(args.connect, report_notice);
  Publisher publisher(client, args);
  switch (args.source) {
    case SendArgs::Source::data: publisher.publish(args.data); break;
    case SendArgs::Source::generated: send_generated(client, publisher, args); break;
    case SendArgs::Source::stdin_lines: send_lines(client, publisher, args); break;
  }
  publisher.finish();
  return 0;
}

}  // namespace paperboy::cli
