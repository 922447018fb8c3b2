// Start-up of the real binaries: flags are range-checked (exit 2, the error names the flag and
// its range), --version, --help that reads like a manual, bind errors that name the address,
// SIGHUP harmless without a config file, --max-connections fitted to the open-file limit, the CLI's
// unknown subcommand.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "checks.hpp"
#include "command.hpp"
#include "conn.hpp"
#include "daemon.hpp"

using namespace paperboy::itest;

#ifndef PAPERBOY_VERSION
#error "PAPERBOY_VERSION must be the CMake project version"
#endif

TEST_CASE("startup: a numeric flag out of its range stops paperboyd with exit 2, naming it") {
  struct Bad {
    const char* flag;
    const char* value;
    const char* range;
  };
  // The first three overflowed inside the daemon before they were checked.
  for (const Bad& bad :
       {Bad{"--client-queue-bytes", "9223372036854775808", "1 to 1099511627776"},
        Bad{"--frame-timeout", "1e300", "0.001 to 86400"},
        Bad{"--shutdown-grace", "1e10", "0 to 3600"}, Bad{"--shutdown-grace", "nan", "0 to 3600"},
        Bad{"--port", "70000", "0 to 65535"}, Bad{"--max-prefetch", "0", "1 to 65535"},
        Bad{"--channel-backlog", "-1", "1 to 1000000000"},
        Bad{"--max-connections", "many", "1 to 10000000"}}) {
    CAPTURE(bad.flag);
    CAPTURE(bad.value);
    const Run run = run_paperboyd({"--port", "0", bad.flag, bad.value});
    CHECK_MESSAGE(run.status.exited(), run.status.describe());
    CHECK(run.status.code() == 2);
    CHECK_MESSAGE(run.err.find(bad.flag) != std::string::npos, run.err);
    CHECK_MESSAGE(run.err.find(bad.range) != std::string::npos, run.err);
    CHECK(run.err.find("server.listening") == std::string::npos);
  }
}

TEST_CASE("startup: paperboyd --version and --help") {
  const Run version = run_paperboyd({"--version"});
  CHECK(version.status.clean());
  CHECK(version.out == "paperboyd " PAPERBOY_VERSION "\n");

  const Run help = run_paperboyd({"--help"});
  CHECK(help.status.clean());
  for (const char* text : {"Network:", "Limits:", "Queues:", "Timing:", "Logging:",
                           "--client-queue-bytes BYTES=8388608", "--frame-timeout SECONDS=10",
                           "--slow-consumer drop|disconnect=drop", "SIGHUP"}) {
    CHECK_MESSAGE(help.out.find(text) != std::string::npos, text << " not in:\n" << help.out);
  }
  CHECK_MESSAGE(help.out.find("->") == std::string::npos, "parser internals in:\n" << help.out);
}

TEST_CASE("startup: a port in use is an error naming the address and port, exit 1") {
  Daemon holder;
  INFO(holder.log_tail());
  const std::string port = std::to_string(holder.port());
  const Run run = run_paperboyd({"--bind", "127.0.0.1", "--port", port});
  CHECK_MESSAGE(run.status.exited(), run.status.describe());
  CHECK(run.status.code() == 1);
  CHECK_MESSAGE(
      run.err.find("bind 127.0.0.1:" + port + ": Address already in use") != std::string::npos,
      run.err);
  check_serves(holder.port());
}

TEST_CASE("startup: SIGHUP without --config reloads nothing, the daemon keeps serving") {
  Daemon daemon;
  INFO(daemon.log_tail());
  Conn client(daemon.port(), "before-hup");
  client.hello();
  daemon.signal(SIGHUP);
  REQUIRE(
      wait_until([&] { return daemon.log_count("config.reloaded file=\"\" changed=none") == 1; }));
  client.ping_pong();
  check_serves(daemon.port());
  CHECK(daemon.running());
  expect_clean_exit(daemon);
}

TEST_CASE(
    "startup: --max-connections above the open-file limit is lowered, the client past it gets "
    "ERR 7 instead of a hang") {
  // The shell sets soft and hard limit to 256: nothing to raise, so the daemon must fit.
  constexpr std::size_t nofile = 256;
  Command daemon({"/bin/sh", "-c", "ulimit -n " + std::to_string(nofile) + " && exec \"$@\"", "sh",
                  PAPERBOYD_PATH, "--bind", "127.0.0.1", "--port", "0", "--max-connections",
                  "100000"});
  auto log = [&] { return daemon.err(); };
  std::uint16_t port = 0;
  REQUIRE_MESSAGE(wait_until(
                      [&] {
                        const std::string text = log();
                        const auto at = text.find("server.listening");
                        const auto p = text.find(" port=", at == std::string::npos ? 0 : at);
                        if (at == std::string::npos || p == std::string::npos) return false;
                        port = static_cast<std::uint16_t>(std::stoul(text.substr(p + 6)));
                        return true;
                      },
                      daemon_start_timeout),
                  log());
  const std::string text = log();
  const auto lowered = text.find("server.max_connections_lowered requested=100000 allowed=");
  REQUIRE_MESSAGE(lowered != std::string::npos, text);
  const std::size_t allowed = std::stoul(text.substr(text.find("allowed=", lowered) + 8));
  CHECK(allowed < nofile);
  CHECK(allowed >= nofile / 2);

  std::vector<std::unique_ptr<Conn>> clients;
  for (std::size_t i = 0; i < allowed; ++i) {
    clients.push_back(std::make_unique<Conn>(port, "client-" + std::to_string(i)));
    clients.back()->hello();
  }
  Conn extra(port, "one-too-many");
  extra.send_hello();
  extra.expect_err_and_close(0, 7);
  clients.front()->ping_pong();  // still serving those it admitted
  CHECK_MESSAGE(log().find("accept_failed") == std::string::npos, log());
}

#ifdef PAPERBOY_CLI_PATH
TEST_CASE("startup: paperboy --version, and an unknown subcommand is named (exit 2)") {
  const Run version = run_to_end({PAPERBOY_CLI_PATH, "--version"});
  CHECK(version.status.clean());
  CHECK(version.out == "paperboy " PAPERBOY_VERSION "\n");

  const Run bogus = run_to_end({PAPERBOY_CLI_PATH, "bogus"});
  CHECK_MESSAGE(bogus.status.exited(), bogus.status.describe());
  CHECK(bogus.status.code() == 2);
  CHECK_MESSAGE(bogus.err.find("unknown subcommand: bogus") != std::string::npos, bogus.err);
}
#endif
