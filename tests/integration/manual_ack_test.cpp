// Manual ack on /queue channels: every job processed exactly once, fair shares across consumers
// with credit, unacked jobs handed back (flagged redelivered, in order) when their consumer
// leaves, and ACK/NACK of a delivery id that is not this connection's to settle refused with
// ERR(0, 5) while the connection goes on working.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checks.hpp"
#include "conn.hpp"
#include "conn_set.hpp"
#include "daemon.hpp"
#include "jobs.hpp"
#include "paperboy/protocol/messages.hpp"

namespace p = paperboy::protocol;
using namespace paperboy::itest;

namespace {

constexpr auto long_timeout = std::chrono::seconds(30);

// How many connections the daemon has finished with: it logs `session.close` after a
// connection's unacked deliveries went back to their channels.
std::size_t closes_logged(const Daemon& daemon) {
  return daemon.log_count("session.close ");
}

// One consumer's view of the jobs it was handed.
struct Worker {
  std::vector<std::size_t> jobs;
  std::vector<std::uint64_t> deliveries;
};

// Three manual-ack workers with prefetch 1 on one queue, and a publisher that has sent them
// `n` jobs at once, each PUB with a request id. take() checks and records one delivery.
struct JobFarm {
  JobFarm(std::uint16_t port, std::size_t jobs) : n(jobs), publisher(port, "publisher") {
    for (int i = 0; i < 3; ++i) consumers.emplace_back(port, "worker" + std::to_string(i));
    for (auto& c : consumers) {
      c.hello();
      c.subscribe_manual(channel, 1);
    }
    publisher.hello();
    std::string bytes;
    for (std::size_t i = 0; i < n; ++i) {
      p::append_frame(bytes, p::Pub{static_cast<std::uint32_t>(i + 1), channel, "", job(i)});
    }
    publisher.send_raw(bytes);
  }

  // Records that worker k got `msg`; it must be a first delivery of a job nobody had yet, with
  // a delivery id above the worker's previous ones.
  void take(std::size_t k, const p::Msg& msg) {
    Conn& c = consumers[k];
    auto& w = workers[k];
    REQUIRE_MESSAGE((msg.channel == channel && msg.delivery != 0 && !msg.redelivered()),
                    c.name() << ": nobody failed, yet " << describe(msg));
    REQUIRE_MESSAGE(msg.delivery > (w.deliveries.empty() ? 0 : w.deliveries.back()),
                    c.name() << ": delivery id " << msg.delivery << " after "
                             << (w.deliveries.empty() ? 0 : w.deliveries.back()));
    const std::size_t i = job_index(c, msg);
    REQUIRE_MESSAGE(++times.at(i) == 1, "job " << i << " delivered twice, now to " << c.name());
    w.jobs.push_back(i);
    w.deliveries.push_back(msg.delivery);
    ++processed;
  }

  std::string shares() const {
    return std::to_string(workers[0].jobs.size()) + "/" + std::to_string(workers[1].jobs.size()) +
           "/" + std::to_string(workers[2].jobs.size());
  }

  // Every job was processed exactly once and nothing is left: no job, no complaint about an
  // ACK. Each worker got its jobs in publish order, the first under delivery id 1.
  void check_all_done() {
    REQUIRE(processed == n);
    for (std::size_t k = 0; k < consumers.size(); ++k) {
      consumers[k].ping_pong();
      const auto& w = workers[k];
      CAPTURE(consumers[k].name());
      CHECK_MESSAGE(std::is_sorted(w.jobs.begin(), w.jobs.end()),
                    "jobs that were never redelivered arrived out of publish order");
      REQUIRE_MESSAGE(!w.deliveries.empty(), "no job at all; shares " << shares());
      CHECK_MESSAGE(w.deliveries.front() == 1, "first delivery id " << w.deliveries.front());
    }
  }

  const std::string channel = "/queue/jobs";
  const std::size_t n;
  std::vector<Conn> consumers;
  Conn publisher;
  std::vector<Worker> workers{3};
  std::vector<int> times = std::vector<int>(n, 0);
  std::size_t processed = 0;
};

}  // namespace

