// paperboy::client's request() against the real daemon and a raw PB1 responder: each request
// gets its own reply, through one private /topic/_reply/<id> inbox per connection; a request its
// consumer does not answer fails with a timeout and leaves the client working; a reply that comes
// after its request gave up is never taken for the answer to a later one. (A request nobody
// consumes fails at once: client_v2_test.cpp.)
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "paperboy/client/client.hpp"
#include "paperboy/protocol/messages.hpp"

namespace p = paperboy::protocol;
namespace pc = paperboy::client;
using namespace paperboy::itest;

namespace {

constexpr std::string_view reply_prefix = "/topic/_reply/";

// Answers `count` requests on its queue with "echo:<payload>", acking each, on its own thread
// (request() blocks the test's thread). A failure is recorded for the test's thread to report:
// doctest assertions belong on the thread that runs the test.
class EchoResponder {
 public:
  EchoResponder(std::uint16_t port, std::string channel) : conn_(port, "responder") {
    conn_.hello();
    conn_.subscribe_manual(channel, 1);
  }
  ~EchoResponder() { join(); }

  void start(std::size_t count) {
    thread_ = std::thread([this, count] {
      try {
        for (std::size_t i = 0; i < count; ++i) {
          const auto msg = conn_.expect<p::Msg>(std::chrono::seconds(10));
          reply_tos_.emplace_back(msg->reply_to);
          conn_.pub(msg->reply_to, "echo:" + std::string(msg->payload));
          conn_.ack(msg->delivery);
        }
        conn_.ping_pong();  // every reply and ACK taken without complaint
      } catch (...) {
        failed_ = true;
      }
    });
  }

  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool failed() const { return failed_; }
  const std::vector<std::string>& reply_tos() const { return reply_tos_; }

 private:
  Conn conn_;
  std::thread thread_;
  std::vector<std::string> reply_tos_;
  std::atomic<bool> failed_{false};
};

}  // namespace

TEST_CASE(
    "client request(): replies are matched through one private inbox, a request its consumer "
    "does not answer times out, and a late reply is discarded") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string echo = "/queue/echo";
  constexpr std::size_t n = 50;
  EchoResponder responder(daemon.port(), echo);
  responder.start(n);

  pc::Client client;
  pc::ConnectOptions options;
  options.client_name = "itest-requester";
  client.connect("127.0.0.1", daemon.port(), options);
  for (std::size_t i = 0; i < n - 1; ++i) {
    const std::string question = "question " + std::to_string(i);
    const auto answer = client.request(echo, question, std::chrono::seconds(5));
    CHECK(answer.payload == "echo:" + question);
    CHECK(answer.channel.starts_with(reply_prefix));
  }

  // The consumer of /queue/slow takes the request and does not answer in time: a clean timeout,
  // the connection kept.
  Conn late(daemon.port(), "late-responder");
  late.hello();
  late.subscribe_manual("/queue/slow", 1);
  const auto started = std::chrono::steady_clock::now();
  try {
    client.request("/queue/slow", "hello?", std::chrono::milliseconds(300));
    FAIL("request() to a consumer that does not answer returned a reply");
  } catch (const pc::Error& e) {
    CHECK_MESSAGE(e.timed_out(), e.what());
    CHECK_MESSAGE(!e.connection_lost(), e.what());
  }
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(300));
  CHECK(client.connected());
  CHECK(client.requests_in_flight() == 0);
  client.ping();

  // It answers late; that reply must not pass for the answer to the next request.
  const auto abandoned = late.expect_delivery("/queue/slow", "hello?", false);
  late.pub(abandoned->reply_to, "too late");
  late.ack(abandoned->delivery);
  late.ping_pong();
  const auto last = client.request(echo, "last question", std::chrono::seconds(5));
  CHECK(last.payload == "echo:last question");

  responder.join();
  REQUIRE_MESSAGE(!responder.failed(), "the responder thread failed; see the output above");
  // One inbox for the connection, under an unguessable id; a distinct reply-to per request.
  REQUIRE(responder.reply_tos().size() == n);
  const std::string& first = responder.reply_tos().front();
  const auto slash = first.rfind('/');
  REQUIRE(slash != std::string::npos);
  const std::string inbox = first.substr(0, slash);
  CHECK_MESSAGE(inbox.size() >= reply_prefix.size() + 16, "a guessable inbox: " << inbox);
  CHECK(std::string(abandoned->reply_to).starts_with(inbox + "/"));
  std::set<std::string> distinct;
  for (const auto& r : responder.reply_tos()) {
    CHECK_MESSAGE(r.starts_with(inbox + "/"), r << " is outside the inbox " << inbox);
    distinct.insert(r);
  }
  CHECK(distinct.size() == n);
  client.close();
  expect_clean_exit(daemon);
}
