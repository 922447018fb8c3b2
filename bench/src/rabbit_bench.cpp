// paperboy-rabbit-bench: paperboy-bench's confirm and drain workloads against RabbitMQ through
// rabbitmq-c (librabbitmq), so bench/durable_vs_rabbitmq.py compares the same shapes: persistent
// messages (delivery_mode 2) with publisher confirms to a durable classic or quorum queue, P
// publishers with up to W unconfirmed each, and a consumer draining it. rabbitmq-c is a blocking
// library, so every publisher and consumer is a thread with its own connection; the broker, not
// this client, is what runs out of CPU first.
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "clock.hpp"
#include "latency_histogram.hpp"
#include "payload.hpp"
#include "report.hpp"

namespace {

using paperboy::bench::LatencyHistogram;
using paperboy::bench::now_ns;
using paperboy::bench::Report;
using paperboy::bench::seconds_between;

constexpr amqp_channel_t channel_id = 1;
// A consumer waiting for a delivery looks at the stop flag this often.
constexpr timeval consume_poll{0, 100'000};
// A publisher whose window is shut waits this long for an ack before it looks again.
constexpr timeval ack_poll{0, 20'000};

struct Options {
  std::string workload = "confirm";
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string queue = "bench.confirm";
  std::string queue_type = "classic";
  std::size_t pubs = 4;
  std::size_t subs = 1;
  std::uint32_t window = 1000;
  std::size_t size = 128;
  double seconds = 5;
  std::uint64_t count = 0;
  double rate = 0;
  std::string ack = "auto";
  std::uint16_t prefetch = 100;
  bool no_consumer = false;
  double deadline = 120;
  std::string label;
  bool json = false;
};

void check(amqp_rpc_reply_t reply, std::string_view what) {
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) return;
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
    throw std::runtime_error(fmt::format("{}: {}", what, amqp_error_string2(reply.library_error)));
  }
  if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
      reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const auto* close = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
    throw std::runtime_error(
        fmt::format("{}: channel closed: {} {}", what, close->reply_code,
                    std::string_view(static_cast<const char*>(close->reply_text.bytes),
                                     close->reply_text.len)));
  }
  throw std::runtime_error(
      fmt::format("{}: failed ({})", what, static_cast<int>(reply.reply_type)));
}

/// One AMQP connection with channel 1 open.
class AmqpConnection {
 public:
  explicit AmqpConnection(const Options& o) : state_(amqp_new_connection()) {
    amqp_socket_t* socket = amqp_tcp_socket_new(state_);
    if (socket == nullptr) throw std::runtime_error("amqp_tcp_socket_new failed");
    if (amqp_socket_open(socket, o.host.c_str(), o.port) != AMQP_STATUS_OK) {
      amqp_destroy_connection(state_);
      throw std::runtime_error(fmt::format("cannot connect to {}:{}", o.host, o.port));
    }
    check(amqp_login(state_, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, o.user.c_str(),
                     o.password.c_str()),
          "login");
    amqp_channel_open(state_, channel_id);
    check(amqp_get_rpc_reply(state_), "channel.open");
  }
  ~AmqpConnection() {
    amqp_channel_close(state_, channel_id, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(state_);
  }
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  amqp_connection_state_t get() const noexcept { return state_; }

 private:
  amqp_connection_state_t state_;
};

/// Deletes and declares the durable queue, classic or quorum, so every run starts empty.
void declare_queue(const Options& o) {
  AmqpConnection c(o);
  amqp_queue_delete(c.get(), channel_id, amqp_cstring_bytes(o.queue.c_str()), 0, 0);
  check(amqp_get_rpc_reply(c.get()), "queue.delete");
  amqp_table_entry_t type;
  type.key = amqp_cstring_bytes("x-queue-type");
  type.value.kind = AMQP_FIELD_KIND_UTF8;
  type.value.value.bytes = amqp_cstring_bytes(o.queue_type.c_str());
  const amqp_table_t arguments{1, &type};
  amqp_queue_declare(c.get(), channel_id, amqp_cstring_bytes(o.queue.c_str()), 0, 1, 0, 0,
                     arguments);
  check(amqp_get_rpc_reply(c.get()), "queue.declare");
}

/// What one confirmed publisher saw.
struct ConfirmTally {
  std::uint64_t sent = 0, confirmed = 0, refused = 0;
  std::uint64_t first_send_ns = 0, last_confirm_ns = 0;
  LatencyHistogram latency;
  std::string error;
};

/// A publisher in confirm mode: persistent messages, up to `window` unconfirmed, each basic.ack
/// (which may cover many tags at once) settles and times its messages.
class ConfirmPublisher {
 public:
  ConfirmPublisher(const Options& o, std::uint16_t id) : o_(o), id_(id), body_(o.size, '\0') {
    paperboy::bench::fill_payload(body_.data(), body_.size());
  }