TEST_CASE(
    "manual ack: three equally fast prefetch-1 workers take 1,000 jobs exactly once, 333 or 334 "
    "each") {
  Daemon daemon;
  INFO(daemon.log_tail());
  JobFarm farm(daemon.port(), 1000);
  // Every job is queued (its PUB confirmed) before the first is taken: else a worker that acks
  // while the daemon is still reading the PUBs finds the backlog empty, and the next job goes to
  // whichever worker the rotation names, not to the one whose turn comes.
  for (std::size_t i = 0; i < farm.n; ++i)
    farm.publisher.expect_ok(static_cast<std::uint32_t>(i + 1));
  // Equally fast: the workers take turns, each taking the job it holds and acking it at once.
  // With prefetch 1 each holds exactly one job whenever its turn comes, until the jobs run out.
  // Each ACK is followed by a PING whose PONG is awaited before the next worker acks: the daemon
  // reads sockets in whatever order they become readable, and ACKs it read out of turn would
  // hand the last jobs out of turn. The job an ACK frees comes before that PONG.
  std::vector<std::optional<Decoded<p::Message>>> held(3);
  for (std::size_t turn = 0; farm.processed < farm.n; ++turn) {
    const std::size_t k = turn % 3;
    INFO("turn " << turn << ", shares so far " << farm.shares());
    Conn& c = farm.consumers[k];
    auto frame = held[k] ? std::move(*held[k]) : c.expect_message();
    held[k].reset();
    const auto* msg = std::get_if<p::Msg>(&*frame);
    REQUIRE_MESSAGE(msg != nullptr, c.name() << " got " << describe(*frame));
    farm.take(k, *msg);
    c.ack(msg->delivery);
    c.ping(turn + 1);
    for (;;) {
      auto next = c.expect_message();
      if (const auto* pong = std::get_if<p::Pong>(&*next);
          pong != nullptr && pong->token == turn + 1)
        break;
      REQUIRE_MESSAGE((std::holds_alternative<p::Msg>(*next) && !held[k]),
                      c.name() << ": after ACK and PING, got " << describe(*next));
      held[k] = std::move(next);
    }
  }
  farm.publisher.ping_pong();
  farm.check_all_done();
  for (std::size_t k = 0; k < 3; ++k) {
    const std::size_t share = farm.workers[k].jobs.size();
    CHECK_MESSAGE((share == 333 || share == 334), farm.consumers[k].name()
                                                      << ": shares " << farm.shares());
  }
  expect_clean_exit(daemon);
}

TEST_CASE(
    "manual ack: three prefetch-1 workers driven by one poll loop, acking at once, take 1,000 jobs "
    "exactly once") {
  Daemon daemon;
  INFO(daemon.log_tail());
  JobFarm farm(daemon.port(), 1000);
  // Whichever worker has a job acks it at once. With prefetch 1 and a full backlog the broker has
  // no choice of worker, only of moment, so the shares follow how fast this loop serves each
  // socket (the issue: "with prefetch 1 the shares follow the workers' speed"); they are reported,
  // and strict rotation among workers with credit is checked by the next test.
  std::size_t confirmed = 0;
  std::vector<Conn*> conns;
  for (auto& c : farm.consumers) conns.push_back(&c);
  conns.push_back(&farm.publisher);
  pump_until(
      conns,
      [&](std::size_t k, Decoded<p::Message> frame) {
        if (k == 3) {
          const auto* ok = std::get_if<p::Ok>(&*frame);
          REQUIRE_MESSAGE(
              (ok != nullptr && ok->req == confirmed + 1),
              "publisher: expected OK(req=" << confirmed + 1 << "), got " << describe(*frame));
          ++confirmed;
          return;
        }
        const auto* msg = std::get_if<p::Msg>(&*frame);
        REQUIRE_MESSAGE(msg != nullptr, conns[k]->name() << " got " << describe(*frame));
        farm.take(k, *msg);
        conns[k]->ack(msg->delivery);
      },
      [&] { return farm.processed == farm.n && confirmed == farm.n; }, long_timeout,
      [&] {
        return std::to_string(farm.processed) + " of " + std::to_string(farm.n) +
               " jobs processed, " + std::to_string(confirmed) + " confirmed";
      });
  farm.check_all_done();
  MESSAGE("shares " << farm.shares());
  expect_clean_exit(daemon);
}

