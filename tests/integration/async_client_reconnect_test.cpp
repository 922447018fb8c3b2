// paperboy::client::AsyncClient keeping its connection while the broker under it is killed
// (SIGKILL, SIGTERM), frozen (SIGSTOP) or gone for good: subscriptions resume by themselves,
// publishes made meanwhile arrive in order within the offline buffer's bound, a confirmed publish
// completes only on the broker's OK, keepalive notices a frozen broker, and reconnecting gives
// up when told to. Each test runs its clients on one io_context in the test thread.
#include <doctest/doctest.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "async_run.hpp"
#include "daemon.hpp"
#include "paperboy/client/async_client.hpp"
#include "payloads.hpp"
#include "restartable_daemon.hpp"

namespace pc = paperboy::client;
using namespace paperboy::itest;
using namespace std::chrono_literals;

namespace {

// How a publish_confirmed() spawned on its own ended, if it has.
struct Confirmation {
  bool confirmed = false;
  std::optional<pc::Error> error;
  bool done() const { return confirmed || error.has_value(); }
};

asio::awaitable<void> confirm_into(pc::AsyncClient* client, std::string channel,
                                   std::string payload, std::shared_ptr<Confirmation> outcome) {
  try {
    co_await client->publish_confirmed(std::move(channel), std::move(payload), {}, 30s);
    outcome->confirmed = true;
  } catch (const pc::Error& e) {
    outcome->error = e;
  }
}

// Starts a publish_confirmed() that the test does not wait on, to watch when it completes.
asio::awaitable<std::shared_ptr<Confirmation>> spawn_confirmed(pc::AsyncClient* client,
                                                               std::string channel,
                                                               std::string payload) {
  auto outcome = std::make_shared<Confirmation>();
  asio::co_spawn(co_await asio::this_coro::executor,
                 confirm_into(client, std::move(channel), std::move(payload), outcome),
                 asio::detached);
  co_return outcome;
}

asio::awaitable<void> expect_done(std::shared_ptr<Confirmation> outcome, Duration timeout) {
  std::function<bool()> finished = [outcome] { return outcome->done(); };
  const bool in_time = co_await eventually(finished, timeout);
  REQUIRE_MESSAGE(in_time, "the confirmed publish neither completed nor failed");
}

// How long a restarted broker and a reconnect may take on a loaded machine under sanitizers.
constexpr Duration reconnect_timeout = 20s;

asio::awaitable<void> resumes_after_kill(RestartableDaemon* broker) {
  const auto executor = co_await asio::this_coro::executor;
  EventLog consumer_log;
  EventLog publisher_log;
  auto consumer = co_await connect_async(executor, broker->port(),
                                         reconnecting_options(consumer_log, "consumer"));
  auto publisher = co_await connect_async(executor, broker->port(),
                                          reconnecting_options(publisher_log, "publisher"));
  auto work = co_await consumer->subscribe("/queue/resume");
  auto news = co_await consumer->subscribe("/topic/resume");
  for (std::size_t i = 0; i < 5; ++i) {
    publisher->publish("/queue/resume", numbered_payload(i, 64, "before"));
  }
  for (std::size_t i = 0; i < 5; ++i) {
    const auto payload = co_await next_payload(work);
    CHECK(payload_index(payload, "before") == i);
  }

  broker->kill();
  co_await consumer_log.expect<pc::Disconnected>(1);
  co_await publisher_log.expect<pc::Disconnected>(1);
  CHECK_FALSE(publisher->connected());
  CHECK_FALSE(publisher->closed());
  constexpr std::size_t while_down = 100;
  for (std::size_t i = 0; i < while_down; ++i) {
    publisher->publish("/queue/resume", numbered_payload(i, 128, "down"));
  }
  CHECK(publisher->buffered_bytes() >= while_down * 128);
  // A topic keeps nothing for absent subscribers: the consumer gets its own message only if it
  // subscribed again before it sent what it buffered.
  consumer->publish("/topic/resume", "own, while down");
  const auto confirmed =
      co_await spawn_confirmed(publisher.get(), "/queue/resume", "confirmed while down");
  // No broker to say OK: it must not complete, however long it waits.
  co_await pause(300ms);
  CHECK_FALSE(confirmed->done());

  broker->start();
  co_await publisher_log.expect<pc::Reconnected>(1, reconnect_timeout);
  co_await consumer_log.expect<pc::Reconnected>(1, reconnect_timeout);
  // The same subscription objects receive again, nothing re-done by the application: the plain
  // publishes in order, the confirmed one among them.
  std::size_t next_down = 0;
  bool saw_confirmed = false;
  while (next_down < while_down || !saw_confirmed) {
    const auto message = co_await next_message(work);
    if (message.payload == "confirmed while down") {
      CHECK_FALSE(saw_confirmed);
      saw_confirmed = true;
      continue;
    }
    REQUIRE(payload_index(message.payload, "down") == next_down);
    ++next_down;
  }
  co_await expect_done(confirmed, reconnect_timeout);
  CHECK_MESSAGE(confirmed->confirmed, (confirmed->error ? confirmed->error->what() : ""));
  const auto own = co_await next_payload(news);
  CHECK(own == "own, while down");
  publisher->publish("/topic/resume", "after the restart");
  const auto news_payload = co_await next_payload(news);
  CHECK(news_payload == "after the restart");
  // Told in order: lost, then back.
  REQUIRE(consumer_log.events().size() >= 2);
  CHECK(std::holds_alternative<pc::Disconnected>(consumer_log.events()[0]));
  CHECK(std::holds_alternative<pc::Reconnected>(consumer_log.events()[1]));
  CHECK(consumer->server() == "127.0.0.1:" + std::to_string(broker->port()));
}

// Two publishers send a confirmed publish into a frozen broker, which is then killed: it was
// sent and never confirmed. The one with resend_unconfirmed=false fails with connection_lost();
// the other is neither confirmed nor failed while no broker runs, and is confirmed by the next.
asio::awaitable<void> unconfirmed_when_killed(RestartableDaemon* broker) {
  const auto executor = co_await asio::this_coro::executor;
  EventLog consumer_log;
  EventLog at_most_once_log;
  EventLog at_least_once_log;
  auto consumer = co_await connect_async(executor, broker->port(),
                                         reconnecting_options(consumer_log, "consumer"));
  auto at_most_once_options = reconnecting_options(at_most_once_log, "at-most-once");
  at_most_once_options.resend_unconfirmed = false;
  auto at_most_once =
      co_await connect_async(executor, broker->port(), std::move(at_most_once_options));
  auto at_least_once = co_await connect_async(
      executor, broker->port(), reconnecting_options(at_least_once_log, "at-least-once"));
  auto work = co_await consumer->subscribe("/queue/unconfirmed");

  broker->freeze();
  const auto lost = co_await spawn_confirmed(at_most_once.get(), "/queue/unconfirmed", "dropped");
  const auto resent =
      co_await spawn_confirmed(at_least_once.get(), "/queue/unconfirmed", "sent again");
  co_await at_most_once->flush();
  co_await at_least_once->flush();
  co_await pause(300ms);
  CHECK_FALSE(lost->done());
  CHECK_FALSE(resent->done());

  broker->kill();
  co_await expect_done(lost, reconnect_timeout);
  REQUIRE_MESSAGE(lost->error.has_value(), "confirmed without a broker that confirmed it");
  CHECK(lost->error->connection_lost());
  co_await at_least_once_log.expect<pc::Disconnected>(1);
  co_await pause(300ms);
  CHECK_FALSE(resent->done());

  broker->start();
  co_await expect_done(resent, reconnect_timeout);
  CHECK_MESSAGE(resent->confirmed, (resent->error ? resent->error->what() : ""));
  co_await at_most_once_log.expect<pc::Reconnected>(1, reconnect_timeout);
  at_most_once->publish("/queue/unconfirmed", "marker");
  // The consumer gets the resent message and the marker; the failed one was never sent again.
  std::vector<std::string> received;
  while (received.size() < 2) received.push_back(co_await next_payload(work));
  CHECK(std::count(received.begin(), received.end(), "sent again") == 1);
  CHECK(std::count(received.begin(), received.end(), "marker") == 1);
  co_await consumer->ping();
  CHECK(work.pending() == 0);
}

asio::awaitable<void> resumes_after_term(RestartableDaemon* broker) {
  const auto executor = co_await asio::this_coro::executor;
  EventLog log;
  auto client = co_await connect_async(executor, broker->port(), reconnecting_options(log, "c"));
  auto news = co_await client->subscribe("/topic/term");
  auto work = co_await client->subscribe("/queue/term");

  broker->terminate();
  co_await log.expect<pc::Disconnected>(1);
  for (std::size_t i = 0; i < 10; ++i) client->publish("/queue/term", numbered_payload(i, 32));
  broker->start();
  co_await log.expect<pc::Reconnected>(1, reconnect_timeout);
  CHECK(log.count<pc::GaveUp>() == 0);
  CHECK_FALSE(client->closed());
  for (std::size_t i = 0; i < 10; ++i) {
    const auto payload = co_await next_payload(work);
    CHECK(payload_index(payload) == i);
  }
  client->publish("/topic/term", "after SIGTERM");
  const auto news_payload = co_await next_payload(news);
  CHECK(news_payload == "after SIGTERM");
}

// The first server is dead: connect() goes on to the next one; and a client whose broker dies
// for good reconnects to the next configured one.
asio::awaitable<void> more_servers(std::uint16_t dead_port, RestartableDaemon* first,
                                   Daemon* second) {
  const auto executor = co_await asio::this_coro::executor;
  EventLog log;
  auto options = reconnecting_options(log, "fails over");
  options.more_servers = {{"127.0.0.1", first->port()}, {"127.0.0.1", second->port()}};
  auto client = co_await connect_async(executor, dead_port, std::move(options));
  CHECK(client->server() == "127.0.0.1:" + std::to_string(first->port()));
  auto work = co_await client->subscribe("/queue/failover");

  first->kill();
  co_await log.expect<pc::Reconnected>(1, reconnect_timeout);
  const std::string second_server = "127.0.0.1:" + std::to_string(second->port());
  CHECK(client->server() == second_server);
  const auto* back = std::get_if<pc::Reconnected>(&log.events().back());
  REQUIRE(back != nullptr);
  CHECK(back->server == second_server);
  // Resubscribed there: a message published on the second broker reaches it.
  auto publisher = co_await connect_async(executor, second->port());
  publisher->publish("/queue/failover", "on the second");
  const auto work_payload = co_await next_payload(work);
  CHECK(work_payload == "on the second");
}

asio::awaitable<void> offline_buffer_bound(RestartableDaemon* broker) {
  const auto executor = co_await asio::this_coro::executor;
  EventLog consumer_log;
  EventLog publisher_log;
  auto consumer = co_await connect_async(executor, broker->port(),
                                         reconnecting_options(consumer_log, "consumer"));
  constexpr std::size_t bound = 4096;
  constexpr std::size_t size = 512;
  auto options = reconnecting_options(publisher_log, "bounded publisher");
  options.offline_buffer_bytes = bound;
  auto publisher = co_await connect_async(executor, broker->port(), std::move(options));
  auto work = co_await consumer->subscribe("/queue/bounded");

  broker->kill();
  co_await publisher_log.expect<pc::Disconnected>(1);
  std::size_t accepted = 0;
  std::optional<pc::Error> refused;
  while (!refused && accepted <= bound / size) {
    try {
      publisher->publish("/queue/bounded", numbered_payload(accepted, size));
      ++accepted;
    } catch (const pc::Error& e) {
      refused = e;
    }
  }
  REQUIRE_MESSAGE(refused.has_value(),
                  accepted << " publishes of " << size << " B kept within a bound of " << bound);
  CHECK(refused->buffer_full());
  CHECK_FALSE(refused->connection_lost());
  CHECK(accepted >= bound / size / 2);
  CHECK(publisher->buffered_bytes() <= bound);
  // Still full: refused again, at once, not kept.
  bool refused_again = false;
  try {
    publisher->publish("/queue/bounded", numbered_payload(accepted, size));
  } catch (const pc::Error& e) {
    refused_again = e.buffer_full();
  }
  CHECK(refused_again);

  broker->start();
  co_await publisher_log.expect<pc::Reconnected>(1, reconnect_timeout);
  publisher->publish("/queue/bounded", "marker");
  for (std::size_t i = 0; i < accepted; ++i) {
    const auto payload = co_await next_payload(work);
    CHECK(payload_index(payload) == i);
  }
  const auto work_payload = co_await next_payload(work);
  CHECK(work_payload == "marker");
}

asio::awaitable<void> keepalive_detects_frozen(RestartableDaemon* broker) {
  const auto executor = co_await asio::this_coro::executor;
  EventLog log;
  auto options = reconnecting_options(log, "keepalive");
  options.ping_interval = 300ms;
  options.ping_timeout = 300ms;
  auto client = co_await connect_async(executor, broker->port(), std::move(options));
  // Idle but answered: no false alarm over several intervals.
  co_await pause(1500ms);
  CHECK(client->connected());
  CHECK_MESSAGE(log.events().empty(), log.describe());

  broker->freeze();
  const auto frozen_at = Clock::now();
  co_await log.expect<pc::Disconnected>(1, 20s);
  const auto noticed = std::chrono::duration_cast<Duration>(Clock::now() - frozen_at);
  // interval + timeout is 600 ms; the margin is for a loaded machine under sanitizers.
  CHECK_MESSAGE(noticed <= 4s, "noticed after " << noticed.count() << " ms");
  CHECK(noticed >= 250ms);
  broker->thaw();
  co_await log.expect<pc::Reconnected>(1, reconnect_timeout);
  co_await client->ping();
}

asio::awaitable<void> gives_up(RestartableDaemon* broker) {
  const auto executor = co_await asio::this_coro::executor;
  EventLog log;
  auto options = reconnecting_options(log, "gives up");
  options.reconnect.max_attempts = 2;
  auto client = co_await connect_async(executor, broker->port(), std::move(options));
  auto news = co_await client->subscribe("/topic/gone");

  broker->kill();
  co_await log.expect<pc::GaveUp>(1, reconnect_timeout);
  CHECK(std::holds_alternative<pc::Disconnected>(log.events().front()));
  CHECK(std::holds_alternative<pc::GaveUp>(log.events().back()));
  CHECK(log.count<pc::Reconnected>() == 0);
  CHECK(client->closed());
  CHECK_FALSE(client->connected());
  const auto after_end = co_await news.next();
  CHECK_FALSE(after_end.has_value());
  CHECK_THROWS_AS(client->publish("/topic/gone", "x"), pc::Error);
}

// How a request spawned on its own ended, if it has.
struct RequestOutcome {
  std::optional<pc::Message> reply;
  std::optional<pc::Error> error;
};

asio::awaitable<void> request_into(pc::AsyncClient* client, std::string channel,
                                   std::shared_ptr<RequestOutcome> outcome) {
  try {
    outcome->reply = co_await client->request(std::move(channel), "anyone?", 60s);
  } catch (const pc::Error& e) {
    outcome->error = e;
  }
}

// A request whose consumer never answers is in flight when the broker dies: it fails at once
// with connection_lost(), not after its 60 s timeout, and the client reconnects.
asio::awaitable<void> request_fails_on_loss(RestartableDaemon* broker) {
  const auto executor = co_await asio::this_coro::executor;
  EventLog log;
  auto requester =
      co_await connect_async(executor, broker->port(), reconnecting_options(log, "requester"));
  auto silent = co_await connect_async(executor, broker->port());
  auto unanswered = co_await silent->subscribe("/queue/unanswered");
  auto outcome = std::make_shared<RequestOutcome>();
  asio::co_spawn(executor, request_into(requester.get(), "/queue/unanswered", outcome),
                 asio::detached);
  const auto request = co_await next_message(unanswered);  // it reached the broker and a consumer
  CHECK_FALSE(request.reply_to.empty());

  broker->kill();
  const auto killed_at = Clock::now();
  std::function<bool()> ended = [outcome] { return outcome->reply || outcome->error; };
  const bool failed_in_time = co_await eventually(ended, 20s);
  REQUIRE_MESSAGE(failed_in_time, "the request in flight did not fail when the broker died");
  const auto after = std::chrono::duration_cast<Duration>(Clock::now() - killed_at);
  REQUIRE(outcome->error.has_value());
  CHECK(outcome->error->connection_lost());
  CHECK_MESSAGE(after < 5s, "failed after " << after.count() << " ms");
  broker->start();
  co_await log.expect<pc::Reconnected>(1, reconnect_timeout);
  // Usable again: a request nobody serves on the new broker is refused at once.
  bool refused = false;
  try {
    co_await requester->request("/queue/nobody-here", "x", 10s);
  } catch (const pc::Error& e) {
    refused = e.no_responders();
  }
  CHECK(refused);
}

// Runs `body` on a fresh io_context against a broker it may kill and start again.
void against_restartable_broker(asio::awaitable<void> (*body)(RestartableDaemon*)) {
  RestartableDaemon broker;
  INFO(broker.log_tail());
  asio::io_context io;
  run_async(io, body(&broker), 60s);
}

}  // namespace

