#include "session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>

#include "memory_budget.hpp"
#include "paperboy/broker/server.hpp"
#include "paperboy/protocol/channel.hpp"
#include "reply_owners.hpp"
#include "router.hpp"
#include "use_nothrow.hpp"

namespace paperboy::broker {

using protocol::Errc;

namespace {

// Channels a closing connection leaves in one loop turn. Leaving one costs a hash lookup and an
// O(1) hand-over of what it held (the channel returns that later, in slices of its own).
constexpr std::size_t channels_left_per_turn = 256;

}  // namespace

Session::Session(std::unique_ptr<Transport> transport, Server& server, std::uint64_t id,
                 std::string refusal)
    : transport_(std::move(transport)),
      server_(server),
      router_(server.router()),
      config_(server.config()),
      id_(id),
      peer_(transport_->peer_name()),
      outbox_(transport_->executor(), config_, server.traffic()),
      reader_(config_.read_size, protocol::max_frame_body(config_.max_payload)),
      read_gate_(transport_->executor(), asio::steady_timer::time_point::max()),
      refusal_(std::move(refusal)),
      auth_delay_(transport_->executor()),
      gate_(router_, server.memory_budget(), config_.max_read_ahead, [this] { post_retry(); }),
      frame_started_(Clock::time_point::max()),
      opened_at_(Clock::now()),
      last_heard_(opened_at_),
      last_written_(opened_at_) {}

Session::~Session() = default;

void Session::start() {
  // A refused connection's lines are the server's one a second.
  spdlog::log(refusing() ? spdlog::level::debug : spdlog::level::info,
              "session.open sid={} peer={}", id_, peer_);
  // Overflow is noticed inside a channel's fan-out loop: close from a clean stack instead.
  outbox_.on_overflow([weak = weak_from_this(), executor = transport_->executor()] {
    asio::post(executor, [weak] {
      if (auto self = weak.lock()) {
        self->fail(Errc::slow_consumer, "slow consumer: send queue limit exceeded", Ending::urgent);
      }
    });
  });
  // Bugs surface as exceptions from a loop: log them, close this session, keep serving.
  auto on_exit = [self = shared_from_this()](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("session.bug sid={} what={:?}", self->id_, e.what());
    }
    self->stop("internal error");
  };
  const auto executor = transport_->executor();
  asio::co_spawn(executor, read_loop(shared_from_this()), on_exit);
  asio::co_spawn(executor, write_loop(shared_from_this()), on_exit);
}

