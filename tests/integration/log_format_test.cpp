// paperboyd --log-format json: every line of the log is one JSON object ({"ts", "level", "event",
// "msg"}), also when a client puts quotes, backslashes, control characters and bytes that are not
// UTF-8 into what gets logged. Checked with Python's json module, a parser that is not ours.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "checks.hpp"
#include "command.hpp"
#include "config_file.hpp"
#include "conn.hpp"
#include "daemon.hpp"

using namespace paperboy::itest;

#ifndef PAPERBOY_PYTHON3
#error "PAPERBOY_PYTHON3 must name a Python 3 interpreter"
#endif

namespace {

// Reads the log as strict UTF-8, parses each line as JSON and prints `event<TAB>msg` lines as
// JSON strings; exits non-zero on the first line that is not an object with exactly our keys.
constexpr const char* parse_every_line = R"(
import json, sys
text = open(sys.argv[1], 'rb').read().decode('utf-8')
assert text.endswith('\n'), 'the log does not end with a newline'
for number, line in enumerate(text.split('\n')[:-1], 1):
    record = json.loads(line)
    assert isinstance(record, dict) and sorted(record) == ['event', 'level', 'msg', 'ts'], (number, line)
    assert record['msg'].split(' ')[0] == record['event'], (number, line)
    assert record['ts'].endswith('Z') and 'T' in record['ts'], (number, line)
    print(json.dumps([record['level'], record['event'], record['msg']]))
)";

}  // namespace

TEST_CASE("log format: --log-format json writes one valid JSON object a line") {
  std::string log;
  {
    Daemon daemon({"--log-format", "json", "--log-level", "debug"});
    INFO(daemon.log_tail());
    Conn client(daemon.port(), "odd-name");
    // Logged quoted as the client's name: quote, backslash, tab, newline, a byte that is not
    // UTF-8, and a two-byte UTF-8 letter.
    client.hello("say \"hi\\\t\n\xff\xc3\xa9");
    client.ping_pong();
    check_serves(daemon.port());
    expect_clean_exit(daemon);
    log = daemon.log();
  }
  const TempDir dir;
  replace_file(dir.path() / "paperboyd.log", log);
  const Run parsed = run_to_end(
      {PAPERBOY_PYTHON3, "-c", parse_every_line, (dir.path() / "paperboyd.log").string()});
  INFO(log);
  REQUIRE_MESSAGE(parsed.status.clean(), parsed.err);
  const auto lines = static_cast<std::size_t>(std::count(log.begin(), log.end(), '\n'));
  CHECK(static_cast<std::size_t>(std::count(parsed.out.begin(), parsed.out.end(), '\n')) == lines);
  CHECK(lines >= 4);
  CHECK(parsed.out.find(R"(["info", "server.listening", "server.listening address=127.0.0.1)") !=
        std::string::npos);
  CHECK(parsed.out.find(R"(["info", "session.hello", ")") != std::string::npos);
  CHECK(parsed.out.find(R"(["info", "server.stopped")") != std::string::npos);
}

TEST_CASE("log format: text stays the default, and a bad format is refused naming the flag") {
  const Run bad = run_paperboyd({"--log-format", "xml", "--check-config"});
  CHECK(bad.status.code() == 2);
  CHECK_MESSAGE(bad.err.find("--log-format") != std::string::npos, bad.err);
  Daemon daemon;
  INFO(daemon.log_tail());
  CHECK(daemon.log().find("info server.listening") != std::string::npos);
  expect_clean_exit(daemon);
}