TEST_CASE("manual ack: consumers that all have credit are served in strict rotation") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/rotation";
  constexpr std::size_t n = 999;
  std::vector<Conn> consumers;
  for (int i = 0; i < 3; ++i) consumers.emplace_back(daemon.port(), "worker" + std::to_string(i));
  for (auto& c : consumers) {
    c.hello();
    c.subscribe_manual(channel, 500);  // credit to spare: nobody acks until the end
  }
  Conn publisher(daemon.port(), "publisher");
  publisher.hello();
  publish_jobs(publisher, channel, 0, n);

  std::vector<Worker> workers(consumers.size());
  for (std::size_t k = 0; k < consumers.size(); ++k) {
    for (std::size_t j = 0; j < n / consumers.size(); ++j) {
      const auto msg = consumers[k].expect<p::Msg>();
      REQUIRE_MESSAGE((msg->delivery != 0 && !msg->redelivered()),
                      consumers[k].name() << " got " << describe(*msg));
      workers[k].jobs.push_back(job_index(consumers[k], *msg));
      workers[k].deliveries.push_back(msg->delivery);
    }
    consumers[k].ping_pong();  // its third exactly, no more
  }
  std::vector<int> times(n, 0);
  for (std::size_t k = 0; k < consumers.size(); ++k) {
    const auto& jobs = workers[k].jobs;
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      ++times.at(jobs[j]);
      if (j > 0) {
        CHECK_MESSAGE(jobs[j] == jobs[j - 1] + 3, consumers[k].name()
                                                      << " got job " << jobs[j] << " after "
                                                      << jobs[j - 1] << " (3 consumers in turn)");
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) CHECK_MESSAGE(times[i] == 1, "job " << i);
  for (std::size_t k = 0; k < consumers.size(); ++k) {
    for (auto d : workers[k].deliveries) consumers[k].ack(d);
    consumers[k].ping_pong();
  }
  expect_clean_exit(daemon);
}