TEST_CASE(
    "async client: after SIGKILL and a restart on the same port, a subscription resumes, "
    "publishes made while down arrive in order, a confirmed one completes on the new OK") {
  against_restartable_broker(resumes_after_kill);
}

TEST_CASE(
    "async client: a confirmed publish the broker never answered is never confirmed: it fails "
    "(resend_unconfirmed=false) or is sent again to the next broker") {
  against_restartable_broker(unconfirmed_when_killed);
}

TEST_CASE("async client: reconnects across a SIGTERM restart and resubscribes") {
  against_restartable_broker(resumes_after_term);
}

TEST_CASE("async client: with more_servers it connects past a dead one and fails over") {
  RestartableDaemon dead;
  const std::uint16_t dead_port = dead.port();
  dead.kill();
  RestartableDaemon first;
  Daemon second;
  INFO(first.log_tail());
  asio::io_context io;
  run_async(io, more_servers(dead_port, &first, &second), 60s);
}

TEST_CASE(
    "async client: publishing while disconnected past offline_buffer_bytes fails at once with "
    "buffer_full(); what was kept arrives after reconnect") {
  against_restartable_broker(offline_buffer_bound);
}

TEST_CASE("async client: keepalive notices a broker frozen with SIGSTOP within its timeout") {
  against_restartable_broker(keepalive_detects_frozen);
}

TEST_CASE(
    "async client: after max_attempts it gives up: GaveUp, closed, streams end, calls throw") {
  against_restartable_broker(gives_up);
}

TEST_CASE("async client: a request in flight when the broker dies fails with connection_lost()") {
  against_restartable_broker(request_fails_on_loss);
}
