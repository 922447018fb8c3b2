// paperboyd --config FILE: settings from a TOML file under the flags' long names, flags on the
// command line override it, --check-config validates (exit 0, or 2 naming the key and its line),
// and the shipped example (systemd/paperboyd.toml) stays valid and complete.
#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "checks.hpp"
#include "command.hpp"
#include "config_file.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "payloads.hpp"

using namespace paperboy::itest;

#ifndef PAPERBOY_EXAMPLE_CONFIG
#error "PAPERBOY_EXAMPLE_CONFIG must name systemd/paperboyd.toml"
#endif

namespace {

Run check_config(const std::string& path) {
  return run_paperboyd({"--config", path, "--check-config"});
}

/// A subscriber on `channel` gets a `size`-byte PUB from a fresh publisher (OK, then MSG).
void check_publish_accepted(std::uint16_t port, std::size_t size) {
  const std::string channel = "/topic/sized";
  Conn subscriber(port, "subscriber");
  subscriber.hello();
  subscriber.subscribe(channel);
  Conn publisher(port, "publisher");
  publisher.hello();
  publisher.pub(channel, numbered_payload(0, size), 1);
  publisher.expect_ok(1);
  subscriber.expect_msg(channel, numbered_payload(0, size));
}

/// A `size`-byte PUB from a fresh publisher gets ERR 2 and the connection is closed.
void check_publish_refused(std::uint16_t port, std::size_t size) {
  Conn publisher(port, "publisher");
  publisher.hello();
  publisher.pub("/topic/sized", numbered_payload(1, size), 7);
  publisher.expect_err_and_close(7, 2);
}

}  // namespace

TEST_CASE("config file: its values take effect") {
  const ConfigFile file(
      "# a small broker\nmax-payload = 1024  # bytes\nslow-consumer = \"drop\"\n");
  Daemon daemon({"--config", file.arg()});
  INFO(daemon.log_tail());
  check_publish_accepted(daemon.port(), 1024);
  check_publish_refused(daemon.port(), 1025);
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("config file: a flag on the command line overrides it, before or after --config") {
  const ConfigFile file("max-payload = 1024\n");
  for (const bool flag_first : {true, false}) {
    CAPTURE(flag_first);
    std::vector<std::string> flags{"--config", file.arg()};
    flags.insert(flag_first ? flags.begin() : flags.end(), {"--max-payload", "4096"});
    Daemon daemon(flags);
    INFO(daemon.log_tail());
    check_publish_accepted(daemon.port(), 4096);
    check_publish_refused(daemon.port(), 4097);
    expect_clean_exit(daemon);
  }
}

TEST_CASE("config file: the port comes from the file when no flag gives one") {
  // Daemon always passes --port, so this runs paperboyd directly on a port from the file and
  // checks --check-config reports nothing while the real start logs the file's port.
  const ConfigFile file("port = 0\nbind = \"127.0.0.1\"\nshutdown-grace = 0.25\n");
  Command daemon({PAPERBOYD_PATH, "--config", file.arg()});
  static const std::regex listening(R"(server\.listening address=127\.0\.0\.1 port=(\d+))");
  std::string log;  // outlives the match, which points into it
  std::smatch port;
  REQUIRE(wait_until([&] { return std::regex_search(log = daemon.err(), port, listening); },
                     daemon_start_timeout));
  check_serves(static_cast<std::uint16_t>(std::stoul(port[1].str())));
}

TEST_CASE("config file: --check-config on a good file exits 0 without starting") {
  const ConfigFile file(
      "max-payload = 2048\nlog-level = \"debug\"\nslow-consumer = \"disconnect\"\n");
  const Run run = check_config(file.arg());
  CHECK_MESSAGE(run.status.clean(), run.status.describe() << "\n" << run.err);
  CHECK(run.err.find("server.listening") == std::string::npos);
}

TEST_CASE("config file: --check-config on a bad file exits 2 naming the key and its line") {
  struct Bad {
    std::string what;
    std::string text;
    std::vector<std::string> said;  // each must be in the error
  };
  const std::vector<Bad> bads{
      {"unknown key",
       "max-payload = 2048\n\n# comment\nmax-paylod = 3\n",
       {":4: unknown key \"max-paylod\""}},
      {"bad value",
       "port = 25000\nmax-payload = 0\n",
       {":2: --max-payload: must be a number from 1 to 268435456, got \"0\""}},
      {"bad choice", "slow-consumer = \"maybe\"\n", {":1: --slow-consumer", "maybe"}},
      {"not TOML",
       "port = 25000\n<html><body>oops</body></html>\n",
       {":2: unknown key \"<html><body>oops</body></html>\""}},
      {"a section no setting lives in",
       "[server]\nport = 1\n",
       {":2: unknown key \"server.port\""}},
      {"a setting given twice", "max-payload = 1024\nmax-payload = 2048\n", {"--max-payload"}},
      {"a command-line-only flag", "check-config = true\n", {"check-config"}},
  };
  for (const Bad& bad : bads) {
    CAPTURE(bad.what);
    const ConfigFile file(bad.text);
    const Run run = check_config(file.arg());
    CHECK_MESSAGE(run.status.exited(), run.status.describe());
    CHECK(run.status.code() == 2);
    for (const std::string& text : bad.said) {
      CHECK_MESSAGE(run.err.find(text) != std::string::npos, text << " not in: " << run.err);
    }
    // A daemon started with the same file refuses to start the same way.
    const Run start = run_paperboyd({"--port", "0", "--config", file.arg()});
    CHECK(start.status.code() == 2);
    CHECK(start.err.find("server.listening") == std::string::npos);
  }
  const Run missing = check_config("/nonexistent/paperboyd.toml");
  CHECK(missing.status.code() == 2);
  CHECK_MESSAGE(missing.err.find("/nonexistent/paperboyd.toml") != std::string::npos, missing.err);
}

TEST_CASE("config file: the shipped example is valid, also with every setting uncommented") {
  const std::string example = read_text(PAPERBOY_EXAMPLE_CONFIG);
  REQUIRE(!example.empty());
  const Run as_shipped = check_config(PAPERBOY_EXAMPLE_CONFIG);
  CHECK_MESSAGE(as_shipped.status.clean(), as_shipped.err);

  // Each setting is shown as `# key = default`: uncommented, they must all be accepted.
  static const std::regex setting(R"(^# ([a-z0-9-]+) = .*$)");
  std::istringstream lines(example);
  std::string uncommented;
  std::set<std::string> keys;
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, setting)) {
      keys.insert(m[1].str());
      uncommented += line.substr(2) + "\n";
    }
  }
  const ConfigFile file(uncommented);
  const Run all_set = check_config(file.arg());
  CHECK_MESSAGE(all_set.status.clean(), all_set.err << "\n" << uncommented);

  // ...and every flag --help lists that is a setting must be among them.
  const Run help = run_paperboyd({"--help"});
  static const std::regex flag(R"(\n  --([a-z0-9-]+))");
  std::size_t flags_seen = 0;
  for (std::sregex_iterator it(help.out.begin(), help.out.end(), flag), end; it != end; ++it) {
    const std::string name = (*it)[1].str();
    if (name == "config" || name == "check-config" || name == "version") continue;
    ++flags_seen;
    CHECK_MESSAGE(keys.count(name) == 1, "--" << name << " is not in the example config");
  }
  CHECK(flags_seen >= 20);
}