TEST_CASE(
    "manual ack: a consumer that disconnects without ACK hands its jobs to the others flagged "
    "redelivered, none lost, none twice") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/crash";
  Conn taker(daemon.port(), "taker");
  Conn publisher(daemon.port(), "publisher");
  taker.hello();
  publisher.hello();
  taker.subscribe_manual(channel, 5);
  publish_jobs(publisher, channel, 0, 7);

  std::vector<std::uint64_t> held;
  for (std::size_t i = 0; i < 5; ++i) {
    held.push_back(taker.expect_delivery(channel, job(i), false)->delivery);
  }
  taker.ping_pong();  // prefetch 5: jobs 5 and 6 wait
  taker.ack(held[0]);
  taker.ack(held[1]);
  taker.expect_delivery(channel, job(5), false);
  taker.expect_delivery(channel, job(6), false);
  taker.ping_pong();  // it holds 2..6 unacked; the queue is empty

  Conn a(daemon.port(), "worker-a");
  Conn b(daemon.port(), "worker-b");
  for (Conn* c : {&a, &b}) {
    c->hello();
    c->subscribe_manual(channel, 100);
    c->ping_pong();  // nothing for them yet
  }
  taker.socket().close();  // crashes halfway

  std::vector<Worker> workers(2);
  std::vector<int> times(7, 0);
  std::size_t received = 0;
  const std::vector<Conn*> conns = {&a, &b};
  pump_until(
      conns,
      [&](std::size_t k, Decoded<p::Message> frame) {
        Conn& c = *conns[k];
        const auto* msg = std::get_if<p::Msg>(&*frame);
        REQUIRE_MESSAGE(msg != nullptr, c.name() << " got " << describe(*frame));
        REQUIRE_MESSAGE((msg->channel == channel && msg->delivery != 0 && msg->redelivered()),
                        c.name() << ": expected a redelivery, got " << describe(*msg));
        const std::size_t job = job_index(c, *msg);
        REQUIRE_MESSAGE((job >= 2 && job <= 6),
                        c.name() << " got job " << job << ", which the taker had acked");
        REQUIRE_MESSAGE(++times[job] == 1, "job " << job << " redelivered twice");
        workers[k].jobs.push_back(job);
        workers[k].deliveries.push_back(msg->delivery);
        ++received;
      },
      [&] { return received == 5; }, default_timeout,
      [&] { return std::to_string(received) + " of the taker's 5 unacked jobs redelivered"; });
  for (std::size_t k = 0; k < 2; ++k) {
    CHECK_MESSAGE(std::is_sorted(workers[k].jobs.begin(), workers[k].jobs.end()),
                  conns[k]->name() << " got the handed-back jobs out of their original order");
    conns[k]->ping_pong();  // not one more
  }

  // Acked jobs are done for good: their consumer leaving hands nothing back.
  for (std::size_t k = 0; k < 2; ++k) {
    for (auto d : workers[k].deliveries) conns[k]->ack(d);
    conns[k]->ping_pong();
  }
  const std::size_t closes = closes_logged(daemon);
  a.socket().close();
  REQUIRE_MESSAGE(wait_until([&] { return closes_logged(daemon) > closes; }),
                  "the daemon logged no session.close for worker-a");
  b.ping_pong();
  // New jobs flow to the one left, as first deliveries.
  publish_jobs(publisher, channel, 7, 10);
  for (std::size_t i = 7; i < 10; ++i) b.expect_delivery(channel, job(i), false);
  b.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "manual ack: a crashed consumer's jobs go back to the head of the queue in their original "
    "order") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/head";
  Conn taker(daemon.port(), "taker");
  Conn publisher(daemon.port(), "publisher");
  taker.hello();
  publisher.hello();
  taker.subscribe_manual(channel, 5);
  publish_jobs(publisher, channel, 0, 10);
  std::vector<std::uint64_t> held;
  for (std::size_t i = 0; i < 5; ++i) {
    held.push_back(taker.expect_delivery(channel, job(i), false)->delivery);
  }
  taker.ack(held[0]);
  taker.ack(held[1]);
  taker.expect_delivery(channel, job(5), false);
  taker.expect_delivery(channel, job(6), false);
  taker.ping_pong();  // holds 2..6; 7..9 wait in the backlog

  // The late consumer must subscribe only once the daemon has taken the taker's jobs back, or it
  // would rightly be handed the backlog first: the daemon logs the close after the hand-back.
  const std::size_t closes = closes_logged(daemon);
  taker.socket().abort();  // RST
  REQUIRE_MESSAGE(wait_until([&] { return closes_logged(daemon) > closes; }),
                  "the daemon logged no session.close for the aborted taker");

  Conn late(daemon.port(), "late");
  late.hello();
  late.subscribe_manual(channel, 100);
  std::vector<std::uint64_t> seen;
  for (std::size_t i = 2; i < 10; ++i) {
    const auto msg = late.expect_delivery(channel, job(i), i < 7);
    seen.push_back(msg->delivery);
  }
  late.ping_pong();
  CHECK_MESSAGE(std::adjacent_find(seen.begin(), seen.end(), std::greater_equal<>()) == seen.end(),
                "delivery ids not increasing");
  expect_clean_exit(daemon);
}

