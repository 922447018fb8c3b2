// paperboy::client::AsyncClient against the real daemon while it keeps running: manual ack with
// prefetch and nack, redelivery when a consumer's client closes, request/reply at volume over
// several responders (and its two failures), drain() losing nothing, and a subscription nobody
// reads holding no more than its bound while the broker drops for it.
#include <doctest/doctest.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "async_run.hpp"
#include "checks.hpp"
#include "daemon.hpp"
#include "paperboy/client/async_client.hpp"
#include "payloads.hpp"

namespace pc = paperboy::client;
using namespace paperboy::itest;
using namespace std::chrono_literals;

namespace {

pc::SubscribeOptions manual_ack(std::uint16_t prefetch = 0) {
  pc::SubscribeOptions options;
  options.manual_ack = true;
  options.prefetch = prefetch;
  return options;
}

asio::awaitable<void> prefetch_bounds_unacked(std::uint16_t port) {
  const auto executor = co_await asio::this_coro::executor;
  auto consumer = co_await connect_async(executor, port);
  auto publisher = co_await connect_async(executor, port);
  auto work = co_await consumer->subscribe("/queue/prefetch", manual_ack(2));
  constexpr std::size_t n = 10;
  for (std::size_t i = 0; i < n; ++i) publisher->publish("/queue/prefetch", numbered_payload(i));
  co_await publisher->ping();

  // After a consumer's PING round trip the broker has sent it everything it will send for now,
  // so pending() plus what it holds unacked is exactly what the broker let it have.
  std::vector<pc::Message> unacked;
  std::size_t received = 0;
  while (received < n) {
    co_await consumer->ping();
    const std::size_t held = unacked.size() + work.pending();
    CHECK_MESSAGE(held == std::min<std::size_t>(2, n - received + unacked.size()),
                  held << " held after " << received << " received");
    auto message = co_await next_message(work);
    CHECK(payload_index(message.payload) == received);
    CHECK(message.delivery != 0);
    ++received;
    unacked.push_back(std::move(message));
    if (unacked.size() == 2) {
      consumer->ack(unacked.front());
      unacked.erase(unacked.begin());
    }
  }
  for (const auto& message : unacked) consumer->ack(message);
  co_await consumer->ping();
  CHECK(work.pending() == 0);
}

asio::awaitable<void> nack_and_close_redeliver(std::uint16_t port) {
  const auto executor = co_await asio::this_coro::executor;
  auto consumer = co_await connect_async(executor, port);
  auto publisher = co_await connect_async(executor, port);
  auto work = co_await consumer->subscribe("/queue/redeliver", manual_ack());
  publisher->publish("/queue/redeliver", "given back");
  const auto first = co_await next_message(work);
  CHECK(first.payload == "given back");
  CHECK_FALSE(first.redelivered);
  consumer->nack(first);
  const auto again = co_await next_message(work);
  CHECK(again.payload == "given back");
  CHECK(again.redelivered);

  // Held unacked when its client closes: the broker hands it to the next consumer.
  consumer->close();
  CHECK(consumer->closed());
  auto heir = co_await connect_async(executor, port);
  auto heirs = co_await heir->subscribe("/queue/redeliver", manual_ack());
  const auto inherited = co_await next_message(heirs);
  CHECK(inherited.payload == "given back");
  CHECK(inherited.redelivered);
  heir->ack(inherited);
  co_await heir->ping();
}

// The answer a responder gives: derived from the request, and naming the responder.
std::string answer_to(std::string_view request, std::size_t responder) {
  return "sq=" +
         std::to_string(std::stoull(std::string(request)) * std::stoull(std::string(request))) +
         " by=" + std::to_string(responder);
}

struct Tally {
  std::size_t answered = 0;
  std::size_t wrong = 0;
  std::vector<std::string> errors;
  std::array<std::size_t, 3> per_responder{};
};

asio::awaitable<void> ask(pc::AsyncClient* requester, std::size_t i, std::shared_ptr<Tally> tally) {
  try {
    const auto reply = co_await requester->request("/queue/squares", std::to_string(i), 30s);
    const std::string expected = "sq=" + std::to_string(i * i) + " by=";
    if (reply.payload.starts_with(expected)) {
      ++tally->answered;
      const auto responder = std::stoull(reply.payload.substr(expected.size()));
      if (responder < tally->per_responder.size()) ++tally->per_responder[responder];
    } else {
      ++tally->wrong;
    }
  } catch (const pc::Error& e) {
    tally->errors.push_back(e.what());
  }
}

// `warm`: one request completes before the thousand start, so the client's reply channel is
// already subscribed when they are sent.
asio::awaitable<void> thousand_requests_after(std::uint16_t port, bool warm) {
  const auto executor = co_await asio::this_coro::executor;
  std::vector<std::unique_ptr<pc::AsyncClient>> responders;
  for (std::size_t r = 0; r < 3; ++r) {
    responders.push_back(co_await connect_async(executor, port));
    pc::SubscriptionHandler handler = [client = responders.back().get(),
                                       r](pc::SubscriptionEvent&& event) {
      if (const auto* request = std::get_if<pc::Message>(&event)) {
        client->reply(*request, answer_to(request->payload, r));
      }
    };
    co_await responders.back()->subscribe("/queue/squares", {}, std::move(handler));
  }
  auto requester = co_await connect_async(executor, port);
  if (warm) {
    const auto first = co_await requester->request("/queue/squares", "7", 10s);
    CHECK(first.payload.starts_with("sq=49 by="));
  }
  constexpr std::size_t n = 1000;
  auto tally = std::make_shared<Tally>();
  for (std::size_t i = 0; i < n; ++i) {
    asio::co_spawn(executor, ask(requester.get(), i, tally), asio::detached);
  }
  std::function<bool()> all_done = [tally] {
    return tally->answered + tally->wrong + tally->errors.size() == n;
  };
  const bool finished = co_await eventually(all_done, 60s);
  REQUIRE_MESSAGE(finished, tally->answered << " of " << n << " answered");
  CHECK(tally->answered == n);
  CHECK(tally->wrong == 0);
  CHECK_MESSAGE(tally->errors.empty(), (tally->errors.empty() ? "" : tally->errors.front()));
  for (const auto count : tally->per_responder) CHECK(count > 0);
}

asio::awaitable<void> request_failures(std::uint16_t port) {
  const auto executor = co_await asio::this_coro::executor;
  auto requester = co_await connect_async(executor, port);
  const auto asked = Clock::now();
  std::optional<pc::Error> nobody;
  try {
    co_await requester->request("/queue/nobody-serves", "hello?", 10s);
  } catch (const pc::Error& e) {
    nobody = e;
  }
  const auto refused_after = std::chrono::duration_cast<Duration>(Clock::now() - asked);
  REQUIRE_MESSAGE(nobody.has_value(), "a request nobody serves was answered");
  CHECK(nobody->no_responders());
  CHECK_FALSE(nobody->connection_lost());
  CHECK_MESSAGE(refused_after < 5s, "refused after " << refused_after.count() << " ms");

  // A consumer that never answers: the request times out.
  auto silent = co_await connect_async(executor, port);
  auto ignored = co_await silent->subscribe("/queue/never-answers");
  const auto sent = Clock::now();
  std::optional<pc::Error> late;
  try {
    co_await requester->request("/queue/never-answers", "anyone?", 300ms);
  } catch (const pc::Error& e) {
    late = e;
  }
  const auto waited = std::chrono::duration_cast<Duration>(Clock::now() - sent);
  REQUIRE_MESSAGE(late.has_value(), "a request nobody answers completed");
  CHECK(late->timed_out());
  CHECK(waited >= 250ms);
  // Still usable afterwards.
  co_await requester->ping();
}

struct Received {
  std::set<std::size_t> indices;
  std::size_t messages = 0;
  bool ended = false;
};

// Reads `subscription` to its end, acking what needs it.
asio::awaitable<void> read_and_ack(pc::AsyncClient* client, pc::Subscription subscription,
                                   std::shared_ptr<Received> into) {
  while (auto event = co_await subscription.next()) {
    if (const auto* message = std::get_if<pc::Message>(&*event)) {
      if (const auto i = payload_index(message->payload)) into->indices.insert(*i);
      ++into->messages;
      client->ack(*message);
    }
  }
  into->ended = true;
}

asio::awaitable<void> drain_loses_nothing(std::uint16_t port) {
  const auto executor = co_await asio::this_coro::executor;
  auto publisher = co_await connect_async(executor, port);
  auto drained = co_await connect_async(executor, port);
  auto watcher = co_await connect_async(executor, port);
  auto afterwards = co_await watcher->subscribe("/queue/drain-published");
  auto held = co_await drained->subscribe("/queue/drain", manual_ack(8));
  constexpr std::size_t n = 200;
  for (std::size_t i = 0; i < n; ++i) publisher->publish("/queue/drain", numbered_payload(i, 64));
  co_await publisher->ping();
  co_await drained->ping();
  REQUIRE(held.pending() == 8);  // in flight: delivered, neither handed out nor acked

  constexpr std::size_t published_before_drain = 50;
  for (std::size_t i = 0; i < published_before_drain; ++i) {
    drained->publish("/queue/drain-published", numbered_payload(i, 64));
  }
  auto by_drained = std::make_shared<Received>();
  asio::co_spawn(executor, read_and_ack(drained.get(), held, by_drained), asio::detached);
  co_await drained->drain(20s);
  CHECK(drained->closed());
  std::function<bool()> stream_ended = [by_drained] { return by_drained->ended; };
  const bool ended = co_await eventually(stream_ended);
  CHECK_MESSAGE(ended, "the drained subscription's stream did not end");
  CHECK(by_drained->messages >= 8);

  // A second consumer takes the rest; together they received every message.
  auto second = co_await connect_async(executor, port);
  auto rest = co_await second->subscribe("/queue/drain", manual_ack());
  auto by_second = std::make_shared<Received>();
  asio::co_spawn(executor, read_and_ack(second.get(), rest, by_second), asio::detached);
  std::function<bool()> all_received = [by_drained, by_second] {
    std::set<std::size_t> all = by_drained->indices;
    all.insert(by_second->indices.begin(), by_second->indices.end());
    return all.size() == n;
  };
  const bool complete = co_await eventually(all_received, 20s);
  CHECK_MESSAGE(complete, "drained took " << by_drained->indices.size() << ", the second "
                                          << by_second->indices.size() << " of " << n);
  for (std::size_t i = 0; i < published_before_drain; ++i) {
    const auto payload = co_await next_payload(afterwards);
    CHECK(payload_index(payload) == i);
  }
  second->close();
}

// What the reader of a flooded topic subscription saw.
struct FloodSeen {
  std::size_t messages = 0;  // of the flood, not counting the "last" markers
  std::uint64_t dropped = 0;
  std::size_t most_pending = 0;
  bool in_order = true;
  bool last_seen = false;
};

asio::awaitable<void> read_flood(pc::Subscription flood, std::shared_ptr<FloodSeen> seen) {
  std::optional<std::size_t> previous;
  while (!seen->last_seen) {
    auto event = co_await flood.next();
    if (!event) break;
    seen->most_pending = std::max(seen->most_pending, flood.pending());
    if (const auto* gap = std::get_if<pc::Gap>(&*event)) {
      seen->dropped += gap->dropped;
    } else if (const auto i = payload_index(std::get<pc::Message>(*event).payload)) {
      seen->in_order = seen->in_order && (!previous || *i > *previous);
      previous = i;
      ++seen->messages;
    } else {
      seen->last_seen = true;
    }
  }
}

// Publishes n numbered messages to the channel of `flood`, which nobody reads, in batches each
// taken by the broker (a PING round trip); returns the most the subscription held meanwhile.
asio::awaitable<std::size_t> flood_unread(pc::AsyncClient& publisher, const pc::Subscription& flood,
                                          std::size_t n, std::size_t payload_size) {
  constexpr std::size_t batch = 500;
  std::size_t most_pending = 0;
  for (std::size_t i = 0; i < n; i += batch) {
    for (std::size_t j = i; j < i + batch; ++j) {
      publisher.publish(flood.channel(), numbered_payload(j, payload_size));
    }
    co_await publisher.ping(10s);
    most_pending = std::max(most_pending, flood.pending());
  }
  co_return most_pending;
}

asio::awaitable<void> unread_subscription_bounded(std::uint16_t port) {
  const auto executor = co_await asio::this_coro::executor;
  constexpr std::size_t bound = 16;
  pc::ConnectOptions options;
  options.max_pending_messages = bound;
  auto slow = co_await connect_async(executor, port, options);
  auto flood = co_await slow->subscribe("/topic/flood");
  auto publisher = co_await connect_async(executor, port);
  constexpr std::size_t n = 20000;  // 20 MiB: far more than the kernel's and the broker's buffers
  const std::size_t most_pending = co_await flood_unread(*publisher, flood, n, 1024);
  CHECK(most_pending <= bound);
  CHECK(most_pending > 0);
  check_serves(port);  // the broker serves others while it drops for this one

  // Now read. A GAP comes just before the next message on the channel, so markers follow the
  // flood until one gets through.
  auto seen = std::make_shared<FloodSeen>();
  asio::co_spawn(executor, read_flood(flood, seen), asio::detached);
  std::size_t markers = 0;
  std::function<bool()> marker_seen = [seen] { return seen->last_seen; };
  for (const Deadline deadline(30s); !seen->last_seen && !deadline.expired(); ++markers) {
    publisher->publish("/topic/flood", "last");
    co_await eventually(marker_seen, 100ms);
  }
  REQUIRE(seen->last_seen);
  CHECK(std::max(most_pending, seen->most_pending) <= bound);
  CHECK(seen->in_order);
  CHECK(seen->dropped > 0);
  CHECK(flood.dropped() == seen->dropped);
  // Every message of the flood was either received or reported lost (and so were markers).
  CHECK(seen->messages + seen->dropped >= n);
  CHECK(seen->messages + seen->dropped <= n + markers);
}

// max_pending_bytes counts what a held message costs the client (the Message and its strings), not
// only its payload: with 16-byte payloads a 4 KiB bound holds a few dozen messages, not 256.
asio::awaitable<void> unread_subscription_byte_bound(std::uint16_t port) {
  const auto executor = co_await asio::this_coro::executor;
  constexpr std::size_t bound = 4096;
  constexpr std::size_t payload = 16;
  pc::ConnectOptions options;
  options.max_pending_bytes = bound;
  auto slow = co_await connect_async(executor, port, options);
  auto flood = co_await slow->subscribe("/topic/flood/bytes");
  auto publisher = co_await connect_async(executor, port);
  const std::size_t most_pending = co_await flood_unread(*publisher, flood, 20000, payload);
  CHECK(most_pending > 0);
  CHECK(most_pending <= bound / (sizeof(pc::Message) + payload) + 1);
  check_serves(port);
}

// As an application writes it: connect() with its defaulted ConnectOptions, inside co_await.
asio::awaitable<void> default_options(std::uint16_t port) {
  pc::AsyncClient client(co_await asio::this_coro::executor);
  co_await client.connect("127.0.0.1", port);
  auto echo = co_await client.subscribe("/topic/defaults");
  client.publish("/topic/defaults", "hello");
  const auto payload = co_await next_payload(echo);
  CHECK(payload == "hello");
  co_await client.drain();
}

pc::ConnectOptions named(std::string name) {
  pc::ConnectOptions options;
  options.client_name = std::move(name);
  return options;
}

// As the README's worker writes it (`{.client_name = ...}`): the options a temporary inside the
// co_await expression.
asio::awaitable<void> temporary_options(std::uint16_t port) {
  pc::AsyncClient client(co_await asio::this_coro::executor);
  co_await client.connect("127.0.0.1", port, named("temporary"));
  auto echo = co_await client.subscribe("/topic/braced");
  client.publish("/topic/braced", "hello");
  const auto payload = co_await next_payload(echo);
  CHECK(payload == "hello");
  co_await client.drain();
}

// One MSG on the wire, one copy for each matching subscription: the exact one and every pattern.
asio::awaitable<void> overlapping_subscriptions(std::uint16_t port) {
  pc::AsyncClient client(co_await asio::this_coro::executor);
  co_await client.connect("127.0.0.1", port);
  auto exact = co_await client.subscribe("/topic/news/sport");
  auto one_level = co_await client.subscribe("/topic/news/*");
  auto all = co_await client.subscribe("/topic/news/>");
  auto other = co_await client.subscribe("/topic/weather/>");
  client.publish("/topic/news/sport", "goal");
  client.publish("/topic/news/sport/today", "late goal");
  CHECK(co_await next_payload(exact) == "goal");
  CHECK(co_await next_payload(one_level) == "goal");
  CHECK(co_await next_payload(all) == "goal");
  CHECK(co_await next_payload(all) == "late goal");
  co_await client.ping();  // everything published was routed and read before the counts
  CHECK(exact.pending() == 0);
  CHECK(one_level.pending() == 0);
  CHECK(other.pending() == 0);
  co_await client.drain();
}

// A subscription that sees its messages in place: every field as published, in order, and the
// deliveries acked and nacked through their views (nothing left for the broker to hand out again).
asio::awaitable<void> views_in_place(std::uint16_t port) {
  const auto executor = co_await asio::this_coro::executor;
  auto consumer = co_await connect_async(executor, port);
  auto publisher = co_await connect_async(executor, port);
  std::vector<pc::Message> seen;
  pc::MessageViewHandler take = [&seen, client = consumer.get()](const pc::MessageView& view) {
    seen.push_back(view.to_message());
    CHECK(seen.back().headers == view.headers());
    // The first job is given back once, then acked when it comes again.
    if (payload_index(view.payload) == 0 && !view.redelivered) {
      client->nack(view);
    } else {
      client->ack(view);
    }
  };
  co_await consumer->subscribe_views("/queue/views", manual_ack(4), std::move(take));
  constexpr std::size_t n = 50;
  for (std::size_t i = 0; i < n; ++i) {
    pc::PublishOptions options;
    if (i % 2 == 0) options.headers = {{"seq", std::to_string(i)}, {"seq", "again"}};
    if (i % 5 == 0) options.reply_to = "/topic/answers";
    publisher->publish("/queue/views", numbered_payload(i), options);
  }
  co_await publisher->ping();
  REQUIRE_MESSAGE(co_await eventually([&] { return seen.size() == n + 1; }),
                  seen.size() << " of " << n + 1 << " deliveries seen");
  std::set<std::size_t> first_sight;
  for (const auto& message : seen) {
    const auto i = payload_index(message.payload);
    REQUIRE(i.has_value());
    CHECK(message.channel == "/queue/views");
    CHECK(message.delivery != 0);
    CHECK(message.reply_to == (*i % 5 == 0 ? "/topic/answers" : ""));
    const pc::Headers headers =
        *i % 2 == 0 ? pc::Headers{{"seq", std::to_string(*i)}, {"seq", "again"}} : pc::Headers{};
    CHECK(message.headers == headers);
    CHECK(message.redelivered == !first_sight.insert(*i).second);
  }
  CHECK(first_sight.size() == n);
  CHECK(payload_index(seen.front().payload) == 0);

  // Every delivery was settled through its view: a consumer that comes after the first one
  // closed is handed nothing.
  co_await consumer->ping();
  consumer->close();
  auto heir = co_await connect_async(executor, port);
  auto heirs = co_await heir->subscribe("/queue/views", manual_ack());
  co_await heir->ping();
  co_await pause(quiet_period);
  CHECK(heirs.pending() == 0);
}

// A subscriber that sees a flooded topic in place, on an io_context of its own: while that is not
// run it reads nothing, so the broker drops for it.
struct ViewReader {
  std::unique_ptr<pc::AsyncClient> client;
  pc::Subscription subscription;
  std::size_t messages = 0;  // of the flood, not counting the "last" markers
  std::optional<std::size_t> previous;
  bool in_order = true;
  bool last_seen = false;
};

asio::awaitable<void> start_view_reader(std::uint16_t port, ViewReader* reader) {
  reader->client = co_await connect_async(co_await asio::this_coro::executor, port);
  pc::MessageViewHandler take = [reader](const pc::MessageView& view) {
    if (const auto i = payload_index(view.payload)) {
      reader->in_order = reader->in_order && (!reader->previous || *i > *reader->previous);
      reader->previous = i;
      ++reader->messages;
    } else {
      reader->last_seen = true;
    }
  };
  reader->subscription =
      co_await reader->client->subscribe_views("/topic/flood", {}, std::move(take));
}

asio::awaitable<void> flood(std::uint16_t port, std::size_t n) {
  auto publisher = co_await connect_async(co_await asio::this_coro::executor, port);
  for (std::size_t i = 0; i < n; i += 500) {
    for (std::size_t j = i; j < i + 500; ++j) {
      publisher->publish("/topic/flood", numbered_payload(j, 1024));
    }
    co_await publisher->ping(10s);  // the broker took this batch
  }
}

// A GAP comes just before the next message on the channel, so markers follow the flood until
// one gets through.
asio::awaitable<void> read_until_marker(std::uint16_t port, ViewReader* reader) {
  auto publisher = co_await connect_async(co_await asio::this_coro::executor, port);
  std::function<bool()> marker_seen = [reader] { return reader->last_seen; };
  for (const Deadline deadline(30s); !reader->last_seen && !deadline.expired();) {
    publisher->publish("/topic/flood", "last");
    co_await eventually(marker_seen, 100ms);
  }
}

asio::awaitable<void> thousand_requests(std::uint16_t port) {
  return thousand_requests_after(port, false);
}

asio::awaitable<void> thousand_requests_warm(std::uint16_t port) {
  return thousand_requests_after(port, true);
}

void against_daemon(asio::awaitable<void> (*body)(std::uint16_t),
                    std::vector<std::string> flags = {}) {
  Daemon daemon(std::move(flags));
  INFO(daemon.log_tail());
  asio::io_context io;
  run_async(io, body(daemon.port()), 90s);
  check_serves(daemon.port());
}

}  // namespace

