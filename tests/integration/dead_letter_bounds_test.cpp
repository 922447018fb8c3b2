// A dead-letter channel is an ordinary queue: --channel-backlog, --channel-backlog-bytes and
// --max-queues bound it. A letter it has no room for is dropped, counted, and logged at most a
// line a second however many there are.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/messages.hpp"
#include "payloads.hpp"

using namespace paperboy::itest;

namespace {

// Publishes payloads [0, n) of `size` bytes to `channel` and NACKs each delivery, `window` at a
// time (at most the worker's prefetch, so nothing waits on the publisher's side), then makes
// sure every NACK has been handled.
void publish_and_nack(Conn& publisher, Conn& worker, std::string_view channel, std::size_t n,
                      std::size_t size, std::size_t window) {
  for (std::size_t from = 0; from < n; from += window) {
    const std::size_t to = std::min(n, from + window);
    for (std::size_t i = from; i < to; ++i) publisher.pub(channel, numbered_payload(i, size));
    for (std::size_t i = from; i < to; ++i) {
      CAPTURE(i);
      worker.nack(worker.expect_delivery(channel, numbered_payload(i, size), false)->delivery);
    }
  }
  worker.ping_pong();
}

// How many messages wait in `queue`: a fresh consumer takes them all (in order, numbered from 0);
// the PONG after them proves there is no other.
std::size_t drain_count(std::uint16_t port, std::string_view queue, std::size_t size) {
  Conn undertaker(port, "undertaker");
  undertaker.hello();
  undertaker.subscribe(queue);
  undertaker.ping(1);
  for (std::size_t n = 0;; ++n) {
    auto frame = undertaker.expect_message();
    if (std::holds_alternative<paperboy::protocol::Pong>(*frame)) return n;
    const auto* msg = std::get_if<paperboy::protocol::Msg>(&*frame);
    REQUIRE_MESSAGE(msg != nullptr, "expected MSG or PONG, got " << describe(*frame));
    CHECK(msg->channel == queue);
    CHECK(msg->payload == numbered_payload(n, size));
  }
}

// Dead-letter log lines allowed for a run that took `elapsed`: one kind of line a second each
// (moved, dropped), and one more of each for the first.
std::size_t dead_letter_lines_allowed(Clock::duration elapsed) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
  return 2 * (static_cast<std::size_t>(seconds) + 2);
}

// A daemon with dead letters after the first failure (and `flags`), a worker that will NACK
// and a publisher, both past HELLO.
struct NackScene {
  explicit NackScene(std::vector<std::string> flags)
      : daemon([&] {
          flags.insert(flags.begin(), {"--max-redeliveries", "0"});
          return flags;
        }()),
        worker(daemon.port(), "nacker"),
        publisher(daemon.port(), "publisher") {
    worker.hello();
    publisher.hello();
  }
  Daemon daemon;
  Conn worker;
  Conn publisher;
};

}  // namespace

TEST_CASE(
    "dead letter bounds: a consumer NACKing everything fills .dead up to --channel-backlog, the "
    "rest is dropped, counted, and logged a line a second") {
  constexpr std::size_t cap = 10;
  constexpr std::size_t n = 3000;
  NackScene scene({"--channel-backlog", std::to_string(cap)});
  auto& [daemon, worker, publisher] = scene;
  INFO(scene.daemon.log_tail());  // clang 14 cannot capture a structured binding
  worker.subscribe_manual("/queue/poison", 100);
  const auto start = Clock::now();
  publish_and_nack(publisher, worker, "/queue/poison", n, job_size, 100);
  const auto elapsed = Clock::now() - start;

  CHECK(drain_count(daemon.port(), "/queue/poison.dead", job_size) == cap);
  CHECK(daemon.log_count("queue.dead_letter_dropped") >= 1);
  CHECK(daemon.log_count("queue.dead_letter") <= dead_letter_lines_allowed(elapsed));
  CHECK(daemon.log_count("\n") < 100);  // one line each would be thousands
  expect_clean_exit(daemon);
  CHECK_MESSAGE(daemon.log_count(" dead_letters_dropped=" + std::to_string(n - cap)) == 1,
                "no count of the dropped letters at shutdown");
}

TEST_CASE("dead letter bounds: .dead holds at most --channel-backlog-bytes (and one message)") {
  constexpr std::size_t cap_bytes = 64 * 1024;
  constexpr std::size_t size = 10 * 1024;
  constexpr std::size_t n = 500;  // 5 MB of letters for a 64 KiB dead-letter channel
  NackScene scene({"--channel-backlog-bytes", std::to_string(cap_bytes)});
  auto& [daemon, worker, publisher] = scene;
  INFO(scene.daemon.log_tail());  // clang 14 cannot capture a structured binding
  worker.subscribe_manual("/queue/heavy", 4);
  publish_and_nack(publisher, worker, "/queue/heavy", n, size, 4);

  const std::size_t held = drain_count(daemon.port(), "/queue/heavy.dead", size);
  CHECK(held >= cap_bytes / (size + 64));  // full up to the cap (a frame is a little more)
  CHECK(held * size <= cap_bytes + size);  // and not past the one message that crosses it
  expect_clean_exit(daemon);
  CHECK(daemon.log_count(" dead_letters_dropped=" + std::to_string(n - held)) == 1);
}

TEST_CASE("dead letter bounds: dead-letter channels count against --max-queues") {
  constexpr std::size_t max_queues = 10;
  constexpr std::size_t sources = 8;  // room for 2 dead-letter channels
  NackScene scene({"--max-queues", std::to_string(max_queues)});
  auto& [daemon, worker, publisher] = scene;
  INFO(scene.daemon.log_tail());  // clang 14 cannot capture a structured binding
  auto source = [](std::size_t i) { return "/queue/src" + std::to_string(i); };
  for (std::size_t i = 0; i < sources; ++i) worker.subscribe_manual(source(i), 1);
  for (std::size_t i = 0; i < sources; ++i) {
    publisher.publish(source(i), job(i));
    worker.nack(worker.expect_delivery(source(i), job(i), false)->delivery);
  }
  worker.ping_pong();

  // The first two got their dead-letter channel; then the limit was reached.
  Conn undertaker(daemon.port(), "undertaker");
  undertaker.hello();
  for (std::size_t i = 0; i < max_queues - sources; ++i) {
    undertaker.subscribe(source(i) + ".dead");
    undertaker.expect_msg(source(i) + ".dead", job(i));
  }
  for (std::size_t i = max_queues - sources; i < sources; ++i) {
    const auto req = undertaker.next_req();
    undertaker.sub(source(i) + ".dead", req);
    undertaker.expect_err(req, 4);  // it does not exist, and no queue may be created
  }
  CHECK(daemon.log_count("reason=\"queue limit reached\"") >= 1);
  expect_clean_exit(daemon);
  CHECK(daemon.log_count(" dead_letters_dropped=" +
                         std::to_string(sources - (max_queues - sources))) == 1);
}
