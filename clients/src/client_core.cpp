#include "client_core.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/ip/address.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <limits>
#include <unordered_set>
#include <utility>

#include "channel_match.hpp"
#include "errors.hpp"
#include "message_fill.hpp"
#include "paperboy/protocol/channel.hpp"
#include "paperboy/protocol/errc.hpp"
#include "paperboy/protocol/headers.hpp"

namespace paperboy::client {
namespace {

using Clock = ClientCore::Clock;
using asio::use_awaitable;

constexpr std::size_t read_size = 64 * 1024;
// How long a failed write waits for the reader to find the ERR that explains it.
constexpr auto explain_timeout = std::chrono::milliseconds(200);
// WELCOME is small: a longer answer to HELLO is not from a paperboyd.
constexpr std::uint32_t max_welcome_size = 64 * 1024;
constexpr std::size_t max_field_size = std::numeric_limits<std::uint16_t>::max();
// Where a PUB frame's request id sits: after the length prefix and the op.
constexpr std::size_t pub_req_offset = protocol::frame_header_size + 1;

// 128 bits from std::random_device, in hex. Whoever knows a connection's reply channel can
// subscribe to it and read its replies, so it must not be guessable from anything public.
std::string random_reply_id() {
  constexpr char hex_digits[] = "0123456789abcdef";
  std::random_device device;
  std::string id;
  for (int word = 0; word < 4; ++word) {
    const auto bits = static_cast<std::uint32_t>(device());
    for (int shift = 28; shift >= 0; shift -= 4) id += hex_digits[(bits >> shift) & 0xFU];
  }
  return id;
}

// u16-prefixed fields that do not fit would corrupt the stream; refuse them before encoding.
void check_field(std::string_view value, std::string_view name, protocol::Errc code) {
  if (value.size() > max_field_size) {
    throw Error(protocol::make_error_code(code),
                std::string(name) + " of " + std::to_string(value.size()) +
                    " bytes is longer than the protocol allows (65535)",
                false);
  }
}

std::string peer_name(const Server& server) {
  return server.host + ":" + std::to_string(server.port);
}

Error closed_error() {
  return Error(make_error_code(std::errc::not_connected), "the client is closed", true);
}

Error lost_error(std::string_view what) {
  return Error(make_error_code(std::errc::connection_reset),
               "the connection was lost " + std::string(what), true);
}

std::uint32_t read_u32(const char* at) noexcept {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(at[i]);
  return value;
}

void write_u32(char* at, std::uint32_t value) noexcept {
  for (int i = 3; i >= 0; --i) {
    at[i] = static_cast<char>(value & 0xFFU);
    value >>= 8;
  }
}

// A MSG seen in place.
MessageView view_of(const protocol::Msg& msg, std::uint64_t connection) noexcept {
  MessageView view;
  view.channel = msg.channel;
  view.reply_to = msg.reply_to;
  view.payload = msg.payload;
  view.delivery = msg.delivery;
  view.redelivered = msg.redelivered();
  view.published_at = msg.published_at;
  view.connection = connection;
  view.header_block = msg.headers;
  return view;
}

}  // namespace

std::size_t held_bytes(const Message& message) noexcept {
  std::size_t bytes = sizeof(SubscriptionEvent) + message.channel.size() + message.reply_to.size() +
                      message.payload.size();
  for (const auto& header : message.headers) {
    bytes += sizeof(Header) + header.key.size() + header.value.size();
  }
  return bytes;
}

std::size_t held_bytes(const Gap& gap) noexcept {
  return sizeof(SubscriptionEvent) + gap.channel.size();
}

std::size_t held_bytes(const SubscriptionEvent& event) noexcept {
  return std::visit([](const auto& item) { return held_bytes(item); }, event);
}

ClientCore::ClientCore(asio::any_io_executor executor)
    : executor_(std::move(executor)),
      keepalive_timer_(executor_),
      reconnect_timer_(executor_),
      in_(read_size, protocol::max_frame_body(protocol::default_max_payload)),
      jitter_(std::random_device{}()) {}

ClientCore::~ClientCore() = default;

std::string ClientCore::server() const {
  return servers_.empty() ? std::string() : peer_name(servers_[server_index_]);
}

// --- Connecting ------------------------------------------------------------------------------

asio::awaitable<void> ClientCore::connect(std::vector<Server> servers, ConnectOptions options) {
  if (state_ != State::idle) {
    throw Error(make_error_code(std::errc::already_connected), "connect() was called already",
                false);
  }
  check_field(options.client_name, "client name", protocol::Errc::protocol);
  check_field(options.token, "token", protocol::Errc::protocol);
  if (options.protocol_version < protocol::pb1_version ||
      options.protocol_version > newest_protocol_version) {
    throw Error(make_error_code(std::errc::invalid_argument),
                "PB1 version " + std::to_string(options.protocol_version) +
                    " is not one this client speaks (1 to " +
                    std::to_string(newest_protocol_version) + ")",
                true);
  }
  if (options.tls.enabled) tls_context_.emplace(make_tls_context(options.tls));
  options_ = std::move(options);
  servers_ = std::move(servers);
  state_ = State::connecting;
  return connect_first();
}

asio::awaitable<void> ClientCore::connect_first() {
  auto self = shared_from_this();
  try {
    auto welcomed = co_await establish_next(static_cast<unsigned>(servers_.size()));
    if (state_ == State::closed) throw closed_error();
    start_connection(std::move(welcomed));
  } catch (...) {
    if (state_ == State::connecting) state_ = State::closed;
    throw;
  }
}

// Tries up to `count` servers, from the current one on; the last failure is thrown.
asio::awaitable<ClientCore::Welcomed> ClientCore::establish_next(unsigned count) {
  std::exception_ptr last;
  for (unsigned tried = 0; tried < count; ++tried) {
    const Server server = servers_[server_index_];
    const auto deadline = Clock::now() + options_.connect_timeout;
    try {
      try {
        co_return co_await handshake(server, options_.protocol_version, deadline);
      } catch (const Error& error) {
        // A version-1 broker refuses any other version with ERR 9 and closes: ask again, once,
        // in the version it speaks.
        if (error.code() != protocol::Errc::unsupported_version ||
            options_.protocol_version == protocol::pb1_version) {
          throw;
        }
      }
      co_return co_await handshake(server, protocol::pb1_version, deadline);
    } catch (const Error& error) {
      last = std::current_exception();
      // A broker that refuses our credentials refuses them everywhere.
      if (error.code() == protocol::Errc::auth_failed) break;
    }
    if (state_ == State::closed) break;
    server_index_ = (server_index_ + 1) % static_cast<unsigned>(servers_.size());
  }
  std::rethrow_exception(last ? last : std::make_exception_ptr(closed_error()));
}

asio::awaitable<ClientCore::Welcomed> ClientCore::handshake(const Server& server,
                                                            std::uint8_t version,
                                                            Clock::time_point deadline) {
  const std::string peer = peer_name(server);
  // Shared with the deadline's handler, which may run after this coroutine is gone.
  auto stream =
      tls_context_ ? std::make_shared<ServerStream>(asio::ip::tcp::socket(executor_), *tls_context_)
                   : std::make_shared<ServerStream>(asio::ip::tcp::socket(executor_));
  // One timer bounds the whole handshake: at the deadline it closes the socket, which ends
  // whichever operation is waiting.
  auto expired = std::make_shared<bool>(false);
  asio::steady_timer deadline_timer(executor_, deadline);
  deadline_timer.async_wait([expired, stream](asio::error_code ec) {
    if (ec) return;
    *expired = true;
    stream->close();
  });
  struct CancelOnExit {
    asio::steady_timer& timer;
    ~CancelOnExit() { timer.cancel(); }
  } cancel_on_exit{deadline_timer};

  auto fail = [&](const asio::error_code& ec, std::string_view what) -> Error {
    if (*expired) {
      return Error(make_error_code(std::errc::timed_out),
                   "timed out " + std::string(what) + " " + peer, true);
    }
    return connection_error(ec, std::string(what) + " " + peer + ": " + ec.message());
  };

  asio::error_code ec;
  std::vector<asio::ip::tcp::endpoint> endpoints;
  const auto address = asio::ip::make_address(server.host, ec);
  if (!ec) {
    endpoints.emplace_back(address, server.port);
  } else {
    asio::ip::tcp::resolver resolver(executor_);
    const auto results = co_await resolver.async_resolve(server.host, std::to_string(server.port),
                                                         asio::redirect_error(use_awaitable, ec));
    if (ec) throw fail(ec, "resolving");
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  co_await asio::async_connect(stream->socket(), endpoints,
                               asio::redirect_error(use_awaitable, ec));
  if (ec) throw fail(ec, "connecting to");
  // We batch frames ourselves; Nagle would only delay the last partial batch.
  stream->socket().set_option(asio::ip::tcp::no_delay(true), ec);

  if (stream->tls()) {
    auto& tls = stream->tls_stream();
    const auto& name = options_.tls.server_name.empty() ? server.host : options_.tls.server_name;
    prepare_tls_handshake(tls, name, options_.tls.verify_peer);
    co_await tls.async_handshake(asio::ssl::stream_base::client,
                                 asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (*expired) throw fail(ec, "TLS handshake with");
      throw connection_error(ec, "TLS handshake with " + peer + ": " + tls_failure(tls, ec));
    }
  }

  const std::string hello =
      protocol::encode_frame(protocol::Hello{version, options_.client_name, options_.token});
  co_await asio::async_write(*stream, asio::buffer(hello), asio::redirect_error(use_awaitable, ec));
  if (ec) throw fail(ec, "sending HELLO to");

  // Read exactly the answer (nothing past it), so the frame buffer can be sized by WELCOME.
  char prefix[protocol::frame_header_size];
  co_await asio::async_read(*stream, asio::buffer(prefix), asio::redirect_error(use_awaitable, ec));
  if (ec) throw fail(ec, "waiting for WELCOME from");
  const auto length = read_u32(prefix);
  if (length == 0 || length > max_welcome_size) {
    // Something that is not a PB1 broker (an HTTP server, a PB0-only peer) says so with bytes
    // that parse as an absurd frame length.
    throw protocol_error(peer + " did not answer HELLO with a PB1 frame (not a paperboyd?)");
  }
  std::string body(length, '\0');
  co_await asio::async_read(*stream, asio::buffer(body), asio::redirect_error(use_awaitable, ec));
  if (ec) throw fail(ec, "waiting for WELCOME from");

  const auto decoded = protocol::decode(body);
  if (!decoded) throw protocol_error("malformed frame from " + peer + " instead of WELCOME");
  // Until WELCOME nothing else may arrive; an ERR here (auth failed, too many connections,
  // unsupported version, shutting down) means we were not let in, whatever its code.
  if (const auto* err = std::get_if<protocol::Err>(&*decoded)) {
    const Error refused = server_error(*err);
    throw Error(refused.code(), refused.what(), true, err->req, refused.server_text());
  }
  const auto* welcome = std::get_if<protocol::Welcome>(&*decoded);
  if (welcome == nullptr) {
    throw protocol_error(std::string(protocol::op_name(protocol::op_of(*decoded))) + " from " +
                         peer + " instead of WELCOME");
  }
  // The broker answers in the newest version both speak, never a newer one than we asked for.
  if (welcome->version < protocol::pb1_version || welcome->version > version) {
    throw Error(protocol::make_error_code(protocol::Errc::unsupported_version),
                peer + " answered in PB1 version " + std::to_string(welcome->version) +
                    " to a HELLO in version " + std::to_string(version),
                true);
  }
  co_return Welcomed{std::move(stream),
                     server,
                     welcome->version,
                     welcome->max_payload,
                     std::string(welcome->server_id),
                     std::string(welcome->server_version)};
}

void ClientCore::start_connection(Welcomed welcomed) {
  const auto old_version = version_;
  stream_ = std::move(welcomed.stream);
  version_ = welcomed.version;
  max_payload_ = welcomed.max_payload;
  server_id_ = std::move(welcomed.server_id);
  server_version_ = std::move(welcomed.server_version);
  const auto limit = std::min(
      max_payload_, std::numeric_limits<std::uint32_t>::max() - protocol::frame_header_allowance);
  in_ = protocol::FrameBuffer(read_size, protocol::max_frame_body(limit));
  out_.clear();
  writing_.clear();
  written_total_ = queued_total_;
  last_read_ = Clock::now();
  answers_.clear();
  unsettled_.clear();
  blocked_on_.clear();
  state_ = State::connected;
  const auto generation = ++generation_;

  // Every subscription first, in order, then what was published meanwhile.
  for (const auto& subscription : subscriptions_) {
    subscription->confirmed = false;
    subscription->unsettled = 0;
    send_sub(subscription);
  }
  auto parked = std::exchange(parked_, {});
  parked_bytes_ = 0;
  for (auto& item : parked) {
    if (old_version != 0 && old_version != version_) {
      // Encoded for the last connection's version: encode it again for this one.
      const auto body = std::string_view(item.frame).substr(protocol::frame_header_size);
      if (const auto pub = protocol::decode_pub(body, old_version)) {
        item.frame = protocol::encode_frame(*pub, version_);
      }
    }
    if (item.completion) {
      const auto req = next_req();
      write_u32(item.frame.data() + pub_req_offset, req);
      answers_[req] = Answer{Answer::Kind::confirm, nullptr, item.completion, 0};
    }
    append_raw(item.frame);
  }

  auto self = shared_from_this();
  asio::co_spawn(executor_, read_loop(generation), asio::detached);
  asio::co_spawn(executor_, write_loop(generation), asio::detached);
  asio::co_spawn(executor_, keepalive_loop(generation), asio::detached);
  changed_.notify_all();
}

// --- The connection's coroutines ---------------------------------------------------------------

asio::awaitable<void> ClientCore::read_loop(std::uint64_t generation) {
  auto self = shared_from_this();
  const auto stream = stream_;
  asio::error_code ec;
  for (;;) {
    // Frames already buffered first; stop handing them out while the application's buffers are
    // full, so the broker's slow-consumer handling applies instead of our memory growing.
    for (;;) {
      while (reading_held()) {
        co_await room_.wait_until(Clock::time_point::max());
        if (generation != generation_) co_return;
      }
      const auto parsed = in_.next();
      if (parsed.status == protocol::FrameStatus::need_more) break;
      if (parsed.status == protocol::FrameStatus::too_large) {
        lose(generation,
             protocol_error("the server sent a frame of " + std::to_string(parsed.declared_length) +
                            " bytes, over the limit"));
        co_return;
      }
      try {
        on_frame(parsed.body);
      } catch (const Error& error) {
        lose(generation, error);
        co_return;
      }
      if (generation != generation_) co_return;
    }
    const auto n =
        co_await stream->async_read_some(asio::buffer(in_.writable_data(), in_.writable_size()),
                                         asio::redirect_error(use_awaitable, ec));
    if (generation != generation_) co_return;
    if (ec) {
      lose(generation,
           ec == asio::error::eof
               ? connection_error(make_error_code(std::errc::connection_reset),
                                  in_.partial() ? "the server closed the connection mid-frame"
                                                : "the server closed the connection")
               : connection_error(ec, "cannot read from the server: " + ec.message()));
      co_return;
    }
    in_.commit(n);
    last_read_ = Clock::now();
  }
}

asio::awaitable<void> ClientCore::write_loop(std::uint64_t generation) {
  auto self = shared_from_this();
  const auto stream = stream_;
  asio::error_code ec;
  for (;;) {
    while (out_.empty()) {
      writer_idle_ = true;
      co_await writer_.wait_until(Clock::time_point::max());
      if (generation != generation_) co_return;
    }
    writer_idle_ = false;
    writing_.swap(out_);
    co_await asio::async_write(*stream, asio::buffer(writing_),
                               asio::redirect_error(use_awaitable, ec));
    if (generation != generation_) co_return;
    if (ec) {
      // The broker usually said why it closes (an ERR, maybe still unread): give the reader a
      // moment to find it, the better report, before this one.
      const auto error = connection_error(ec, "cannot write to the server: " + ec.message());
      asio::steady_timer explain(executor_, explain_timeout);
      co_await explain.async_wait(asio::redirect_error(use_awaitable, ec));
      lose(generation, error);
      co_return;
    }
    written_total_ += writing_.size();
    writing_.clear();
    changed_.notify_all();
  }
}

asio::awaitable<void> ClientCore::keepalive_loop(std::uint64_t generation) {
  auto self = shared_from_this();
  if (options_.ping_interval <= Timeout::zero()) co_return;
  asio::error_code ignored;
  for (;;) {
    const auto idle_until = last_read_ + options_.ping_interval;
    if (Clock::now() < idle_until || reading_held()) {
      // While we hold reading back, the silence is ours, not the broker's.
      if (reading_held()) last_read_ = Clock::now();
      keepalive_timer_.expires_at(std::max(idle_until, Clock::now() + options_.ping_interval / 4));
      co_await keepalive_timer_.async_wait(asio::redirect_error(use_awaitable, ignored));
      if (generation != generation_) co_return;
      continue;
    }
    const auto token = ++last_ping_token_;
    append(protocol::Ping{token});
    keepalive_timer_.expires_after(options_.ping_timeout);
    co_await keepalive_timer_.async_wait(asio::redirect_error(use_awaitable, ignored));
    if (generation != generation_) co_return;
    if (last_pong_token_ < token && !reading_held()) {
      lose(generation, Error(make_error_code(std::errc::timed_out),
                             "no PONG from " + server() + " within " +
                                 std::to_string(options_.ping_timeout.count()) + " ms",
                             true));
      co_return;
    }
  }
}

void ClientCore::lose(std::uint64_t generation, const Error& why) {
  if (generation != generation_ || state_ != State::connected) return;
  ++generation_;
  stream_->close();
  keepalive_timer_.cancel();
  writer_.notify_all();
  room_.notify_all();
  park_unsent();
  // Nothing of the lost connection can be answered any more.
  for (auto& [req, answer] : answers_) {
    if (answer.kind == Answer::Kind::unsubscribe && answer.completion) {
      answer.completion->ok = true;  // the connection's subscriptions are gone with it
      answer.completion->waiters.notify_all();
    }
  }
  answers_.clear();
  for (auto& [correlation, request] : requests_) {
    if (!request->reply && !request->error) {
      request->error = lost_error("before the reply came (" + std::string(why.what()) + ")");
      request->waiters.notify_all();
    }
  }
  unsettled_.clear();
  for (const auto& subscription : subscriptions_) {
    subscription->confirmed = false;
    subscription->unsettled = 0;
  }
  blocked_on_.clear();
  emit(Disconnected{why.what()});
  if (options_.reconnect.enabled && state_ == State::connected) {
    state_ = State::reconnecting;
    changed_.notify_all();
    asio::co_spawn(executor_, reconnect_loop(), asio::detached);
  } else if (state_ == State::connected) {
    finish(why);
  }
}

// The frames not written yet, and the confirmed PUBs not confirmed yet, wait for the next
// connection, in their order: what was sent and not confirmed first (resent, or failed when
// resend_unconfirmed is off), then what was never sent.
void ClientCore::park_unsent() {
  std::vector<std::pair<std::uint32_t, std::shared_ptr<Completion>>> sent;
  std::deque<Parked> unsent;
  std::unordered_set<std::uint32_t> unsent_reqs;
  for (std::size_t at = 0; at + protocol::frame_header_size <= out_.size();) {
    const auto size = protocol::frame_header_size + read_u32(out_.data() + at);
    const std::string_view frame(out_.data() + at, size);
    at += size;
    if (static_cast<protocol::Op>(frame[protocol::frame_header_size]) != protocol::Op::pub) {
      continue;  // SUBs are sent again from the table; acks mean nothing on a new connection
    }
    const auto req = read_u32(frame.data() + pub_req_offset);
    if (req == 0) {
      unsent.push_back(Parked{std::string(frame), nullptr});
      continue;
    }
    const auto answer = answers_.find(req);
    if (answer == answers_.end() || answer->second.kind != Answer::Kind::confirm) continue;
    unsent.push_back(Parked{std::string(frame), answer->second.completion});
    unsent_reqs.insert(req);
  }
  for (const auto& [req, answer] : answers_) {
    if (answer.kind == Answer::Kind::confirm && !unsent_reqs.contains(req)) {
      sent.emplace_back(req, answer.completion);
    }
  }
  std::sort(sent.begin(), sent.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::deque<Parked> parked;
  for (auto& [req, completion] : sent) {
    if (options_.resend_unconfirmed) {
      parked.push_back(Parked{completion->frame, completion});
    } else {
      completion->error = lost_error("before the broker confirmed the publish");
      completion->waiters.notify_all();
    }
  }
  for (auto& item : unsent) parked.push_back(std::move(item));
  for (auto& item : parked_) parked.push_back(std::move(item));
  parked_ = std::move(parked);
  parked_bytes_ = 0;
  for (const auto& item : parked_) parked_bytes_ += item.frame.size();
  // What the writer had in hand may or may not have reached the broker: it is gone.
  written_total_ = queued_total_;
  out_.clear();
  writing_.clear();
}

asio::awaitable<void> ClientCore::reconnect_loop() {
  auto self = shared_from_this();
  const auto& policy = options_.reconnect;
  asio::error_code ignored;
  std::string last_failure;
  for (unsigned attempt = 0; policy.max_attempts == 0 || attempt < policy.max_attempts; ++attempt) {
    // Full jitter: a random wait up to the exponential bound.
    const auto shift = std::min(attempt, 20U);
    const Timeout bound = std::min<Timeout>(
        policy.max_delay, policy.initial_delay * static_cast<Timeout::rep>(1LL << shift));
    std::uniform_int_distribution<Timeout::rep> pick(0, std::max<Timeout::rep>(bound.count(), 0));
    reconnect_timer_.expires_after(Timeout(pick(jitter_)));
    co_await reconnect_timer_.async_wait(asio::redirect_error(use_awaitable, ignored));
    if (state_ != State::reconnecting) co_return;
    server_index_ = (server_index_ + 1) % static_cast<unsigned>(servers_.size());
    try {
      auto welcomed = co_await establish_next(1);
      if (state_ != State::reconnecting) co_return;
      start_connection(std::move(welcomed));
      emit(Reconnected{server(), attempt + 1});
      co_return;
    } catch (const Error& error) {
      last_failure = error.what();
      if (error.code() == protocol::Errc::auth_failed) break;
    }
    if (state_ != State::reconnecting) co_return;
  }
  const Error gave_up(make_error_code(std::errc::connection_reset),
                      "gave up reconnecting: " + last_failure, true);
  emit(GaveUp{gave_up.what()});
  if (state_ == State::reconnecting) finish(gave_up);
}

void ClientCore::finish(std::optional<Error> reason) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  ++generation_;
  close_reason_ = std::move(reason);
  if (stream_) stream_->close();
  keepalive_timer_.cancel();
  reconnect_timer_.cancel();
  const Error why = close_reason_.value_or(closed_error());
  for (auto& [req, answer] : answers_) {
    if (answer.completion && !answer.completion->ok && !answer.completion->error) {
      answer.completion->error = why;
    }
    if (answer.completion) answer.completion->waiters.notify_all();
    if (answer.subscription) answer.subscription->waiters.notify_all();
  }
  answers_.clear();
  for (auto& item : parked_) {
    if (item.completion) {
      item.completion->error = why;
      item.completion->waiters.notify_all();
    }
  }
  parked_.clear();
  parked_bytes_ = 0;
  for (auto& [correlation, request] : requests_) {
    if (!request->reply && !request->error) request->error = why;
    request->waiters.notify_all();
  }
  for (const auto& subscription : subscriptions_) {
    subscription->ended = true;
    subscription->waiters.notify_all();
  }
  writer_.notify_all();
  room_.notify_all();
  changed_.notify_all();
}

void ClientCore::close() {
  finish(std::nullopt);
}

// --- What the broker sends ---------------------------------------------------------------------

void ClientCore::on_frame(std::string_view body) {
  // Nearly every frame a subscriber reads is a MSG: decoded without the generic variant.
  if (const auto msg = protocol::decode_msg(body, version_)) {
    on_msg(*msg);
    return;
  }
  const auto decoded = protocol::decode(body, version_);
  if (!decoded) throw protocol_error("malformed frame from the server");
  const auto& message = *decoded;
  switch (protocol::op_of(message)) {
    case protocol::Op::msg: on_msg(std::get<protocol::Msg>(message)); return;
    case protocol::Op::gap: on_gap(std::get<protocol::Gap>(message)); return;
    case protocol::Op::ok: on_ok(std::get<protocol::Ok>(message).req); return;
    case protocol::Op::err: on_err(std::get<protocol::Err>(message)); return;
    case protocol::Op::ping:
      append(protocol::Pong{std::get<protocol::Ping>(message).token});
      return;
    case protocol::Op::pong:
      last_pong_token_ = std::max(last_pong_token_, std::get<protocol::Pong>(message).token);
      changed_.notify_all();
      return;
    case protocol::Op::blocked: {
      std::string channel(std::get<protocol::Blocked>(message).channel);
      if (std::find(blocked_on_.begin(), blocked_on_.end(), channel) == blocked_on_.end()) {
        blocked_on_.push_back(channel);
      }
      emit(Blocked{std::move(channel)});
      return;
    }
    case protocol::Op::unblocked: {
      std::string channel(std::get<protocol::Unblocked>(message).channel);
      std::erase(blocked_on_, channel);
      changed_.notify_all();
      emit(Unblocked{std::move(channel)});
      return;
    }
    case protocol::Op::hello:
    case protocol::Op::welcome:
    case protocol::Op::sub:
    case protocol::Op::unsub:
    case protocol::Op::pub:
    case protocol::Op::ack:
    case protocol::Op::nack: break;
  }
  throw protocol_error("unexpected " + std::string(protocol::op_name(protocol::op_of(message))) +
                       " from the server");
}

void ClientCore::on_msg(const protocol::Msg& msg) {
  if (is_reply(msg.channel)) {
    take_reply(msg);
    return;
  }
  const MessageView view = view_of(msg, generation_);
  // Left meanwhile when there is none: the broker takes unacked ones back.
  for (const auto& target : route(msg.channel, msg.delivery != 0)) {
    auto& subscription = *target;
    if (msg.delivery != 0) {
      if (subscription.draining) {
        append(protocol::Nack{msg.delivery});
        return;
      }
      unsettled_[msg.delivery] = target;
      ++subscription.unsettled;
    }
    if (subscription.view_handler) {
      call_handler(subscription.view_handler, view);
      continue;
    }
    if (subscription.handler) {
      SubscriptionEvent event{std::in_place_type<Message>};
      fill_message(std::get<Message>(event), view);
      call_handler(subscription.handler, std::move(event));
      continue;
    }
    auto& event = subscription.queue.emplace_back(std::in_place_type<Message>);
    fill_message(std::get<Message>(event), view);
    queued(subscription, held_bytes(event));
  }
}

void ClientCore::on_gap(const protocol::Gap& gap) {
  for (const auto& target : route(gap.channel, false)) {
    auto& subscription = *target;
    subscription.dropped += gap.dropped;
    if (subscription.view_handler) continue;  // counted only
    SubscriptionEvent event{Gap{std::string(gap.channel), gap.dropped}};
    if (subscription.handler) {
      call_handler(subscription.handler, std::move(event));
      continue;
    }
    queued(subscription, held_bytes(subscription.queue.emplace_back(std::move(event))));
  }
}

void ClientCore::queued(SubscriptionState& subscription, std::size_t bytes) {
  subscription.queued_bytes += bytes;
  if (!subscription.full && (subscription.queue.size() >= options_.max_pending_messages ||
                             subscription.queued_bytes >= options_.max_pending_bytes)) {
    subscription.full = true;
    ++full_streams_;
  }
  if (!subscription.waiters.empty()) subscription.waiters.notify_all();
}

std::optional<SubscriptionEvent> ClientCore::take_event(SubscriptionState& subscription) {
  if (subscription.queue.empty()) return std::nullopt;
  SubscriptionEvent event = std::move(subscription.queue.front());
  subscription.queue.pop_front();
  subscription.queued_bytes -= held_bytes(event);
  if (subscription.full && subscription.queue.size() < options_.max_pending_messages &&
      subscription.queued_bytes < options_.max_pending_bytes) {
    subscription.full = false;
    --full_streams_;
    room_.notify_all();
  }
  if (subscription.draining) changed_.notify_all();
  return event;
}

std::span<const std::shared_ptr<SubscriptionState>> ClientCore::route(std::string_view channel,
                                                                      bool first_only) const {
  // A connection's messages mostly come on the channel of the one before.
  if (!route_cached_ || channel != last_route_channel_) {
    last_route_channel_.assign(channel);
    last_targets_.clear();
    if (const auto exact = by_channel_.find(channel); exact != by_channel_.end()) {
      last_targets_.push_back(exact->second);
    }
    for (const auto& pattern : patterns_) {
      if (subscription_matches(pattern->channel, channel)) last_targets_.push_back(pattern);
    }
    route_cached_ = true;
  }
  // A delivery to ack belongs to one subscription; the blocking Client's subscriptions share
  // one queue, which takes each message once.
  const bool one = first_only || deliver_once_;
  return {last_targets_.data(),
          one ? std::min<std::size_t>(last_targets_.size(), 1) : last_targets_.size()};
}

std::shared_ptr<SubscriptionState> ClientCore::find_subscription(std::string_view channel) const {
  const auto found = by_channel_.find(channel);
  return found == by_channel_.end() ? nullptr : found->second;
}

void ClientCore::add_subscription(const std::shared_ptr<SubscriptionState>& subscription) {
  route_cached_ = false;
  subscriptions_.push_back(subscription);
  if (protocol::is_pattern(subscription->channel)) {
    patterns_.push_back(subscription);
  } else {
    by_channel_.emplace(subscription->channel, subscription);
  }
}

bool ClientCore::remove_subscription(const std::shared_ptr<SubscriptionState>& subscription) {
  const auto found = std::find(subscriptions_.begin(), subscriptions_.end(), subscription);
  if (found == subscriptions_.end()) return false;
  route_cached_ = false;
  subscriptions_.erase(found);
  std::erase(patterns_, subscription);
  if (const auto exact = by_channel_.find(subscription->channel);
      exact != by_channel_.end() && exact->second == subscription) {
    by_channel_.erase(exact);
  }
  return true;
}

bool ClientCore::is_reply(std::string_view channel) const noexcept {
  if (!reply_inbox_ || !channel.starts_with(reply_inbox_->channel)) return false;
  const auto suffix = channel.substr(reply_inbox_->channel.size());
  return suffix.empty() || suffix.front() == '/';  // else another channel, same prefix
}

// On our reply channel: a reply to a request in flight, or one to discard (answered, cancelled,
// or not one of our correlations).
void ClientCore::take_reply(const protocol::Msg& msg) {
  const auto suffix = msg.channel.substr(reply_inbox_->channel.size());
  if (suffix.size() < 2) return;
  std::uint64_t correlation = 0;
  for (const char c : suffix.substr(1)) {
    if (c < '0' || c > '9' || correlation > std::numeric_limits<std::uint64_t>::max() / 10) {
      return;
    }
    correlation = correlation * 10 + static_cast<std::uint64_t>(c - '0');
  }
  const auto found = requests_.find(correlation);
  if (found == requests_.end() || found->second->reply || found->second->error) return;
  fill_message(found->second->reply.emplace(), view_of(msg, generation_));
  found->second->waiters.notify_all();
}

void ClientCore::on_ok(std::uint32_t req) {
  const auto found = answers_.find(req);
  if (found == answers_.end()) return;  // answers a call that already timed out
  const Answer answer = std::move(found->second);
  answers_.erase(found);
  switch (answer.kind) {
    case Answer::Kind::subscribe:
      answer.subscription->confirmed = true;
      answer.subscription->waiters.notify_all();
      return;
    case Answer::Kind::unsubscribe:
    case Answer::Kind::confirm:
      answer.completion->ok = true;
      answer.completion->waiters.notify_all();
      return;
    case Answer::Kind::request: return;  // taken; the reply is what counts
  }
}

void ClientCore::on_err(const protocol::Err& err) {
  Error error = server_error(err);
  if (error.connection_lost()) throw error;
  const auto found = err.req == 0 ? answers_.end() : answers_.find(err.req);
  if (found == answers_.end()) {
    emit(Refused{std::move(error)});
    return;
  }
  const Answer answer = std::move(found->second);
  answers_.erase(found);
  switch (answer.kind) {
    case Answer::Kind::subscribe:
      answer.subscription->refusal = error;
      answer.subscription->ended = true;
      remove_subscription(answer.subscription);
      answer.subscription->waiters.notify_all();
      return;
    case Answer::Kind::unsubscribe:
    case Answer::Kind::confirm:
      answer.completion->error = error;
      answer.completion->waiters.notify_all();
      return;
    case Answer::Kind::request: {
      const auto request = requests_.find(answer.correlation);
      if (request != requests_.end() && !request->second->reply) {
        request->second->error = error;
        request->second->waiters.notify_all();
      }
      return;
    }
  }
}

void ClientCore::emit(ConnectionEvent event) {
  if (options_.on_event) call_handler(options_.on_event, std::move(event));
}

template <class Handler, class Event>
void ClientCore::call_handler(const Handler& handler, Event&& event) {
  // A handler's exception must not tear down the connection it was called from.
  try {
    handler(std::forward<Event>(event));
  } catch (...) {
    if (!handler_error_) handler_error_ = std::current_exception();
  }
}

// --- What the application sends ----------------------------------------------------------------

void ClientCore::check_open() const {
  if (state_ == State::closed || state_ == State::idle) {
    throw close_reason_ ? *close_reason_ : not_connected_error();
  }
}

std::uint32_t ClientCore::next_req() noexcept {
  if (++last_req_ == 0) last_req_ = 1;  // 0 means "no answer wanted"
  return last_req_;
}

void ClientCore::append(const protocol::Message& message) {
  const auto before = out_.size();
  protocol::append_frame(out_, message, version_);
  appended(before);
}

void ClientCore::append_raw(std::string_view frame) {
  const auto before = out_.size();
  out_.append(frame);
  appended(before);
}

void ClientCore::appended(std::size_t before) {
  queued_total_ += out_.size() - before;
  if (writer_idle_) {
    writer_idle_ = false;
    writer_.notify_all();
  }
}

std::size_t ClientCore::buffered_bytes() const noexcept {
  return out_.size() + writing_.size() + parked_bytes_;
}

bool ClientCore::reading_held() const {
  return full_streams_ > 0 || (reading_held_ && reading_held_());
}

void ClientCore::encode_pub(std::string& out, std::uint32_t req, std::string_view channel,
                            std::string_view payload, const PublishOptions& options) const {
  check_field(channel, "channel name", protocol::Errc::bad_channel);
  check_field(options.reply_to, "reply-to channel name", protocol::Errc::bad_channel);
  const bool needs_v2 =
      !options.headers.empty() || options.ttl > Timeout::zero() || options.require_subscriber;
  if (needs_v2 && version_ < protocol::pb1_version_2) {
    throw Error(protocol::make_error_code(protocol::Errc::unsupported_version),
                "not published to " + printable(channel) +
                    ": the broker speaks PB1 version 1, which has no headers, TTL or "
                    "require-a-subscriber",
                false);
  }
  protocol::HeaderBuilder headers;
  for (const auto& header : options.headers) {
    if (!headers.add(header.key, header.value)) {
      throw Error(make_error_code(std::errc::invalid_argument),
                  protocol::valid_header_key(header.key)
                      ? "headers of more than 65535 bytes (at header " + printable(header.key) + ")"
                      : "bad header key \"" + printable(header.key) +
                            "\": 1 to 255 bytes of printable ASCII without space or ':'",
                  false);
    }
  }
  // The broker would answer a larger message with ERR 2 and close the connection.
  const auto size = payload.size() + headers.bytes().size();
  if (size > max_payload_) {
    throw Error(protocol::make_error_code(protocol::Errc::frame_too_large),
                (headers.bytes().empty() ? "payload of " : "payload and headers of ") +
                    std::to_string(size) + " bytes exceed the server's max_payload of " +
                    std::to_string(max_payload_),
                false);
  }
  constexpr auto max_ttl = Timeout(std::numeric_limits<std::uint32_t>::max());
  const auto ttl = std::clamp(options.ttl, Timeout::zero(), max_ttl);
  const std::uint8_t flags = options.require_subscriber ? protocol::pub_flag_require_subscriber : 0;
  protocol::append_frame(out,
                         protocol::Pub{req, channel, options.reply_to, payload, flags,
                                       static_cast<std::uint32_t>(ttl.count()), headers.bytes()},
                         version_);
}

std::string ClientCore::encode_pub(std::uint32_t req, std::string_view channel,
                                   std::string_view payload, const PublishOptions& options) const {
  std::string frame;
  encode_pub(frame, req, channel, payload, options);
  return frame;
}

bool ClientCore::append_plain_pub(std::string_view channel, std::string_view payload,
                                  const PublishOptions& options) {
  const bool plain = options.reply_to.empty() && options.headers.empty() &&
                     options.ttl <= Timeout::zero() && !options.require_subscriber;
  if (!plain || payload.size() > max_payload_) return false;
  // A PUB's payload is its last field: the rest of the frame, once encoded for a channel (and
  // checked), is the same for every plain publish to it.
  if (channel != plain_pub_channel_ || version_ != plain_pub_version_) {
    check_field(channel, "channel name", protocol::Errc::bad_channel);
    const auto frame = protocol::encode_frame(protocol::Pub{0, channel, {}, {}}, version_);
    plain_pub_prefix_.assign(frame, protocol::frame_header_size);
    plain_pub_channel_.assign(channel);
    plain_pub_version_ = version_;
  }
  char length[protocol::frame_header_size];
  write_u32(length, static_cast<std::uint32_t>(plain_pub_prefix_.size() + payload.size()));
  out_.append(length, sizeof length);
  out_.append(plain_pub_prefix_);
  out_.append(payload);
  return true;
}

void ClientCore::publish(std::string_view channel, std::string_view payload,
                         const PublishOptions& options) {
  check_open();
  if (state_ == State::connected) {
    if (out_.size() + writing_.size() + payload.size() > room_limit()) {
      throw Error(make_error_code(std::errc::no_buffer_space),
                  "not published to " + printable(channel) + ": " +
                      std::to_string(out_.size() + writing_.size()) +
                      " bytes wait to be written (the broker holds us back); the bound is " +
                      std::to_string(room_limit()),
                  false);
    }
    const auto before = out_.size();
    if (!append_plain_pub(channel, payload, options)) {
      // Encoded straight into the outgoing buffer (nothing of it on a refusal).
      encode_pub(out_, 0, channel, payload, options);
    }
    appended(before);
    return;
  }
  auto frame = encode_pub(0, channel, payload, options);
  if (parked_bytes_ + frame.size() > room_limit()) {
    throw Error(make_error_code(std::errc::no_buffer_space),
                "not published to " + printable(channel) + ": the offline buffer holds " +
                    std::to_string(parked_bytes_) + " of " + std::to_string(room_limit()) +
                    " bytes while the client reconnects",
                false);
  }
  parked_bytes_ += frame.size();
  parked_.push_back(Parked{std::move(frame), nullptr});
}

asio::awaitable<void> ClientCore::publish_confirmed(std::string_view channel,
                                                    std::string_view payload,
                                                    const PublishOptions& options,
                                                    Clock::time_point deadline) {
  check_open();
  auto completion = std::make_shared<Completion>();
  completion->frame = encode_pub(0, channel, payload, options);
  if (state_ == State::connected) {
    const auto req = next_req();
    write_u32(completion->frame.data() + pub_req_offset, req);
    answers_[req] = Answer{Answer::Kind::confirm, nullptr, completion, 0};
    append_raw(completion->frame);
  } else {
    if (parked_bytes_ + completion->frame.size() > room_limit()) {
      throw Error(make_error_code(std::errc::no_buffer_space),
                  "not published to " + printable(channel) +
                      ": the offline buffer is full while the client reconnects",
                  false);
    }
    parked_bytes_ += completion->frame.size();
    parked_.push_back(Parked{completion->frame, completion});
  }
  return await_confirmation(std::move(completion), std::string(channel), deadline);
}

asio::awaitable<void> ClientCore::await_confirmation(std::shared_ptr<Completion> completion,
                                                     std::string channel,
                                                     Clock::time_point deadline) {
  auto self = shared_from_this();
  const bool answered = co_await wait(completion->waiters, deadline,
                                      [&] { return completion->ok || completion->error; });
  if (completion->error) throw *completion->error;
  if (!answered) {
    // Not confirmed in time: it must not be sent again, nor confirmed to nobody.
    for (auto it = answers_.begin(); it != answers_.end(); ++it) {
      if (it->second.completion == completion) {
        answers_.erase(it);
        break;
      }
    }
    std::erase_if(parked_, [&](const Parked& item) { return item.completion == completion; });
    throw timeout_error("for the confirmation of PUB " + printable(channel));
  }
}

void ClientCore::send_sub(const std::shared_ptr<SubscriptionState>& subscription) {
  const auto req = next_req();
  answers_[req] = Answer{Answer::Kind::subscribe, subscription, nullptr, 0};
  const std::uint8_t flags = subscription->options.manual_ack ? protocol::sub_flag_manual_ack : 0;
  append(protocol::Sub{req, flags, subscription->options.prefetch, subscription->channel});
}

asio::awaitable<std::shared_ptr<SubscriptionState>> ClientCore::subscribe(
    std::string channel, SubscribeOptions options, SubscriptionHandler handler,
    MessageViewHandler view_handler, Clock::time_point deadline) {
  return await_subscribed(
      add_subscription(std::move(channel), options, std::move(handler), std::move(view_handler)),
      deadline);
}

std::shared_ptr<SubscriptionState> ClientCore::add_subscription(std::string channel,
                                                                SubscribeOptions options,
                                                                SubscriptionHandler handler,
                                                                MessageViewHandler view_handler) {
  check_open();
  check_field(channel, "channel name", protocol::Errc::bad_channel);
  auto subscription = std::make_shared<SubscriptionState>();
  subscription->channel = std::move(channel);
  subscription->options = options;
  subscription->handler = std::move(handler);
  subscription->view_handler = std::move(view_handler);
  subscription->core = weak_from_this();
  add_subscription(subscription);
  if (state_ == State::connected) send_sub(subscription);
  return subscription;
}

asio::awaitable<std::shared_ptr<SubscriptionState>> ClientCore::await_subscribed(
    std::shared_ptr<SubscriptionState> subscription, Clock::time_point deadline) {
  auto self = shared_from_this();
  const bool answered = co_await wait(subscription->waiters, deadline, [&] {
    return subscription->confirmed || subscription->refusal || subscription->ended;
  });
  if (subscription->refusal) throw *subscription->refusal;
  if (!answered || !subscription->confirmed) {
    remove_subscription(subscription);
    subscription->ended = true;
    if (state_ == State::connected) append(protocol::Unsub{0, subscription->channel});
    if (state_ == State::closed) throw close_reason_.value_or(closed_error());
    throw timeout_error("for the answer to SUB " + printable(subscription->channel));
  }
  co_return subscription;
}

asio::awaitable<void> ClientCore::unsubscribe(std::shared_ptr<SubscriptionState> subscription,
                                              Clock::time_point deadline) {
  auto self = shared_from_this();
  const bool was_subscribed = remove_subscription(subscription);
  subscription->ended = true;
  subscription->waiters.notify_all();
  if (!was_subscribed || state_ != State::connected) co_return;
  // What it holds unacked goes back to the queue with the UNSUB: those ids are dead now.
  std::erase_if(unsettled_, [&](const auto& entry) { return entry.second.lock() == subscription; });
  subscription->unsettled = 0;
  auto completion = std::make_shared<Completion>();
  const auto req = next_req();
  answers_[req] = Answer{Answer::Kind::unsubscribe, nullptr, completion, 0};
  append(protocol::Unsub{req, subscription->channel});
  const bool answered = co_await wait(completion->waiters, deadline,
                                      [&] { return completion->ok || completion->error; });
  if (completion->error) throw *completion->error;
  if (!answered) {
    answers_.erase(req);
    throw timeout_error("for the answer to UNSUB " + printable(subscription->channel));
  }
}

asio::awaitable<std::optional<SubscriptionEvent>> ClientCore::next_event(
    std::shared_ptr<SubscriptionState> subscription) {
  auto self = shared_from_this();
  for (;;) {
    if (auto event = take_event(*subscription)) co_return event;
    if (subscription->ended) co_return std::nullopt;
    co_await subscription->waiters.wait_until(Clock::time_point::max());
  }
}

void ClientCore::settle(std::uint64_t delivery, std::uint64_t connection, bool ack) {
  if (delivery == 0 || connection != generation_ || state_ != State::connected) {
    return;  // needs none, or of a lost connection: the broker took it back
  }
  const auto found = unsettled_.find(delivery);
  if (found != unsettled_.end()) {
    if (auto subscription = found->second.lock()) {
      --subscription->unsettled;
      changed_.notify_all();
    }
    unsettled_.erase(found);
  }
  if (ack) {
    append(protocol::Ack{delivery});
  } else {
    append(protocol::Nack{delivery});
  }
}

asio::awaitable<void> ClientCore::ensure_reply_inbox(Clock::time_point deadline) {
  check_open();
  if (reply_inbox_ && reply_inbox_->confirmed) co_return;
  auto self = shared_from_this();
  // One inbox however many requests start at once: the first makes it, all wait for its OK. One
  // the broker refused is made again, under a new id, by the next request.
  if (!reply_inbox_ || reply_inbox_->ended) {
    reply_inbox_ =
        add_subscription(std::string(protocol::reply_prefix) + random_reply_id(), {}, {}, {});
  }
  const auto inbox = reply_inbox_;
  const bool answered = co_await wait(
      inbox->waiters, deadline, [&] { return inbox->confirmed || inbox->refusal || inbox->ended; });
  if (inbox->refusal) throw *inbox->refusal;
  check_open();
  if (!answered || !inbox->confirmed) {
    throw timeout_error("for the answer to SUB " + inbox->channel);
  }
}

RequestToken ClientCore::send_request(std::string_view channel, std::string_view payload,
                                      Clock::time_point deadline) {
  check_open();
  if (state_ != State::connected) {
    throw Error(make_error_code(std::errc::not_connected),
                "request on " + printable(channel) + " not sent: the client is reconnecting",
                false);
  }
  PublishOptions options;
  if (version_ >= protocol::pb1_version_2) {
    // Nobody to answer: refused at once. Nobody waiting for the answer any more: discarded by
    // the broker instead of handed to a worker later.
    options.require_subscriber = true;
    options.ttl = std::max(Timeout(1), std::chrono::ceil<Timeout>(deadline - Clock::now()));
  }
  const RequestToken token{++last_correlation_};
  const std::string reply_to = reply_inbox_->channel + '/' + std::to_string(token.correlation);
  options.reply_to = reply_to;
  // With a request id, so a refusal (ERR 3 for a bad channel, ERR 11 for no subscriber) names
  // the request it fails instead of leaving it to time out; nobody waits for the OK.
  const auto req = next_req();
  auto frame = encode_pub(req, channel, payload, options);
  auto request = std::make_shared<PendingRequest>();
  request->req = req;
  requests_.emplace(token.correlation, std::move(request));
  answers_[req] = Answer{Answer::Kind::request, nullptr, nullptr, token.correlation};
  append_raw(frame);
  return token;
}

asio::awaitable<std::optional<Message>> ClientCore::await_reply(RequestToken token,
                                                                Clock::time_point deadline) {
  auto self = shared_from_this();
  const auto found = requests_.find(token.correlation);
  if (found == requests_.end()) {
    throw Error(make_error_code(std::errc::invalid_argument),
                "request " + std::to_string(token.correlation) +
                    " is not in flight (its reply was taken, it was refused or cancelled, or it "
                    "was sent before the last connect())",
                false);
  }
  const auto request = found->second;
  co_await wait(request->waiters, deadline, [&] { return request->reply || request->error; });
  if (!request->reply && !request->error) co_return std::nullopt;
  requests_.erase(token.correlation);
  if (request->error) throw *request->error;
  co_return std::move(request->reply);
}

asio::awaitable<Message> ClientCore::request(std::string channel, std::string payload,
                                             Clock::time_point deadline) {
  auto self = shared_from_this();
  co_await ensure_reply_inbox(deadline);
  const auto token = send_request(channel, payload, deadline);
  std::optional<Message> reply;
  try {
    reply = co_await await_reply(token, deadline);
  } catch (const Error& error) {
    if (!error.no_responders()) throw;
    throw Error(error.code(), "no responders on " + printable(channel), false, error.req(),
                error.server_text());
  }
  if (!reply) {
    cancel_request(token);
    throw timeout_error("waiting for a reply to the request on " + printable(channel));
  }
  co_return std::move(*reply);
}

void ClientCore::reply(const Message& request, std::string_view payload) {
  if (request.reply_to.empty()) {
    throw Error(
        make_error_code(std::errc::invalid_argument),
        "cannot reply to the message on " + printable(request.channel) + ": it has no reply_to",
        false);
  }
  publish(request.reply_to, payload, {});
}

asio::awaitable<void> ClientCore::flush(Clock::time_point deadline) {
  check_open();
  auto self = shared_from_this();
  const auto target = queued_total_;
  const auto generation = generation_;
  // Written on this connection, or (after a loss) everything out on the next one.
  const bool done = co_await wait(changed_, deadline, [&] {
    return (generation == generation_ && written_total_ >= target) ||
           (state_ == State::connected && out_.empty() && writing_.empty() && parked_.empty()) ||
           state_ == State::closed;
  });
  check_open();
  if (!done) {
    throw timeout_error(
        "writing to the server: it stopped reading (back-pressure, e.g. a full "
        "/queue backlog) with " +
        std::to_string(buffered_bytes()) + " bytes unsent");
  }
}

asio::awaitable<std::chrono::microseconds> ClientCore::ping(Clock::time_point deadline) {
  check_open();
  auto self = shared_from_this();
  const auto start = Clock::now();
  if (state_ != State::connected) {
    co_await wait(changed_, deadline, [&] { return state_ != State::reconnecting; });
    check_open();
    if (state_ != State::connected) throw timeout_error("for PONG: the client is reconnecting");
  }
  const auto token = ++last_ping_token_;
  const auto generation = generation_;
  append(protocol::Ping{token});
  const bool answered = co_await wait(
      changed_, deadline, [&] { return last_pong_token_ >= token || generation != generation_; });
  check_open();
  if (generation != generation_) throw lost_error("before PONG came");
  if (!answered) throw timeout_error("for PONG");
  co_return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

asio::awaitable<void> ClientCore::await_unblocked(Clock::time_point deadline) {
  auto self = shared_from_this();
  const bool done = co_await wait(changed_, deadline,
                                  [&] { return blocked_on_.empty() || state_ == State::closed; });
  check_open();
  if (!done) {
    throw timeout_error("for the broker to take the messages held back by the full queue " +
                        printable(blocked_on_.front()));
  }
}

asio::awaitable<void> ClientCore::drain(Clock::time_point deadline) {
  check_open();
  auto self = shared_from_this();
  draining_ = true;
  // Streams and handlers of topics and auto-ack queues stop now; manual-ack queue consumers
  // first settle what they hold, and what reaches them meanwhile goes straight back.
  std::vector<std::shared_ptr<SubscriptionState>> settle_first;
  const auto subscriptions = std::vector(subscriptions_.begin(), subscriptions_.end());
  for (const auto& subscription : subscriptions) {
    if (subscription == reply_inbox_) continue;
    if (subscription->options.manual_ack &&
        protocol::channel_kind(subscription->channel) == protocol::ChannelKind::queue) {
      subscription->draining = true;
      settle_first.push_back(subscription);
    } else {
      co_await unsubscribe(subscription, deadline);
    }
  }
  for (const auto& subscription : settle_first) {
    co_await wait(changed_, deadline, [&] {
      return (subscription->queue.empty() && subscription->unsettled == 0) ||
             state_ == State::closed;
    });
    co_await unsubscribe(subscription, deadline);
  }
  // Then every publish out, and every confirmation in.
  const bool sent = co_await wait(changed_, deadline, [&] {
    const bool confirmations_due = std::any_of(answers_.begin(), answers_.end(), [](const auto& a) {
      return a.second.kind == Answer::Kind::confirm;
    });
    return state_ == State::closed || (state_ == State::connected && parked_.empty() &&
                                       written_total_ >= queued_total_ && !confirmations_due);
  });
  const bool was_closed = state_ == State::closed;
  finish(std::nullopt);
  if (!sent && !was_closed) {
    throw timeout_error("draining: " + std::to_string(buffered_bytes()) +
                        " bytes or confirmations were still due");
  }
}

template <class Pred>
asio::awaitable<bool> ClientCore::wait(WaitList& list, Clock::time_point deadline, Pred pred) {
  while (!pred()) {
    if (Clock::now() >= deadline) co_return false;
    co_await list.wait_until(deadline);
  }
  co_return true;
}

}  // namespace paperboy::client
