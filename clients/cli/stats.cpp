#include "stats.hpp"

#include <unistd.h>

#include <cstdio>
#include <thread>

#include "interrupts.hpp"
#include "option_values.hpp"
#include "output_format.hpp"
#include "stats_view.hpp"

namespace paperboy::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Sleeps for `duration`, or less when Ctrl-C comes: the slices bound how late it is noticed.
void sleep_unless_interrupted(std::chrono::milliseconds duration) {
  const auto until = Clock::now() + duration;
  while (!interrupted()) {
    const auto left = until - Clock::now();
    if (left <= Clock::duration::zero()) return;
    std::this_thread::sleep_for(std::min<Clock::duration>(left, std::chrono::milliseconds(50)));
  }
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// How one refresh starts: on a terminal the screen is cleared (top-like); in a pipe or a file
// the views follow one another, a blank line apart.
class Screen {
 public:
  explicit Screen(bool watch) : clear_(watch && isatty(STDOUT_FILENO) == 1) {}

  void show(const std::string& view) {
    if (clear_) {
      write_stdout("\x1b[H\x1b[2J" + view);
    } else {
      write_stdout(shown_any_ ? "\n" + view : view);
    }
    shown_any_ = true;
  }

 private:
  bool clear_;
  bool shown_any_ = false;
};

bool more_refreshes(const StatsArgs& args, std::uint64_t shown) {
  if (interrupted()) return false;
  if (!args.watch) return shown == 0;
  return args.count == 0 || shown < args.count;
}

int show_documents(const StatsArgs& args, AdminHttp& http) {
  for (std::uint64_t shown = 0; more_refreshes(args, shown); ++shown) {
    if (shown > 0) sleep_unless_interrupted(args.interval);
    if (interrupted()) break;
    write_stdout(http.stats(true).dump() + "\n");
  }
  return 0;
}

int show_views(const StatsArgs& args, AdminHttp& http) {
  Screen screen(args.watch);
  auto before = http.stats(true);
  auto before_at = Clock::now();
  for (std::uint64_t shown = 0; more_refreshes(args, shown); ++shown) {
    sleep_unless_interrupted(args.interval);
    if (interrupted()) break;
    auto after = http.stats(true);
    const auto after_at = Clock::now();
    const auto rates = rates_between(before, after, seconds_between(before_at, after_at));
    screen.show(render_stats(after, rates, args.top));
    before = std::move(after);
    before_at = after_at;
  }
  return 0;
}

}  // namespace

CLI::App* add_stats_command(CLI::App& app, StatsArgs& args) {
  auto* command = app.add_subcommand(
      "stats",
      "Show the daemon's traffic, busiest channels, slow consumers and blocked publishers");
  command->footer(
      "Reads GET /stats from paperboyd's HTTP listener (start it with paperboyd --http).\n"
      "Rates are the difference of two samples --watch's interval apart (1 s by default),\n"
      "per second. Channels are ranked by messages published per second; CONSUMERS counts a\n"
      "queue's consumers or a topic's subscribers; DEPTH is what waits in a queue, UNACKED\n"
      "what its consumers hold unacknowledged. A connection is slow when its send queue is at\n"
      "the cap, blocked when its publishes wait for room in a queue.\n"
      "--watch refreshes until Ctrl-C (or --count refreshes): on a terminal it redraws the\n"
      "screen, otherwise the views follow one another a blank line apart.\n"
      "--json prints the /stats document as the daemon gives it (one sample, no rates), one\n"
      "line per refresh with --watch.");
  command
      ->add_option_function<std::string>(
          "-w,--watch",
          [&args](const std::string& text) {
            args.watch = true;
            if (text.empty()) return;
            const auto interval = parse_duration(text);
            if (!interval || *interval < std::chrono::milliseconds(100)) {
              throw CLI::ValidationError("--watch", "'" + text +
                                                        "' is not an interval of at least 0.1 s "
                                                        "(seconds, or 500ms, 2s, 1m)");
            }
            args.interval = *interval;
          },
          "Refresh every SECONDS (default 1) until Ctrl-C")
      ->type_name("[SECONDS]")
      ->expected(0, 1);
  command
      ->add_option("-n,--count", args.count,
                   "With --watch, exit after this many refreshes (0: never); alone, it implies "
                   "--watch")
      ->type_name("N")
      ->capture_default_str();
  command->add_flag("--json", args.json, "Print the daemon's /stats JSON document instead");
  command
      ->add_option("--top", args.top, "How many channels (and slow or blocked connections) to show")
      ->type_name("N")
      ->capture_default_str()
      ->check(CLI::PositiveNumber.description(""));
  add_http_option(*command, args.http);
  command->callback([&args] {
    if (args.count > 0) args.watch = true;
  });
  return command;
}

int run_stats(const StatsArgs& args) {
  AdminHttp http(args.http.address);
  catch_interrupts();
  try {
    return args.json ? show_documents(args, http) : show_views(args, http);
  } catch (const std::exception&) {
    // Ctrl-C during a request cuts it short: that is the end the operator asked for.
    if (interrupted()) return 0;
    throw;
  }
}

}  // namespace paperboy::cli