  void run(std::uint64_t start_ns) {
    try {
      AmqpConnection c(o_);
      amqp_confirm_select(c.get(), channel_id);
      check(amqp_get_rpc_reply(c.get()), "confirm.select");
      publish(c.get(), start_ns);
    } catch (const std::exception& e) {
      tally_.error = e.what();
    }
  }

  ConfirmTally& tally() noexcept { return tally_; }

 private:
  void publish(amqp_connection_state_t c, std::uint64_t start_ns) {
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = 2;  // persistent
    const double per_publisher_rate = o_.rate > 0 ? o_.rate / static_cast<double>(o_.pubs) : 0;
    const auto give_up = start_ns + static_cast<std::uint64_t>(o_.deadline * 1e9);
    tally_.first_send_ns = now_ns();
    for (;;) {
      const std::uint64_t now = now_ns();
      const bool done =
          o_.count > 0 ? tally_.sent >= o_.count : seconds_between(start_ns, now) >= o_.seconds;
      if (done && in_flight() == 0) break;
      if (now >= give_up) {
        tally_.error = fmt::format("{} messages never confirmed", in_flight());
        break;
      }
      std::uint64_t n = done ? 0 : o_.window - std::min<std::uint64_t>(in_flight(), o_.window);
      if (o_.count > 0) n = std::min(n, o_.count - std::min(o_.count, tally_.sent));
      if (per_publisher_rate > 0) {
        const auto due =
            static_cast<std::uint64_t>(seconds_between(start_ns, now) * per_publisher_rate) + 1;
        n = std::min(n, due > tally_.sent ? due - tally_.sent : 0);
      }
      for (std::uint64_t i = 0; i < n; ++i) {
        paperboy::bench::write_stamp(body_.data(),
                                     {now, static_cast<std::uint32_t>(tally_.sent), id_});
        const amqp_bytes_t body{body_.size(), body_.data()};
        const int status =
            amqp_basic_publish(c, channel_id, amqp_empty_bytes,
                               amqp_cstring_bytes(o_.queue.c_str()), 0, 0, &props, body);
        if (status != AMQP_STATUS_OK) throw std::runtime_error(amqp_error_string2(status));
        ++tally_.sent;  // delivery tags run 1, 2, ...
        unconfirmed_.emplace_hint(unconfirmed_.end(), tally_.sent, now);
      }
      // Paced and not due yet, or the window is shut: wait a little for acks; else only take
      // the ones already here.
      const timeval wait = n == 0 ? ack_poll : timeval{0, 0};
      read_acks(c, wait);
    }
  }

  std::uint64_t in_flight() const noexcept { return unconfirmed_.size(); }