bool Session::enter(State next) noexcept {
  // Forward only: a connection never reopens, so "already closing" is one comparison, and
  // every ending (error, goodbye, shutdown, dead peer) runs its steps once.
  if (next <= state_) return false;
  state_ = next;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Reading

asio::awaitable<void> Session::read_loop([[maybe_unused]] std::shared_ptr<Session> self) {
  while (state_ < State::finishing) {
    // Frames left over from an earlier read (back-pressure stopped their processing) come
    // before any new read.
    process_frames();
    if (state_ >= State::finishing) break;
    if (input_blocked()) {
      // Back-pressure, the Redis way: a client is not read while its PUBs wait for a full queue
      // or while it does not read the answers to its requests.
      co_await read_gate_.async_wait(use_nothrow);
      continue;
    }
    char* const data = reader_.writable_data();  // may move the buffer: before its size
    const std::size_t room = reader_.writable_size();
    const auto [n, ec] = transport_->read_some(data, room);
    if (would_block(ec)) {
      // Nothing to read: hold no buffer while idle, and sleep until the socket is readable.
      reader_.release_if_empty();
      if (co_await transport_->wait(Transport::Ready::readable)) break;
      continue;
    }
    if (ec) {
      if (reader_.partial() && state_ != State::handshake) {
        spdlog::warn("session.truncated sid={} buffered={}", id_, reader_.buffered());
      }
      // End of input is not the end of output: what we owe the peer (OKs, PONGs, messages,
      // PUBs still parked) goes out first. Anything else is a dead connection.
      if (ec == asio::error::eof) {
        peer_finished();
      } else {
        stop(ec.message());
      }
      break;
    }
    reader_.commit(n);
    heard_ = true;
    if (state_ == State::handshake) note_opening(data, n);
    server_.traffic().bytes_in += n;
    process_frames();
    if (state_ >= State::finishing) break;
    // Batch by the read: the writers this batch woke, and every other session, run before we
    // read again, so one busy publisher cannot starve the loop.
    co_await asio::post(transport_->executor(), asio::use_awaitable);
  }
  if (state_ == State::finishing || state_ == State::closing) co_await drain_input();
  loop_done();
}

void Session::process_frames() {
  // The PUBs of one read were taken together: the first of them reads the clock for them all.
  accepted_.reset();
  bool parsed_any = false;
  while (state_ < State::finishing && !input_blocked()) {
    const auto frame = reader_.next();
    if (frame.status == protocol::FrameStatus::need_more) break;
    if (frame.status == protocol::FrameStatus::too_large) {
      // A PB0 stream cannot be read past a frame we will not read: cut it.
      return fail(Errc::frame_too_large,
                  fmt::format("frame of {} bytes exceeds the limit of {}", frame.declared_length,
                              protocol::max_frame_body(config_.max_payload)),
                  speaks_pb1() ? Ending::in_order : Ending::at_once);
    }
    on_frame(frame.body);
    parsed_any = true;
  }
  // The frame timeout runs while the peer owes us the rest of a frame it started (the first
  // frame too; the handshake timeout runs from the connect as well).
  const bool owes_bytes = reader_.partial() && !input_blocked();
  if (!owes_bytes) {
    frame_started_ = Clock::time_point::max();
  } else if (parsed_any || frame_started_ == Clock::time_point::max()) {
    frame_started_ = Clock::now();
  }
}

asio::awaitable<void> Session::drain_input() {
  // Read and discard until the peer closes, so our final ERR is not destroyed by a reset that
  // unread input would provoke. The closing grace bounds how long this may take.
  std::array<char, 4096> sink{};
  while (state_ != State::stopped) {
    const auto [n, ec] = transport_->read_some(sink.data(), sink.size());
    if (would_block(ec)) {
      if (co_await transport_->wait(Transport::Ready::readable)) break;
    } else if (ec) {
      break;
    }
  }
}

void Session::on_frame(std::string_view body) {
  if (state_ == State::handshake) return on_first_frame(body);
  if (speaks_pb1()) return on_pb1_frame(body);
  on_pb0_frame(body);
}

void Session::on_first_frame(std::string_view body) {
  // The first frame says the dialect: PB1 opens with HELLO and its magic, anything else is
  // the PB0 prototype's subscription channel.
  enter(State::open);
  frame_started_ = Clock::time_point::max();
  if (protocol::opens_pb1(body)) {
    outbox_.set_dialect(Dialect::pb1_v1);  // until HELLO says more
    return on_pb1_first_frame(body);
  }
  outbox_.set_dialect(Dialect::pb0);
  on_pb0_first_frame(body);
}

std::string_view Session::dialect_name() const noexcept {
  if (state_ == State::handshake) return "unknown";
  return speaks_pb1() ? "pb1" : "pb0";
}

// ---------------------------------------------------------------------------------------------
// Channels

void Session::subscribe(std::string_view channel, bool manual_ack, std::uint16_t prefetch) {
  if (subscribed(channel)) return;
  if (user_ && channel.starts_with(protocol::reply_prefix)) {
    const std::string_view inbox = ReplyOwners::inbox_of(channel);
    if (server_.reply_owners().take(inbox, id_)) owned_inboxes_.emplace_back(inbox);
  }
  if (protocol::channel_kind(channel) == protocol::ChannelKind::topic) {
    router_.subscribe(outbox_, channel);
    subscriptions_.emplace(std::string(channel), nullptr);
    return;
  }
  const std::uint16_t credit =
      prefetch == 0 ? config_.default_prefetch : std::min(prefetch, config_.max_prefetch);
  auto consumer = std::make_unique<QueueConsumer>(outbox_, ledger_, manual_ack, credit,
                                                  config_.max_unacked_bytes);
  // Recorded before subscribing: the channel may hand it messages at once.
  QueueConsumer& recorded =
      *subscriptions_.emplace(std::string(channel), std::move(consumer)).first->second;
  router_.subscribe(recorded, channel);
}

bool Session::subscribed(std::string_view channel) const {
  return subscriptions_.find(channel) != subscriptions_.end();
}

bool Session::unsubscribe(std::string_view channel) {
  const auto it = subscriptions_.find(channel);
  if (it == subscriptions_.end()) return false;
  const bool was_at_bound = at_unacked_bound();
  leave(*it);
  subscriptions_.erase(it);
  // What it held unacked went back: the other manual-ack subscriptions may take more.
  if (was_at_bound && !at_unacked_bound()) on_room();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Publishing

void Session::publish(Publication&& message, std::uint32_t req, bool require_subscriber) {
  ++messages_in_;
  const auto settled = gate_.publish(std::move(message), req, require_subscriber);
  if (!settled) return report_blocking();
  if (settled->refusal == Router::Refusal::none && settled->stored_batch == 0) {
    return reply_ok(settled->req);  // the common case first
  }
  on_published(*settled);
}

void Session::confirm_when_stored(std::uint64_t batch, std::uint32_t req) {
  // No req, no OK: nothing to wait for. PB0 PUBs have none.
  if (req == 0) return;
  if (unconfirmed_.empty()) server_.await_stored(id_);
  unconfirmed_.emplace_back(batch, req);
}

bool Session::on_stored(std::uint64_t durable_through, std::uint64_t failed_through) {
  while (!unconfirmed_.empty() && unconfirmed_.front().first <= failed_through) {
    const auto [batch, req] = unconfirmed_.front();
    unconfirmed_.pop_front();
    if (state_ >= State::closing) continue;
    if (batch <= durable_through) {
      reply_ok(req);
    } else {
      reply_err(req, Errc::storage_unavailable,
                "storage unavailable: the message could not be written to disk");
    }
  }
  return !unconfirmed_.empty();
}

void Session::on_published(const PublishGate::Settled& settled) {
  // Taken: confirmed. Refused: a PB1 peer is told, a PB0 one is closed.
  if (settled.refusal == Router::Refusal::none) {
    if (settled.stored_batch == 0) return reply_ok(settled.req);
    confirm_when_stored(settled.stored_batch, settled.req);
  } else if (settled.refusal == Router::Refusal::storage_unavailable && speaks_pb1()) {
    reply_err(settled.req, Errc::storage_unavailable,
              "storage unavailable: the broker cannot write to disk now; publish again later");
  } else if (settled.refusal == Router::Refusal::no_subscribers) {
    // Only version 2 asks for this, and the connection stays: it refuses one message.
    reply_err(settled.req, Errc::no_subscribers, "no subscribers");
  } else if (settled.refusal == Router::Refusal::storage_unavailable) {
    // PB0 has no way to say no; its message is not taken, and the connection says so by closing.
    fail(Errc::storage_unavailable, "storage unavailable");
  } else if (speaks_pb1()) {
    reply_err(settled.req, Errc::not_authorized,
              fmt::format("queue channel limit of {} reached", config_.max_queues));
  } else {
    fail(Errc::not_authorized, "queue channel limit reached");
  }
}

void Session::post_retry() {
  // Called from inside a channel's or the server's bookkeeping: retry later, from a clean stack.
  asio::post(transport_->executor(), [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->retry_parked();
  });
}

void Session::retry_parked() {
  bool moved = false;
  while (state_ < State::closing) {
    const auto settled = gate_.retry_next();
    if (!settled) break;
    moved = true;
    on_published(*settled);
  }
  if (state_ >= State::closing) return;
  report_blocking();
  if (!gate_.empty()) {
    // Progress: a finished peer's PUBs get a fresh grace for as long as they keep moving.
    if (moved && parked_deadline_ != Clock::time_point::max()) {
      parked_deadline_ = Clock::now() + config_.shutdown_grace;
    }
    return;
  }
  parked_deadline_ = Clock::time_point::max();
  // The peer said goodbye while PUBs waited; now they are all taken, close as asked.
  if (state_ == State::finishing) return begin_close(Queued::give_back);
  unblock_input();
}

void Session::report_blocking() {
  // Version 2 is told which full queue its PUBs wait for, as RabbitMQ sends connection.blocked:
  // once when they start waiting on it, once when they stop.
  if (outbox_.dialect() != Dialect::pb1_v2) return;
  const QueueChannel* full = router_.find(gate_.waiting_on());
  const std::string_view now = full ? std::string_view(full->name()) : std::string_view();
  if (now == blocked_on_) return;
  if (!blocked_on_.empty()) {
    outbox_.push(control_frame(protocol::Unblocked{blocked_on_}, protocol::pb1_version_2));
  }
  blocked_on_.assign(now);
  if (!blocked_on_.empty()) {
    outbox_.push(control_frame(protocol::Blocked{blocked_on_}, protocol::pb1_version_2));
  }
}

void Session::on_memory_relieved() {
  gate_.on_memory_relieved();
}

bool Session::input_blocked() const noexcept {
  return authenticating_ || gate_.over_read_ahead() || outbox_.backed_up();
}

void Session::unblock_input() {
  // Cancelling a timer nobody waits on does nothing: no need to know whether the reader sleeps.
  if (!input_blocked()) read_gate_.cancel();
}

void Session::on_room() {
  // A channel already left may be gone; nothing is pumped into a closing connection anyway.
  if (left_channels_) return;
  unblock_input();
  for (const auto& [channel, consumer] : subscriptions_) {
    if (consumer) consumer->channel().pump();
  }
}

void Session::leave(const Subscriptions::value_type& subscription) {
  const auto& [channel, consumer] = subscription;
  if (consumer) {
    router_.unsubscribe(*consumer, channel);
  } else {
    router_.unsubscribe(outbox_, channel);
  }
}

void Session::leave_channels() {
  if (left_channels_) return;
  left_channels_ = true;
  outbox_.stop_accepting();
  outbox_.set_aside_unsent();
  if (const std::size_t unpublished = gate_.abandon(); unpublished > 0) {
    spdlog::warn("session.unpublished sid={} messages={} reason=\"closed while blocked\"", id_,
                 unpublished);
  }
  // One connection may hold 65,535 subscriptions: leaving them all in one turn would stall
  // every other client. The session stays in the server's set until the last is left, and its
  // outbox takes nothing more meanwhile; each channel gets back what it held whole, in order.
  not_left_ = subscriptions_.begin();
  leave_some(channels_left_per_turn);
  if (!leaving()) return;
  router_.bulk_work().add([self = shared_from_this()](std::size_t budget) {
    const std::size_t left = self->leave_some(std::min(budget, channels_left_per_turn));
    if (self->leaving()) return BulkWork::Progress{left, false};
    if (self->state_ == State::stopped) self->server_.forget(self->id_);
    return BulkWork::Progress{left, true};
  });
}

std::size_t Session::leave_some(std::size_t at_most) {
  std::size_t left = 0;
  for (; left < at_most && leaving(); ++left, ++not_left_) leave(*not_left_);
  return left;
}

// ---------------------------------------------------------------------------------------------
// Writing

asio::awaitable<void> Session::write_loop([[maybe_unused]] std::shared_ptr<Session> self) {
  while (state_ != State::stopped) {
    if (outbox_.take_room_regained()) on_room();
    if (outbox_.empty() && !transport_->output_pending()) {
      if (state_ == State::closing) break;
      co_await outbox_.wait();
      continue;
    }
    // Write straight away; only a full socket buffer sends us through the reactor.
    const std::error_code ec = outbox_.flush_to(*transport_);
    if (server_.memory_budget().alarmed()) server_.check_memory();
    if (would_block(ec)) {
      if (const auto wait_ec = co_await transport_->wait(Transport::Ready::writable)) {
        stop(wait_ec.message());
        break;
      }
    } else if (ec) {
      stop(ec.message());
      break;
    }
  }
  if (state_ == State::closing) transport_->shutdown_send();
  loop_done();
}

void Session::loop_done() {
  if (--loops_running_ == 0) stop(state_ >= State::finishing ? "closed" : "done");
}

// ---------------------------------------------------------------------------------------------
// Ending

void Session::fail(Errc code, std::string_view text, Ending ending, std::uint32_t req) {
  if (state_ >= State::finishing) return;
  spdlog::warn("session.error sid={} dialect={} code={} reason={:?}", id_, dialect_name(),
               static_cast<unsigned>(code), text);
  server_.traffic().count_refusal(static_cast<std::uint16_t>(code));
  if (ending == Ending::at_once) return stop(text);
  begin_close(ending == Ending::urgent ? Queued::drop : Queued::give_back);
  // A PB0 peer reads every frame as data, so it is only closed.
  if (speaks_pb1()) {
    outbox_.push(control_frame(protocol::Err{req, static_cast<std::uint16_t>(code), text}));
  }
}

void Session::peer_finished() {
  if (state_ >= State::finishing) return;
  if (gate_.empty()) return begin_close(Queued::give_back);
  // PUBs we read are ours to deliver, even if the peer has nothing more to say (the PB0
  // prototype's senders say goodbye right after their last pair): wait for room, then close.
  enter(State::finishing);
}

void Session::begin_close(Queued queued) {
  if (!enter(State::closing)) return;
  if (queued == Queued::send) {
    outbox_.stop_accepting();
  } else {
    leave_channels();
    if (queued == Queued::drop) outbox_.discard_unsent();
  }
  outbox_.wake();
  close_deadline_ = Clock::now() + config_.shutdown_grace;
  // The reader may be asleep behind the back-pressure gate; let it move on to draining.
  read_gate_.cancel();
}

void Session::shut_down() {
  if (state_ >= State::finishing) return;
  if (state_ == State::open && speaks_pb1()) {
    outbox_.push(control_frame(protocol::Err{0, static_cast<std::uint16_t>(Errc::shutting_down),
                                             "the broker is shutting down"}));
  }
  // Every consumer is closing, so queue deliveries already queued here are flushed rather than
  // given back to a channel that is about to vanish.
  begin_close(Queued::send);
}

void Session::stop(std::string_view reason) {
  if (!enter(State::stopped)) return;
  // The peer will never see the rest of a half-written frame: its queue message goes back too.
  if (auto stranded = outbox_.abandon_partial_write()) {
    router_.give_back(stranded->origin, std::move(stranded->message));
  }
  leave_channels();
  for (const std::string& inbox : owned_inboxes_) server_.reply_owners().release(inbox);
  owned_inboxes_.clear();
  Traffic& traffic = server_.traffic();
  traffic.closed_messages_in += messages_in_;
  traffic.closed_messages_out += outbox_.messages_out();
  spdlog::log(refusing() ? spdlog::level::debug : spdlog::level::info,
              "session.close sid={} peer={} dialect={} subs={} dropped={} reason={:?}", id_, peer_,
              dialect_name(), subscriptions_.size(), outbox_.dropped_total(), reason);
  transport_->close();
  outbox_.wake();
  read_gate_.cancel();
  // Still leaving channels: the last slice does it.
  if (!leaving()) server_.forget(id_);
}

void Session::check_deadlines(Clock::time_point now) {
  if (state_ == State::stopped) return;
  if (now >= close_deadline_) return stop("close timed out");
  if (!gate_.empty()) {
    // A publisher blocked on a full queue is not read, so its peer closing would go unseen and
    // its session, transport and parked PUBs would linger for as long as the queue stays full.
    const auto peer = transport_->probe_peer();
    if (peer == Transport::Peer::gone) return stop("peer gone while blocked");
    if (peer == Transport::Peer::finished && parked_deadline_ == Clock::time_point::max()) {
      parked_deadline_ = now + config_.shutdown_grace;
    }
    // A peer that closed with PUBs still in its own send buffer sends its FIN behind bytes we
    // do not read: nothing shows here until its kernel gives up, minutes later. But a closed
    // socket answers any data with a reset, so a PB1 publisher we stopped reading gets a PING
    // each sweep while nothing else is on its way to it (anything else would tell the same).
    // A live one answers PONG behind its PUBs; the reset of a gone one shows at the next sweep.
    if (peer == Transport::Peer::sending && state_ == State::open && speaks_pb1() &&
        gate_.over_read_ahead() && outbox_.empty()) {
      outbox_.push(control_frame(protocol::Ping{0}));
    }
  }
  if (now >= parked_deadline_) return stop("peer finished while blocked");
  outbox_.trim();
  if (state_ >= State::finishing) return;
  const bool frame_late =
      frame_started_ != Clock::time_point::max() && now - frame_started_ >= config_.frame_timeout;
  if (state_ == State::handshake) {
    if (frame_late || now - opened_at_ >= config_.handshake_timeout) end_handshake();
    return;
  }
  if (!check_liveness(now)) return;
  if (frame_late) {
    fail(Errc::protocol, "incomplete frame timed out",
         speaks_pb1() ? Ending::in_order : Ending::at_once);
  }
}

void Session::note_opening(const char* data, std::size_t n) noexcept {
  // The dialect is unknown until the first frame is complete, but a PB1 peer's first body byte
  // (after the 4-byte length) is a control character: remember it, so that a peer that began its
  // HELLO and did not finish it in time can be told why it is closed.
  constexpr std::size_t first_body_byte = sizeof(std::uint32_t);
  if (opening_bytes_ <= first_body_byte && opening_bytes_ + n > first_body_byte) {
    began_pb1_ =
        protocol::opens_pb1(std::string_view(data + (first_body_byte - opening_bytes_), 1));
  }
  opening_bytes_ += n;
}

void Session::end_handshake() {
  server_.traffic().count_refusal(static_cast<std::uint16_t>(Errc::protocol));
  // Silent connections are the cheapest flood there is: a line a second for all of them.
  server_.handshake_log()("session.handshake_timeout sid={} peer={} received={} pb1={}", id_, peer_,
                          opening_bytes_, began_pb1_);
  if (!began_pb1_) return stop("no complete first frame in time");
  begin_close(Queued::give_back);
  outbox_.push(control_frame(
      protocol::Err{0, static_cast<std::uint16_t>(Errc::protocol), "no complete HELLO in time"}));
}

bool Session::check_liveness(Clock::time_point now) {
  const std::uint64_t written = outbox_.bytes_written();
  const bool wrote = written != written_at_sweep_;
  written_at_sweep_ = written;
  if (wrote) last_written_ = now;
  // A peer we do not read (its PUBs wait for room, or it does not read its answers) is silent
  // because of us: its silence does not count against it.
  if (heard_ || input_blocked()) {
    heard_ = false;
    last_heard_ = now;
    pings_unanswered_ = 0;
  }
  if (state_ != State::open) return true;

  // A send queue at its cap that nothing leaves: the peer reads nothing (or its host is gone and
  // TCP retransmits for many minutes). Its queued messages would never go out; ERR 8 is sent if
  // the socket takes it.
  if (config_.write_deadline.count() > 0 && outbox_.full() && !wrote) {
    if (stuck_since_ == Clock::time_point::max()) stuck_since_ = now;
    if (now - stuck_since_ >= config_.write_deadline) {
      fail(Errc::slow_consumer,
           fmt::format("slow consumer: nothing written for {} ms with the send queue full",
                       config_.write_deadline.count()),
           Ending::urgent);
      return false;
    }
  } else {
    stuck_since_ = Clock::time_point::max();
  }

  if (!speaks_pb1()) {
    // PB0 has no PING: the idle timeout is its only liveness check beside TCP keepalive.
    const auto active = std::max(last_heard_, last_written_);
    if (config_.idle_timeout.count() > 0 && now - active >= config_.idle_timeout) {
      stop("idle timeout");
      return false;
    }
    return true;
  }
  // As nats does: a PING after each interval of silence; a peer that answered none of
  // ping_max_missed of them by the next interval is stale (its host may have vanished without a
  // FIN). Closing it gives its unacked deliveries back to their queues.
  if (config_.ping_interval.count() <= 0) return true;
  if (now - last_heard_ < config_.ping_interval * (pings_unanswered_ + 1)) return true;
  if (pings_unanswered_ >= config_.ping_max_missed) {
    stop("stale connection");
    return false;
  }
  ++pings_unanswered_;
  outbox_.push(control_frame(protocol::Ping{++pings_sent_}));
  return true;
}

}  // namespace paperboy::broker
