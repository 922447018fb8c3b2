// The prototype's own Python clients (pb0_prototype/, stdlib asyncio only) against paperboyd:
// listener.py subscribes once and prints what it gets, sender.py subscribes to /null and sends
// pairs. The listener must print exactly the messages sent.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "checks.hpp"
#include "child_process.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "temp_dir.hpp"

using namespace paperboy::itest;

namespace {

constexpr auto script_timeout = std::chrono::seconds(30);

std::string expected_lines(std::size_t count, std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    std::string line = "message " + std::to_string(i);
    if (line.size() < size) line.append(size - line.size(), '.');
    out += line + "\n";
  }
  return out;
}

// These tests need python3: without it they fail (a pass would claim PB0 compatibility unchecked).
void require_python3() {
  const std::filesystem::path python = PAPERBOY_PYTHON3;
  REQUIRE_MESSAGE((!python.empty() && std::filesystem::exists(python)),
                  "python3 is needed to run the prototype's clients and was not found ("
                      << (python.empty() ? "when configuring" : python.string())
                      << "): install it (scripts/setup-debian.sh) and reconfigure");
}

// One run of a prototype script, with its output in `dir`.
class Script {
 public:
  Script(const TempDir& dir, std::string name, std::vector<std::string> args)
      : out_(dir.path() / (name + ".out")),
        err_(dir.path() / (name + ".err")),
        process_(argv(name, std::move(args)), out_, err_) {}

  std::string out() const { return read_text(out_); }
  std::string err() const { return read_text(err_); }

  // Waits for the script to finish; it must exit 0.
  void expect_success(const std::string& what) {
    const auto status = process_.wait_for(script_timeout);
    REQUIRE_MESSAGE(status.has_value(), what << " still runs after " << script_timeout.count()
                                             << " s; stdout:\n"
                                             << out() << "stderr:\n"
                                             << err());
    CHECK_MESSAGE(status->clean(), what << " ended with " << status->describe() << "; stderr:\n"
                                        << err());
  }

 private:
  static std::vector<std::string> argv(const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> out{PAPERBOY_PYTHON3, "-u",
                                 std::string(PAPERBOY_PB0_PROTOTYPE_DIR) + "/" + name + ".py"};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }

  std::filesystem::path out_;
  std::filesystem::path err_;
  ChildProcess process_;
};

}  // namespace

TEST_CASE("python prototype: listener.py prints exactly what sender.py sent through a queue") {
  require_python3();
  // A queue keeps what is sent before the listener subscribes, so the two scripts may start in
  // any order and nothing is timing-dependent.
  constexpr std::size_t n = 500;
  Daemon daemon({"--channel-backlog", "10000"});
  INFO(daemon.log_tail());
  const std::string port = std::to_string(daemon.port());
  TempDir dir;
  Script sender(dir, "sender",
                {"/queue/prototype", "--port", port, "--count", std::to_string(n), "--size", "40"});
  Script listener(dir, "listener",
                  {"/queue/prototype", "--port", port, "--count", std::to_string(n)});
  sender.expect_success("sender.py");
  listener.expect_success("listener.py");
  CHECK(listener.out() == expected_lines(n, 40));
  check_serves(daemon.port());
  expect_clean_exit(daemon);
}

TEST_CASE("python prototype: listener.py on a topic gets every message sender.py sends") {
  require_python3();
  constexpr std::size_t n = 300;
  const std::string channel = "/topic/prototype";
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string port = std::to_string(daemon.port());
  TempDir dir;
  Script listener(dir, "listener", {channel, "--port", port, "--count", std::to_string(n + 1)});

  // A topic keeps nothing for later subscribers: make sure the listener's subscription is in
  // effect before the sender starts. It has sent its subscription when it says so; one PB1
  // round trip later the daemon has read it, and one message then must reach the listener.
  REQUIRE_MESSAGE(wait_until([&] { return listener.err().find("subscribed") != std::string::npos; },
                             script_timeout),
                  "listener.py did not subscribe; stderr:\n"
                      << listener.err());
  Conn publisher(daemon.port(), "pb1-publisher");
  publisher.hello();
  publisher.ping_pong();
  publisher.publish(channel, "ready");
  REQUIRE_MESSAGE(wait_until([&] { return listener.out() == "ready\n"; }),
                  "listener.py printed " << printable(listener.out()) << " for the first message");

  Script sender(dir, "sender", {channel, "--port", port, "--count", std::to_string(n)});
  sender.expect_success("sender.py");
  listener.expect_success("listener.py");
  CHECK(listener.out() == "ready\n" + expected_lines(n, 0));
  expect_clean_exit(daemon);
}