  void read_acks(amqp_connection_state_t c, timeval wait) {
    for (;;) {
      amqp_frame_t frame;
      const int status = amqp_simple_wait_frame_noblock(c, &frame, &wait);
      if (status == AMQP_STATUS_TIMEOUT) return;
      if (status != AMQP_STATUS_OK) throw std::runtime_error(amqp_error_string2(status));
      wait = timeval{0, 0};
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      const std::uint64_t now = now_ns();
      if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
        const auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        settle(ack->delivery_tag, ack->multiple != 0, now, false);
      } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
        const auto* nack = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
        settle(nack->delivery_tag, nack->multiple != 0, now, true);
      } else if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                 frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
        throw std::runtime_error("the broker closed the channel");
      }
    }
  }

  void settle(std::uint64_t tag, bool multiple, std::uint64_t now, bool refused) {
    // Acks need not come in tag order (a classic queue confirms a message its consumer took at
    // once, the others once they are on disk); `multiple` covers every tag up to this one.
    const auto first = multiple ? unconfirmed_.begin() : unconfirmed_.lower_bound(tag);
    const auto last = unconfirmed_.upper_bound(tag);
    for (auto it = first; it != last; ++it) {
      if (refused) {
        ++tally_.refused;
      } else {
        ++tally_.confirmed;
        tally_.latency.record(now > it->second ? now - it->second : 0);
      }
    }
    unconfirmed_.erase(first, last);
    tally_.last_confirm_ns = now;
  }

  const Options& o_;
  std::uint16_t id_;
  std::map<std::uint64_t, std::uint64_t> unconfirmed_;  ///< delivery tag -> when it was sent
  std::string body_;
  ConfirmTally tally_;
};

/// A consumer that counts deliveries (auto ack, or basic.ack each with a prefetch).
class Consumer {
 public:
  Consumer(const Options& o, std::atomic<std::uint64_t>& received, std::uint64_t target)
      : o_(o), received_(received), target_(target) {}

  void run(const std::atomic<bool>& stop, std::atomic<std::size_t>& ready) {
    try {
      AmqpConnection c(o_);
      const bool manual = o_.ack == "manual";
      if (manual) {
        amqp_basic_qos(c.get(), channel_id, 0, o_.prefetch, 0);
        check(amqp_get_rpc_reply(c.get()), "basic.qos");
      }
      amqp_basic_consume(c.get(), channel_id, amqp_cstring_bytes(o_.queue.c_str()),
                         amqp_empty_bytes, 0, manual ? 0 : 1, 0, amqp_empty_table);
      check(amqp_get_rpc_reply(c.get()), "basic.consume");
      ++ready;
      while (!stop.load() && (target_ == 0 || received_.load() < target_)) {
        amqp_maybe_release_buffers(c.get());
        amqp_envelope_t envelope;
        timeval wait = consume_poll;
        const amqp_rpc_reply_t reply = amqp_consume_message(c.get(), &envelope, &wait, 0);
        if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            reply.library_error == AMQP_STATUS_TIMEOUT) {
          continue;
        }
        check(reply, "consume");
        last_ns_ = now_ns();
        ++received_;
        if (manual) amqp_basic_ack(c.get(), channel_id, envelope.delivery_tag, 0);
        amqp_destroy_envelope(&envelope);
      }
    } catch (const std::exception& e) {
      error_ = e.what();
      ++ready;
    }
  }

  std::uint64_t last_ns() const noexcept { return last_ns_; }
  const std::string& error() const noexcept { return error_; }

 private:
  const Options& o_;
  std::atomic<std::uint64_t>& received_;
  std::uint64_t target_;
  std::uint64_t last_ns_ = 0;
  std::string error_;
};

struct ConfirmSummary {
  std::uint64_t sent = 0, confirmed = 0, refused = 0, first_ns = 0, last_ns = 0;
  LatencyHistogram latency;
  std::vector<std::string> errors;
};

ConfirmSummary publish_confirmed(const Options& o) {
  std::vector<std::unique_ptr<ConfirmPublisher>> publishers;
  for (std::size_t i = 0; i < o.pubs; ++i) {
    publishers.push_back(std::make_unique<ConfirmPublisher>(o, static_cast<std::uint16_t>(i)));
  }
  const std::uint64_t start = now_ns();
  std::vector<std::thread> threads;
  for (auto& p : publishers) threads.emplace_back([&p, start] { p->run(start); });
  for (auto& t : threads) t.join();
  ConfirmSummary s;
  for (auto& p : publishers) {
    const ConfirmTally& t = p->tally();
    s.sent += t.sent;
    s.confirmed += t.confirmed;
    s.refused += t.refused;
    if (s.first_ns == 0 || (t.first_send_ns != 0 && t.first_send_ns < s.first_ns)) {
      s.first_ns = t.first_send_ns;
    }
    s.last_ns = std::max(s.last_ns, t.last_confirm_ns);
    s.latency.merge(t.latency);
    if (!t.error.empty()) s.errors.push_back("publisher: " + t.error);
  }
  return s;
}