TEST_CASE(
    "manual ack: UNSUB hands unacked jobs back to the head of the queue, and their old ids are "
    "refused after") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/unsub";
  Conn taker(daemon.port(), "taker");
  Conn publisher(daemon.port(), "publisher");
  taker.hello();
  publisher.hello();
  taker.subscribe_manual(channel, 3);
  publish_jobs(publisher, channel, 0, 6);
  std::vector<std::uint64_t> held;
  for (std::size_t i = 0; i < 3; ++i) {
    held.push_back(taker.expect_delivery(channel, job(i), false)->delivery);
  }
  taker.ack(held[0]);
  held.push_back(taker.expect_delivery(channel, job(3), false)->delivery);
  taker.unsubscribe(channel);  // holds 1..3; 4 and 5 wait
  taker.ping_pong();

  // Too late to settle what was given back.
  taker.ack(held[1]);
  taker.expect_delivery_err(held[1]);
  taker.nack(held[2]);
  taker.expect_delivery_err(held[2]);
  taker.ping_pong();

  Conn late(daemon.port(), "late");
  late.hello();
  late.subscribe_manual(channel, 100);
  for (std::size_t i = 1; i < 6; ++i) late.expect_delivery(channel, job(i), i < 4);
  late.ping_pong();
  taker.ack(held[3]);
  taker.expect_delivery_err(held[3]);
  taker.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "manual ack: ACK or NACK of an unknown, foreign, acked or given-back id gets ERR(0 5) naming "
    "it, and the connection keeps working") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string channel = "/queue/settle";
  Conn mine(daemon.port(), "mine");
  Conn other(daemon.port(), "other");
  Conn publisher(daemon.port(), "publisher");
  for (Conn* c : {&mine, &other, &publisher}) c->hello();
  mine.subscribe_manual(channel, 10);
  publish_jobs(publisher, channel, 0, 4);
  std::vector<std::uint64_t> d;
  for (std::size_t i = 0; i < 4; ++i) {
    d.push_back(mine.expect_delivery(channel, job(i), false)->delivery);
  }
  mine.ping_pong();
  other.subscribe_manual(channel, 10);  // holds nothing, so no id of its own is outstanding

  std::vector<std::uint64_t> open = d;  // what `mine` still holds after the subcase
  SUBCASE("unknown ids") {
    for (const std::uint64_t id : {std::uint64_t{0}, d.back() + 1, std::uint64_t{987654321}}) {
      CAPTURE(id);
      mine.ack(id);
      mine.expect_delivery_err(id);
      mine.nack(id);
      mine.expect_delivery_err(id);
    }
  }
  SUBCASE("another connection's id, which stays that connection's to settle") {
    other.ack(d[0]);
    other.expect_delivery_err(d[0]);
    other.nack(d[1]);
    other.expect_delivery_err(d[1]);
    other.ping_pong();  // d[1] was not given back to the queue: nothing for `other`
  }
  SUBCASE("double ACK") {
    mine.ack(d[0]);
    mine.ack(d[0]);
    mine.expect_delivery_err(d[0]);
    open.erase(open.begin());
  }
  SUBCASE("ACK and NACK after NACK") {
    mine.nack(d[0]);
    // `other` has credit, so the job goes there, flagged, under that connection's own id.
    const auto moved = other.expect_delivery(channel, job(0), true);
    mine.ack(d[0]);
    mine.expect_delivery_err(d[0]);
    mine.nack(d[0]);
    mine.expect_delivery_err(d[0]);
    other.ack(moved->delivery);
    other.ping_pong();
    open.erase(open.begin());
  }
  SUBCASE("NACK after ACK") {
    mine.ack(d[2]);
    mine.nack(d[2]);
    mine.expect_delivery_err(d[2]);
    open.erase(open.begin() + 2);
  }
  mine.ping_pong();
  other.ping_pong();

  // Still served: every id it legitimately holds can be settled, and new jobs arrive.
  for (auto id : open) mine.ack(id);
  mine.ping_pong();
  other.unsubscribe(channel);
  publish_jobs(publisher, channel, 4, 5);
  const auto next = mine.expect_delivery(channel, job(4), false);
  mine.ack(next->delivery);
  mine.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE("manual ack: the flag on a /topic SUB is ignored: delivery id 0, no prefetch limit") {
  Daemon daemon;
  INFO(daemon.log_tail());
  const std::string topic = "/topic/manual";
  const std::string queue = "/queue/after-topic";
  Conn subscriber(daemon.port(), "subscriber");
  Conn publisher(daemon.port(), "publisher");
  subscriber.hello();
  publisher.hello();
  subscriber.subscribe(topic, p::sub_flag_manual_ack, 1);
  for (std::size_t i = 0; i < 20; ++i) publisher.publish(topic, job(i));
  for (std::size_t i = 0; i < 20; ++i) {
    const auto msg = subscriber.expect_msg(topic, job(i));
    CHECK_MESSAGE(msg->delivery == 0, "topic MSG " << i << ": " << describe(*msg));
    CHECK_MESSAGE(msg->flags == 0, "topic MSG " << i << ": " << describe(*msg));
  }
  subscriber.ping_pong();
  // Topic messages used up no delivery id: the connection's first queue delivery is id 1.
  subscriber.subscribe_manual(queue, 1);
  publisher.publish(queue, "job");
  const auto job = subscriber.expect_delivery(queue, "job", false);
  CHECK(job->delivery == 1);
  subscriber.ack(job->delivery);
  subscriber.ping_pong();
  expect_clean_exit(daemon);
}

