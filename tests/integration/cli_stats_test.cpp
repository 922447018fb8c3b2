// `paperboy stats`, `paperboy queues` and `paperboy queue purge` run as processes against the
// real daemon's HTTP listener (paperboyd --http 127.0.0.1:0), over a state the test sets up and
// knows exactly: 25 messages waiting in /queue/jobs, a consumer holding 3 unacked deliveries of
// /queue/work, and two subscribers of /topic/news that each received 2 messages.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "checks.hpp"
#include "command.hpp"
#include "daemon.hpp"
#include "paperboy/client/client.hpp"

#ifndef PAPERBOY_CLI_PATH
#error "PAPERBOY_CLI_PATH must name the paperboy binary under test"
#endif
#ifndef PAPERBOY_VERSION
#error "PAPERBOY_VERSION must be the project version"
#endif

using namespace paperboy::itest;
namespace pc = paperboy::client;
using nlohmann::json;

namespace {

constexpr std::uint64_t jobs_waiting = 25;
constexpr std::uint64_t work_unacked = 3;
constexpr std::uint64_t news_published = 2;

// The port of the `http.listening address=... port=N` line, once the daemon logged it.
std::uint16_t http_port(const Daemon& daemon) {
  static const std::regex line(R"(http\.listening[^\n]*\bport=(\d+))");
  return logged_port(daemon, line);
}

pc::Client connect_as(const Daemon& daemon, const std::string& name) {
  pc::ConnectOptions options;
  options.client_name = name;
  pc::Client client;
  client.connect("127.0.0.1", daemon.port(), options);
  return client;
}

// The next `count` messages `client` receives (the test fails if they do not come in time).
std::vector<pc::Message> receive(pc::Client& client, std::size_t count) {
  std::vector<pc::Message> messages;
  const Deadline deadline(default_timeout);
  while (messages.size() < count && !deadline.expired()) {
    auto event = client.next(deadline.remaining());
    if (!event) continue;
    if (auto* message = std::get_if<pc::Message>(&*event)) messages.push_back(std::move(*message));
  }
  REQUIRE(messages.size() == count);
  return messages;
}

// A daemon with its HTTP listener and the known state of this file's header comment.
struct KnownState {
  Daemon daemon{std::vector<std::string>{"--http", "127.0.0.1:0"}};
  std::string http = "127.0.0.1:" + std::to_string(http_port(daemon));
  pc::Client publisher = connect_as(daemon, "publisher");
  pc::Client worker = connect_as(daemon, "worker");
  pc::Client reader_a = connect_as(daemon, "reader-a");
  pc::Client reader_b = connect_as(daemon, "reader-b");

  KnownState() {
    // Confirmed publishes are in their queue when they return.
    for (std::uint64_t i = 0; i < jobs_waiting; ++i)
      publisher.publish_confirmed("/queue/jobs", "job");
    pc::SubscribeOptions manual;
    manual.manual_ack = true;
    manual.prefetch = 10;
    worker.subscribe("/queue/work", manual);
    for (std::uint64_t i = 0; i < work_unacked; ++i)
      publisher.publish_confirmed("/queue/work", "w");
    receive(worker, work_unacked);  // and never acked
    reader_a.subscribe("/topic/news");
    reader_b.subscribe("/topic/news");
    for (std::uint64_t i = 0; i < news_published; ++i)
      publisher.publish_confirmed("/topic/news", "n");
    receive(reader_a, news_published);
    receive(reader_b, news_published);
  }
};

Run run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), PAPERBOY_CLI_PATH);
  return run_to_end(args);
}

// `paperboy ... --http ADDRESS` with `answer` written to its stdin.
Run run_cli_answering(const std::string& answer, const std::vector<std::string>& args) {
  std::string line = "printf '" + answer + "\\n' | exec '" PAPERBOY_CLI_PATH "'";
  for (const auto& arg : args) line += " '" + arg + "'";
  return run_to_end({"/bin/sh", "-c", line});
}

json stats_document(const KnownState& state) {
  const Run run = run_cli({"stats", "--json", "--http", state.http});
  REQUIRE_MESSAGE(run.status.clean(), run.status.describe() << ": " << run.err);
  const auto document = json::parse(run.out, nullptr, false);
  REQUIRE_MESSAGE(document.is_object(), "not a JSON document: " << run.out);
  return document;
}

