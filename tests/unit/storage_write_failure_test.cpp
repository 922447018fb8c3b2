// A disk that refuses writes: the batch fails with the error, accepting() turns false, nothing
// confirmed is lost, and the writer retries until the disk takes the bytes again. Two ways in:
// a hook in the writer's write call (deterministic, a half-written batch included), and a real
// EFBIG from the kernel (RLIMIT_FSIZE, SIGXFSZ ignored) in a forked child.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "storage_support.hpp"

using namespace paperboy::broker::storage;
using namespace paperboy::broker::storage::testing;

namespace {

std::vector<std::string> frames_of(const RecoveryReport& report) {
  std::vector<std::string> frames;
  for (const auto& message : report.messages) frames.push_back(message.frame);
  return frames;
}

bool failed_through(const JournalOnLoop& loop, std::uint64_t batch) {
  return !loop.commits.empty() && loop.commits.back().error &&
         loop.commits.back().failed_through >= batch;
}

}  // namespace

TEST_CASE("storage: a refused write fails its batch, stops accepting, and heals by itself") {
  TempDir dir;
  std::atomic<bool> refuse{false};
  std::atomic<int> refusals{0};
  auto options = options_in(dir.path());
  options.hooks.before_write = [&](std::size_t& length) -> std::error_code {
    if (!refuse) return {};
    ++refusals;
    length /= 2;  // half of it lands, then the disk is full
    return std::make_error_code(std::errc::no_space_on_device);
  };
  JournalOnLoop loop(options);
  loop.journal->append_enqueue("/queue/q", "confirmed", 0, 0);
  loop.commit();
  CHECK(loop.journal->accepting());

  refuse = true;
  const std::uint64_t refused_batch = loop.journal->open_batch();
  loop.journal->append_enqueue("/queue/q", "refused at first", 0, 0);
  REQUIRE(loop.run_until([&] { return failed_through(loop, refused_batch); }));
  CHECK(loop.commits.back().error == std::errc::no_space_on_device);
  CHECK(loop.commits.back().durable_through < refused_batch);
  CHECK_FALSE(loop.journal->accepting());
  CHECK_FALSE(loop.journal->stats().accepting);

  // Appends go on while the disk refuses; the writer keeps retrying, and keeps failing.
  const std::uint64_t later_batch = loop.journal->open_batch();
  loop.journal->append_enqueue("/queue/q", "appended while failing", 0, 0);
  const int before = refusals;
  REQUIRE(loop.run_until([&] { return refusals >= before + 3; }));
  CHECK_FALSE(loop.journal->accepting());
  CHECK(loop.journal->stats().write_failures >= 3);

  refuse = false;
  REQUIRE(loop.run_until([&] { return loop.journal->accepting(); }));
  CHECK(loop.durable_through >= later_batch);
  CHECK_FALSE(loop.commits.back().error);

  loop.open(options_in(dir.path()));
  const auto report = loop.journal->take_recovery();
  CHECK(frames_of(report) ==
        std::vector<std::string>{"confirmed", "refused at first", "appended while failing"});
  CHECK(report.torn_tail_bytes == 0);  // the half-written batch was cut back before the retry
}

TEST_CASE("storage: a file size limit (EFBIG) refuses writes until it is lifted") {
  TempDir dir;
  const std::string payload(1000, 'x');
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child reports by exit status only: doctest's checks belong to the parent.
    int status = 0;
    try {
      ::signal(SIGXFSZ, SIG_IGN);
      rlimit limit{};
      ::getrlimit(RLIMIT_FSIZE, &limit);
      const rlimit small{8 * 1024, limit.rlim_max};
      JournalOnLoop loop(options_in(dir.path()));
      loop.journal->append_enqueue("/queue/q", payload, 0, 0);
      loop.commit();
      ::setrlimit(RLIMIT_FSIZE, &small);
      const std::uint64_t batch = loop.journal->open_batch();
      for (int i = 0; i < 20; ++i) loop.journal->append_enqueue("/queue/q", payload, 0, 0);
      if (!loop.run_until([&] { return failed_through(loop, batch); })) status |= 1;
      if (loop.commits.back().error != std::errc::file_too_large) status |= 2;
      if (loop.journal->accepting()) status |= 4;
      ::setrlimit(RLIMIT_FSIZE, &limit);
      if (!loop.run_until([&] { return loop.journal->accepting(); })) status |= 8;
      if (loop.durable_through < batch) status |= 16;
    } catch (...) {
      status |= 32;
    }
    ::_exit(status);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  JournalOnLoop loop(options_in(dir.path()));
  const auto report = loop.journal->take_recovery();
  CHECK(report.messages.size() == 21);
  CHECK(report.torn_tail_bytes == 0);
}