TEST_CASE(
    "manual ack: a slow consumer that leaves hands back its unacked jobs, then its unwritten ones, "
    "ahead of the backlog and in order") {
  // The leaver reads little (tiny receive buffer), so the daemon holds jobs for it in its send
  // queue, and more wait in the channel's backlog. It reads a few, acks some of those, and
  // half-closes: the daemon reads the ACKs before the EOF. Everything not acked must then reach
  // a later consumer exactly once and in publish order: the leaver's unacked jobs (flagged
  // redelivered), its unwritten ones, then the backlog.
  constexpr std::size_t size = 4096;
  constexpr std::size_t n = 3000;  // 12 MiB: well beyond what the kernel buffers hold
  constexpr std::size_t acked = 5;
  constexpr std::size_t read_first = 10;
  Daemon daemon({"--client-queue-bytes", "65536"});
  INFO(daemon.log_tail());
  const std::string channel = "/queue/slow-leaver";
  Conn leaver(daemon.port(), "leaver", SocketOptions{4096});
  Conn publisher(daemon.port(), "publisher");
  leaver.hello();
  publisher.hello();
  leaver.subscribe_manual(channel, 65535);
  std::string bytes;
  for (std::size_t i = 0; i < n; ++i) {
    p::append_frame(
        bytes, p::Pub{static_cast<std::uint32_t>(i + 1), channel, "", numbered_payload(i, size)});
  }
  publisher.send_raw(bytes, long_timeout);
  for (std::size_t i = 0; i < n; ++i) publisher.expect_ok(static_cast<std::uint32_t>(i + 1));

  std::size_t leaver_read = 0;
  for (; leaver_read < read_first; ++leaver_read) {
    const auto msg = leaver.expect_delivery(channel, numbered_payload(leaver_read, size), false);
    if (leaver_read < acked) leaver.ack(msg->delivery);
  }
  leaver.socket().shutdown_write();
  // It still reads what the daemon had written before it noticed; the close proves the daemon
  // has handed everything back.
  for (const auto& body : leaver.read_until_closed(long_timeout)) {
    const auto decoded = p::decode(body);
    const auto* msg = decoded ? std::get_if<p::Msg>(&*decoded) : nullptr;
    REQUIRE_MESSAGE(msg != nullptr, "leaver got " << describe_pb1_frame(body));
    REQUIRE_MESSAGE(
        job_index(leaver, *msg) == leaver_read,
        "leaver: job " << job_index(leaver, *msg) << " when " << leaver_read << " was due");
    ++leaver_read;
  }
  MESSAGE("the leaver read " << leaver_read << " jobs in all");
  REQUIRE(leaver_read < n);  // or nothing was left unwritten and this tests too little

  Conn late(daemon.port(), "late");
  late.hello();
  late.subscribe_manual(channel, 65535);
  std::size_t next = acked;
  const std::vector<Conn*> conns = {&late};
  pump_until(
      conns,
      [&](std::size_t, Decoded<p::Message> frame) {
        const auto* msg = std::get_if<p::Msg>(&*frame);
        REQUIRE_MESSAGE(msg != nullptr, "late got " << describe(*frame));
        const std::size_t i = job_index(late, *msg);
        REQUIRE_MESSAGE(i == next, "late: job " << i << " when " << next << " was due");
        if (i < leaver_read) {
          REQUIRE_MESSAGE(msg->redelivered(),
                          "job " << i << " was read by the leaver, yet " << describe(*msg));
        }
        late.ack(msg->delivery);
        ++next;
      },
      [&] { return next == n; }, long_timeout,
      [&] { return "late consumer at job " + std::to_string(next) + " of " + std::to_string(n); });
  late.ping_pong();
  expect_clean_exit(daemon);
}