json queues_document(const KnownState& state) {
  const Run run = run_cli({"queues", "--json", "--http", state.http});
  REQUIRE_MESSAGE(run.status.clean(), run.status.describe() << ": " << run.err);
  const auto queues = json::parse(run.out, nullptr, false);
  REQUIRE_MESSAGE(queues.is_array(), "not a JSON array: " << run.out);
  return queues;
}

const json* channel_named(const json& channels, const std::string& name) {
  const auto found = std::find_if(channels.begin(), channels.end(),
                                  [&](const json& channel) { return channel["name"] == name; });
  return found != channels.end() ? &*found : nullptr;
}

std::vector<std::string> words_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// The words of every line of `text` whose first word is `first`.
std::vector<std::vector<std::string>> rows_of(const std::string& text, const std::string& first) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto words = words_of(line);
    if (!words.empty() && words.front() == first) rows.push_back(std::move(words));
  }
  return rows;
}

// A port with a bound socket that does not listen: connecting to it is refused for as long as
// this lives, and nothing else can take it meanwhile.
class RefusingPort {
 public:
  RefusingPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    auto* generic = reinterpret_cast<sockaddr*>(&address);
    REQUIRE(::bind(fd_, generic, length) == 0);
    REQUIRE(::getsockname(fd_, generic, &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

}  // namespace

TEST_CASE("cli stats: --json prints the daemon's document with the known state's values") {
  KnownState state;
  INFO(state.daemon.log_tail());
  const json document = stats_document(state);

  const json& server = document["server"];
  CHECK(server["version"] == PAPERBOY_VERSION);
  CHECK(server["server_id"].is_string());
  CHECK(server["uptime_seconds"].get<double>() >= 0);
  std::uint64_t open = 0;
  for (const auto& [protocol, count] : server["connections"].items())
    open += count.get<std::uint64_t>();
  CHECK(open == 4);
  CHECK(server["messages_in"] == jobs_waiting + work_unacked + news_published);
  CHECK(server["messages_out"] == work_unacked + 2 * news_published);
  CHECK(server["slow_consumers"] == 0);
  CHECK(server["blocked_publishers"] == 0);

  const json& channels = document["channels"];
  const json* jobs = channel_named(channels, "/queue/jobs");
  REQUIRE(jobs != nullptr);
  CHECK((*jobs)["kind"] == "queue");
  CHECK((*jobs)["published"] == jobs_waiting);
  CHECK((*jobs)["backlog_messages"] == jobs_waiting);
  CHECK((*jobs)["backlog_bytes"].get<std::uint64_t>() >= jobs_waiting * 3);
  CHECK((*jobs)["consumers"] == 0);
  CHECK((*jobs)["unacked"] == 0);
  CHECK((*jobs)["oldest_age_seconds"].get<double>() >= 0);
  const json* work = channel_named(channels, "/queue/work");
  REQUIRE(work != nullptr);
  CHECK((*work)["consumers"] == 1);
  CHECK((*work)["unacked"] == work_unacked);
  CHECK((*work)["backlog_messages"] == 0);
  CHECK((*work)["delivered"] == work_unacked);
  CHECK((*work)["oldest_age_seconds"].is_null());
  const json* news = channel_named(channels, "/topic/news");
  REQUIRE(news != nullptr);
  CHECK((*news)["kind"] == "topic");
  CHECK((*news)["consumers"] == 2);
  CHECK((*news)["published"] == news_published);
  CHECK((*news)["delivered"] == 2 * news_published);

  const json& connections = document["connections"];
  REQUIRE(connections.size() == 4);
  const auto worker = std::find_if(connections.begin(), connections.end(),
                                   [](const json& c) { return c["client_name"] == "worker"; });
  REQUIRE(worker != connections.end());
  CHECK((*worker)["unacked"] == work_unacked);
  CHECK((*worker)["subscriptions"] == json::array({"/queue/work"}));
  CHECK((*worker)["slow"] == false);
  check_serves(state.daemon.port());
  expect_clean_exit(state.daemon);
}

TEST_CASE("cli queues: a row per queue channel with its depth, consumers and unacked") {
  KnownState state;
  INFO(state.daemon.log_tail());
  const Run run = run_cli({"queues", "--http", state.http});
  REQUIRE_MESSAGE(run.status.clean(), run.status.describe() << ": " << run.err);
  INFO(run.out);
  CHECK(run.out.rfind("QUEUE", 0) == 0);
  // QUEUE DEPTH BYTES(a number and a unit) CONSUMERS UNACKED BLOCKED OLDEST DURABLE
  const auto jobs = rows_of(run.out, "/queue/jobs");
  REQUIRE(jobs.size() == 1);
  REQUIRE(jobs[0].size() == 9);
  // What the payloads take in bytes, and how old the first is by now, is the daemon's to say.
  CHECK(std::vector(jobs[0].begin(), jobs[0].begin() + 2) ==
        std::vector<std::string>{"/queue/jobs", "25"});
  CHECK(std::vector(jobs[0].begin() + 4, jobs[0].begin() + 7) ==
        std::vector<std::string>{"0", "0", "0"});
  CHECK(jobs[0][7].back() == 's');  // an age: 0.3s, 1m02s...
  CHECK(jobs[0][8] == "no");        // no --data-dir: nothing is durable
  const std::vector<std::string> work = {"/queue/work", "0", "0", "B", "1", "3", "0", "—", "no"};
  CHECK(rows_of(run.out, "/queue/work") == std::vector<std::vector<std::string>>{work});
  CHECK(rows_of(run.out, "/topic/news").empty());

  const json queues = queues_document(state);
  CHECK(queues.size() == 2);
  CHECK(channel_named(queues, "/topic/news") == nullptr);
  expect_clean_exit(state.daemon);
}

TEST_CASE(
    "cli stats: --count 2 --watch 0.2 prints two views with the channels, a blank line apart") {
  KnownState state;
  INFO(state.daemon.log_tail());
  const Run run = run_cli({"stats", "--count", "2", "--watch", "0.2", "--http", state.http});
  REQUIRE_MESSAGE(run.status.clean(), run.status.describe() << ": " << run.err);
  INFO(run.out);
  // Not a terminal: no escape sequences, the second view after a blank line.
  CHECK(run.out.find('\x1b') == std::string::npos);
  CHECK(rows_of(run.out, "paperboyd").size() == 2);
  CHECK(run.out.find("\n\npaperboyd ") != std::string::npos);
  CHECK(rows_of(run.out, "CHANNEL").size() == 2);
  // CHANNEL KIND IN/S OUT/S CONSUMERS DEPTH UNACKED; nothing is published meanwhile.
  const std::vector<std::string> jobs = {"/queue/jobs", "queue", "0", "0", "0", "25", "0"};
  const std::vector<std::string> work = {"/queue/work", "queue", "0", "0", "1", "0", "3"};
  const std::vector<std::string> news = {"/topic/news", "topic", "0", "0", "2", "—", "—"};
  CHECK(rows_of(run.out, "/queue/jobs") == std::vector{jobs, jobs});
  CHECK(rows_of(run.out, "/queue/work") == std::vector{work, work});
  CHECK(rows_of(run.out, "/topic/news") == std::vector{news, news});
  CHECK(run.out.find("slow consumers and blocked publishers: none") != std::string::npos);
  expect_clean_exit(state.daemon);
}

TEST_CASE("cli stats: --json --watch prints one document per line per refresh") {
  KnownState state;
  const Run run =
      run_cli({"stats", "--json", "--count", "3", "--watch", "0.1", "--http", state.http});
  REQUIRE_MESSAGE(run.status.clean(), run.status.describe() << ": " << run.err);
  std::istringstream lines(run.out);
  int documents = 0;
  for (std::string line; std::getline(lines, line); ++documents) {
    const auto document = json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(document.is_object(), line);
    CHECK(document["server"]["messages_in"] == jobs_waiting + work_unacked + news_published);
  }
  CHECK(documents == 3);
}

TEST_CASE("cli queue purge: 'n' or a closed stdin purges nothing; --yes purges every message") {
  KnownState state;
  INFO(state.daemon.log_tail());
  const auto depth_of_jobs = [&]() -> std::uint64_t {
    const json queues = queues_document(state);
    const json* jobs = channel_named(queues, "/queue/jobs");
    // A queue channel with no messages, consumers or blocked publishers is released.
    return jobs != nullptr ? (*jobs)["backlog_messages"].get<std::uint64_t>() : 0;
  };

  const Run declined =
      run_cli_answering("n", {"queue", "purge", "/queue/jobs", "--http", state.http});
  CHECK(declined.status.exited());
  CHECK(declined.status.code() == 1);
  CHECK(declined.err.find("Purge 25 messages from /queue/jobs? [y/N]") != std::string::npos);
  CHECK(declined.out.empty());
  CHECK(depth_of_jobs() == jobs_waiting);

  // Command's stdin is /dev/null: no answer at all.
  const Run unanswered = run_cli({"queue", "purge", "/queue/jobs", "--http", state.http});
  CHECK(unanswered.status.code() == 1);
  CHECK(depth_of_jobs() == jobs_waiting);

  const Run purged = run_cli({"queue", "purge", "/queue/jobs", "--yes", "--http", state.http});
  CHECK_MESSAGE(purged.status.clean(), purged.status.describe() << ": " << purged.err);
  CHECK(purged.out == "purged 25 messages from /queue/jobs\n");
  CHECK(depth_of_jobs() == 0);
  // The worker's unacked deliveries are not waiting messages: a purge leaves them be.
  const json queues = queues_document(state);
  const json* work = channel_named(queues, "/queue/work");
  REQUIRE(work != nullptr);
  CHECK((*work)["unacked"] == work_unacked);
  check_serves(state.daemon.port());
  expect_clean_exit(state.daemon);
}

TEST_CASE("cli queue purge: 'yes' on stdin purges") {
  KnownState state;
  const Run run = run_cli_answering("yes", {"queue", "purge", "/queue/jobs", "--http", state.http});
  CHECK_MESSAGE(run.status.clean(), run.status.describe() << ": " << run.err);
  CHECK(run.out == "purged 25 messages from /queue/jobs\n");
  CHECK(channel_named(queues_document(state), "/queue/jobs") == nullptr);
}

TEST_CASE("cli queue purge: an unknown queue exits 1 naming it, asked or not") {
  KnownState state;
  for (const bool yes : {false, true}) {
    CAPTURE(yes);
    std::vector<std::string> args = {"queue", "purge", "/queue/nope", "--http", state.http};
    if (yes) args.push_back("--yes");
    const Run run = run_cli(args);
    CHECK(run.status.exited());
    CHECK(run.status.code() == 1);
    CHECK(run.err == "paperboy: no queue channel named /queue/nope\n");
    CHECK(run.out.empty());
  }
  // A topic is not a queue either.
  const Run topic = run_cli({"queue", "purge", "/topic/news", "--yes", "--http", state.http});
  CHECK(topic.status.code() == 1);
  CHECK(topic.err.find("/topic/news") != std::string::npos);
  check_serves(state.daemon.port());
}

TEST_CASE("cli stats, queues, queue purge: no HTTP listener there is a clear error, exit 1") {
  const RefusingPort nobody;
  const std::string expected = "paperboy: cannot reach paperboyd's HTTP listener at " +
                               nobody.address() + " (is it started with --http?)\n";
  for (const std::vector<std::string>& args : {std::vector<std::string>{"stats"},
                                               {"stats", "--json"},
                                               {"queues"},
                                               {"queue", "purge", "/queue/jobs", "--yes"}}) {
    std::vector<std::string> with_address = args;
    with_address.insert(with_address.end(), {"--http", nobody.address()});
    CAPTURE(with_address);
    const Run run = run_cli(with_address);
    CHECK(run.status.exited());
    CHECK(run.status.code() == 1);
    CHECK(run.err == expected);
    CHECK(run.out.empty());
  }
  // PAPERBOY_HTTP stands in for --http.
  const Run from_environment = run_to_end(
      {"/usr/bin/env", "PAPERBOY_HTTP=" + nobody.address(), PAPERBOY_CLI_PATH, "queues"});
  CHECK(from_environment.status.code() == 1);
  CHECK(from_environment.err == expected);
}