void report_confirms(Report& report, const ConfirmSummary& s, const std::string& prefix) {
  const double seconds = seconds_between(s.first_ns, s.last_ns);
  report.add(prefix + "published", s.sent);
  report.add(prefix + "confirmed", s.confirmed);
  report.add(prefix + "refused", s.refused);
  report.add(prefix + "confirm_rate",
             seconds > 0 ? static_cast<double>(s.confirmed) / seconds : 0.0);
  report.add(prefix + "confirm_seconds", seconds);
  report.add(prefix + "confirm_p50_ms", static_cast<double>(s.latency.percentile(0.50)) / 1e6);
  report.add(prefix + "confirm_p99_ms", static_cast<double>(s.latency.percentile(0.99)) / 1e6);
  report.add(prefix + "confirm_max_ms", static_cast<double>(s.latency.max()) / 1e6);
}

/// Starts `o.subs` consumers; returns once each has its basic.consume-ok (or failed).
struct Consumers {
  Consumers(const Options& o, std::uint64_t target) {
    for (std::size_t i = 0; i < o.subs; ++i) {
      consumers.push_back(std::make_unique<Consumer>(o, received, target));
    }
    for (auto& c : consumers) threads.emplace_back([this, &c] { c->run(stop, ready); });
    while (ready.load() < consumers.size())
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  void finish() {
    stop = true;
    for (auto& t : threads) t.join();
  }
  std::uint64_t last_ns() const {
    std::uint64_t last = 0;
    for (const auto& c : consumers) last = std::max(last, c->last_ns());
    return last;
  }
  void errors_into(std::vector<std::string>& errors) const {
    for (const auto& c : consumers) {
      if (!c->error().empty()) errors.push_back("consumer: " + c->error());
    }
  }

  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> ready{0};
  std::vector<std::unique_ptr<Consumer>> consumers;
  std::vector<std::thread> threads;
};

void report_errors(Report& report, const std::vector<std::string>& errors) {
  report.add("error_count", errors.size());
  for (std::size_t i = 0; i < errors.size() && i < 5; ++i) {
    report.add("error_" + std::to_string(i), errors[i]);
  }
}

bool run_confirm(const Options& o, Report& report) {
  Consumers consumers(o, 0);
  report.add("window", static_cast<std::uint64_t>(o.window));
  report.add("consumers", o.subs);
  const ConfirmSummary s = publish_confirmed(o);
  // Give the consumers what is still on its way to them, up to 2 s without progress.
  std::uint64_t seen = consumers.received.load();
  for (int idle = 0; consumers.received.load() < s.confirmed && idle < 20; ++idle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (consumers.received.load() != seen) idle = 0, seen = consumers.received.load();
  }
  consumers.finish();
  report_confirms(report, s, "");
  report.add("consumed", consumers.received.load());
  std::vector<std::string> errors = s.errors;
  consumers.errors_into(errors);
  report_errors(report, errors);
  return s.confirmed > 0;
}

bool run_drain(const Options& o, Report& report) {
  const ConfirmSummary filled = publish_confirmed(o);
  report.add("window", static_cast<std::uint64_t>(o.window));
  report_confirms(report, filled, "fill_");
  const std::uint64_t start = now_ns();
  Consumers consumers(o, filled.confirmed);
  const auto give_up = start + static_cast<std::uint64_t>(o.deadline * 1e9);
  while (consumers.received.load() < filled.confirmed && now_ns() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const bool complete = consumers.received.load() >= filled.confirmed;
  consumers.finish();
  const double seconds = seconds_between(start, consumers.last_ns());
  report.add("consumers", o.subs);
  report.add("backlog", filled.confirmed);
  report.add("consumed", consumers.received.load());
  report.add("consume_seconds", seconds);
  report.add("consume_rate",
             seconds > 0 ? static_cast<double>(consumers.received.load()) / seconds : 0.0);
  report.add("timed_out", !complete);
  std::vector<std::string> errors = filled.errors;
  consumers.errors_into(errors);
  report_errors(report, errors);
  return filled.confirmed > 0;
}

void add_options(CLI::App& app, Options& o) {
  app.add_option("workload", o.workload,
                 "confirm: P publishers with confirms -> one durable queue -> S auto-ack "
                 "consumers; drain: fill the queue with --count per publisher, then S consumers "
                 "(--ack manual --prefetch 100) empty it")
      ->check(CLI::IsMember({"confirm", "drain"}))
      ->required();
  app.add_option("--host", o.host)->capture_default_str();
  app.add_option("--port", o.port)->capture_default_str();
  app.add_option("--user", o.user)->capture_default_str();
  app.add_option("--password", o.password)->capture_default_str();
  app.add_option("--queue", o.queue, "Queue name (deleted and declared afresh)")
      ->capture_default_str();
  app.add_option("--queue-type", o.queue_type, "x-queue-type: classic or quorum")
      ->check(CLI::IsMember({"classic", "quorum"}))
      ->capture_default_str();
  app.add_option("--pubs", o.pubs, "Publishers, one connection each")->capture_default_str();
  app.add_option("--subs", o.subs, "Consumers, one connection each")->capture_default_str();
  app.add_option("--window", o.window, "Unconfirmed messages per publisher, at most")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1'000'000u));
  app.add_option("--size", o.size, "Payload bytes (at least 16)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{16}, std::size_t{64} * 1024 * 1024));
  auto* count = app.add_option("--count", o.count, "Messages per publisher");
  app.add_option("--seconds", o.seconds, "confirm: publish for this long")
      ->excludes(count)
      ->capture_default_str();
  app.add_option("--rate", o.rate, "Messages per second over all publishers (default: flat out)");
  app.add_option("--ack", o.ack, "Consumers: auto, or manual (basic.ack each, with --prefetch)")
      ->check(CLI::IsMember({"auto", "manual"}))
      ->capture_default_str();
  app.add_option("--prefetch", o.prefetch, "--ack manual: basic.qos prefetch count")
      ->capture_default_str();
  app.add_flag("--no-consumer", o.no_consumer, "confirm: nobody consumes, the queue grows");
  app.add_option("--deadline", o.deadline, "Seconds a phase may take before it gives up")
      ->capture_default_str();
  app.add_option("--label", o.label, "Free text copied into the report");
  app.add_flag("--json", o.json, "Print one JSON object with the figures");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"paperboy-rabbit-bench: confirmed publishing and consuming against RabbitMQ"};
  Options o;
  add_options(app, o);
  CLI11_PARSE(app, argc, argv);
  if (o.no_consumer) o.subs = 0;
  if (o.workload == "drain" && o.count == 0) o.count = 25'000;
  Report report;
  report.add("workload", o.workload);
  report.add("broker", "rabbitmq");
  report.add("queue_type", o.queue_type);
  report.add("label", o.label);
  report.add("size", o.size);
  report.add("pubs", o.pubs);
  report.add("rate", o.rate);
  report.add("ack", o.ack);
  report.add("prefetch",
             o.ack == "manual" ? std::optional<std::uint16_t>(o.prefetch) : std::nullopt);
  bool measured = false;
  try {
    declare_queue(o);
    measured = o.workload == "confirm" ? run_confirm(o, report) : run_drain(o, report);
  } catch (const std::exception& e) {
    report.add("error", e.what());
  }
  const std::string out = o.json ? report.json() + "\n" : report.text();
  std::fwrite(out.data(), 1, out.size(), stdout);
  return measured ? 0 : 1;
}