TEST_CASE("async client: a prefetch-2 manual-ack consumer holds at most 2 unacked deliveries") {
  against_daemon(prefetch_bounds_unacked);
}

TEST_CASE(
    "async client: nack redelivers with the redelivered flag, and so does closing the client "
    "that held it") {
  against_daemon(nack_and_close_redeliver);
}

TEST_CASE("async client: 1,000 concurrent requests over 3 responders are each answered correctly") {
  against_daemon(thousand_requests);
}

TEST_CASE(
    "async client: 1,000 concurrent requests after a first one (reply channel subscribed) are "
    "each answered correctly") {
  against_daemon(thousand_requests_warm);
}

TEST_CASE("async client: the byte bound of an unread subscription counts what its messages hold") {
  against_daemon(unread_subscription_byte_bound,
                 {"--client-queue-bytes", "65536", "--slow-consumer", "drop"});
}

TEST_CASE("async client: a message reaches each of the client's subscriptions that match it") {
  against_daemon(overlapping_subscriptions);
}

TEST_CASE("async client: a request nobody serves fails at once, one nobody answers times out") {
  against_daemon(request_failures);
}

TEST_CASE(
    "async client: drain() with deliveries in flight loses nothing, and what was published "
    "before it arrives") {
  against_daemon(drain_loses_nothing);
}

