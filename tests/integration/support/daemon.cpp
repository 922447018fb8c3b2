#include "daemon.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>

#ifndef PAPERBOYD_PATH
#error "PAPERBOYD_PATH must name the paperboyd binary under test"
#endif

namespace paperboy::itest {
namespace {

// PAPERBOY_ITEST_WRAPPER (e.g. "strace -f -o /tmp/trace" or "valgrind") runs the daemon under a
// tool; words are split on spaces.
std::vector<std::string> wrapper_argv() {
  std::vector<std::string> words;
  const char* wrapper = std::getenv("PAPERBOY_ITEST_WRAPPER");
  std::istringstream in(wrapper != nullptr ? wrapper : "");
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// PAPERBOY_ITEST_DAEMON names another paperboyd binary to test instead of the one built here.
std::string daemon_path() {
  const char* path = std::getenv("PAPERBOY_ITEST_DAEMON");
  return path != nullptr && *path != '\0' ? path : PAPERBOYD_PATH;
}

std::vector<std::string> daemon_argv(std::vector<std::string> flags, std::uint16_t port) {
  std::vector<std::string> argv = wrapper_argv();
  argv.insert(argv.end(), {daemon_path(), "--port", std::to_string(port), "--bind", "127.0.0.1"});
  if (std::find(flags.begin(), flags.end(), "--shutdown-grace") == flags.end()) {
    argv.insert(argv.end(), {"--shutdown-grace", std::string(test_shutdown_grace)});
  }
  argv.insert(argv.end(), std::make_move_iterator(flags.begin()),
              std::make_move_iterator(flags.end()));
  return argv;
}

// The port from the `server.listening ... port=N` line, or 0 while there is none.
std::uint16_t listening_port(const std::string& log) {
  static const std::regex line(R"(server\.listening[^\n]*\bport=(\d+))");
  std::smatch m;
  if (!std::regex_search(log, m, line)) return 0;
  const unsigned long port = std::stoul(m[1].str());
  return port > 0 && port <= 65535 ? static_cast<std::uint16_t>(port) : 0;
}

}  // namespace

Daemon::Daemon(std::vector<std::string> flags, std::uint16_t port, const ChildOptions& options)
    : process_(daemon_argv(std::move(flags), port), dir_.path() / "stdout", dir_.path() / "stderr",
               options) {
  const bool listening =
      wait_until([this] { return (port_ = listening_port(log())) != 0 || !process_.running(); },
                 daemon_start_timeout, std::chrono::milliseconds(5));
  if (port_ == 0) {
    const std::string why = !process_.running()
                                ? "paperboyd exited (" + process_.status()->describe() + ")"
                            : listening ? "paperboyd logged no usable port"
                                        : "paperboyd did not log server.listening in time";
    FAIL(why << " before listening; its log:\n" << log_tail());
  }
}

Daemon::~Daemon() {
  if (process_.running()) stop(SIGTERM, default_timeout);
  // ~ChildProcess sends SIGKILL if it is still running.
}

std::uint16_t logged_port(const Daemon& daemon, const std::regex& line) {
  std::uint16_t port = 0;
  const bool logged = wait_until(
      [&] {
        std::smatch m;
        const std::string log = daemon.log();
        if (!std::regex_search(log, m, line)) return false;
        port = static_cast<std::uint16_t>(std::stoul(m[1].str()));
        return true;
      },
      daemon_start_timeout);
  REQUIRE_MESSAGE(logged, "paperboyd logged no such line:\n" << daemon.log_tail());
  return port;
}

Run run_paperboyd(std::vector<std::string> flags) {
  flags.insert(flags.begin(), daemon_path());
  return run_to_end(flags);
}

std::string Daemon::log() const {
  return read_text(dir_.path() / "stderr");
}

std::size_t Daemon::log_count(std::string_view text) const {
  const std::string all = log();
  std::size_t n = 0;
  for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size())) {
    ++n;
  }
  return n;
}

std::string Daemon::log_tail(std::size_t lines) const {
  const std::string all = log();
  std::size_t start = all.size();
  for (std::size_t seen = 0; start > 0 && seen <= lines;) {
    --start;
    if (all[start] == '\n' && start + 1 < all.size()) ++seen;
  }
  if (start > 0) ++start;
  return all.substr(start);
}

std::string Daemon::stdout_text() const {
  return read_text(dir_.path() / "stdout");
}

std::size_t Daemon::open_fds() const {
  std::size_t n = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid()) + "/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    ++n;
  }
  return n;
}

std::optional<ExitStatus> Daemon::stop(int sig, Duration timeout) {
  process_.signal(sig);
  return process_.wait_for(timeout);
}

std::optional<ExitStatus> Daemon::terminate(Duration timeout) {
  return stop(SIGTERM, timeout);
}

}  // namespace paperboy::itest