TEST_CASE(
    "async client: a subscription the application does not read holds at most "
    "max_pending_messages; the broker drops for it and says so with GAP") {
  against_daemon(unread_subscription_bounded,
                 {"--client-queue-bytes", "65536", "--slow-consumer", "drop"});
}

TEST_CASE(
    "async client: messages seen in place carry every field as published, in order, and are "
    "acked and nacked through their views") {
  against_daemon(views_in_place);
}

TEST_CASE(
    "async client: a subscription seen in place that fell behind counts the broker's gaps, holds "
    "nothing, and goes on receiving") {
  Daemon daemon({"--client-queue-bytes", "65536", "--slow-consumer", "drop"});
  INFO(daemon.log_tail());
  asio::io_context reader_io;  // before the reader, whose client runs on it
  ViewReader reader;
  run_async(reader_io, start_view_reader(daemon.port(), &reader), 30s);
  constexpr std::size_t n = 20000;  // 20 MiB: far more than the kernel's and the broker's buffers
  asio::io_context publisher_io;
  run_async(publisher_io, flood(daemon.port(), n), 60s);
  run_async(reader_io, read_until_marker(daemon.port(), &reader), 60s);
  REQUIRE(reader.last_seen);
  CHECK(reader.in_order);
  CHECK(reader.subscription.dropped() > 0);
  CHECK(reader.subscription.pending() == 0);  // gaps are counted, not queued
  CHECK(reader.messages + reader.subscription.dropped() >= n);
  check_serves(daemon.port());
}

TEST_CASE("async client: connect(host, port) with its defaulted ConnectOptions") {
  against_daemon(default_options);
}

TEST_CASE(
    "async client: connect() with temporary options inside co_await, as the README writes it") {
  against_daemon(temporary_options);
}
