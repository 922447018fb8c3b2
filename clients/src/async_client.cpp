#include "paperboy/client/async_client.hpp"

#include <utility>

#include "client_core.hpp"
#include "errors.hpp"

namespace paperboy::client {
namespace {

const std::string& no_channel() {
  static const std::string empty;
  return empty;
}

}  // namespace

asio::awaitable<std::optional<SubscriptionEvent>> Subscription::next() {
  if (!state_) co_return std::nullopt;
  auto core = state_->core.lock();
  if (!core) {
    // The client is gone: what was received is still handed out.
    if (state_->queue.empty()) co_return std::nullopt;
    SubscriptionEvent event = std::move(state_->queue.front());
    state_->queue.pop_front();
    co_return event;
  }
  // Without suspending while it holds something: a busy stream costs one frame per message.
  if (auto event = core->take_event(*state_)) co_return event;
  co_return co_await core->next_event(state_);
}

asio::awaitable<void> Subscription::unsubscribe(Timeout timeout) {
  if (!state_) co_return;
  auto core = state_->core.lock();
  if (!core) co_return;
  co_await core->unsubscribe(state_, deadline_after(timeout));
}

const std::string& Subscription::channel() const {
  return state_ ? state_->channel : no_channel();
}

std::uint64_t Subscription::dropped() const {
  return state_ ? state_->dropped : 0;
}

std::size_t Subscription::pending() const {
  return state_ ? state_->queue.size() : 0;
}

AsyncClient::AsyncClient(asio::any_io_executor executor)
    : core_(std::make_shared<ClientCore>(std::move(executor))) {}

AsyncClient::~AsyncClient() {
  core_->close();
}

asio::awaitable<void> AsyncClient::connect(std::string host, std::uint16_t port,
                                           ConnectOptions options) {
  std::vector<Server> servers{Server{std::move(host), port}};
  servers.insert(servers.end(), options.more_servers.begin(), options.more_servers.end());
  return core_->connect(std::move(servers), std::move(options));
}

bool AsyncClient::connected() const noexcept {
  return core_->connected();
}

bool AsyncClient::closed() const noexcept {
  return core_->closed();
}

std::uint32_t AsyncClient::server_max_payload() const noexcept {
  return core_->server_max_payload();
}

const std::string& AsyncClient::server_id() const noexcept {
  return core_->server_id();
}

std::uint8_t AsyncClient::protocol_version() const noexcept {
  return core_->protocol_version();
}

const std::string& AsyncClient::server_version() const noexcept {
  return core_->server_version();
}

std::string AsyncClient::server() const {
  return core_->server();
}

void AsyncClient::publish(std::string_view channel, std::string_view payload,
                          const PublishOptions& options) {
  core_->publish(channel, payload, options);
}

asio::awaitable<void> AsyncClient::publish_confirmed(std::string channel, std::string payload,
                                                     PublishOptions options, Timeout timeout) {
  return core_->publish_confirmed(channel, payload, options, deadline_after(timeout));
}

asio::awaitable<Subscription> AsyncClient::subscribe(std::string channel, SubscribeOptions options,
                                                     Timeout timeout) {
  return subscribe(std::move(channel), options, {}, timeout);
}

asio::awaitable<Subscription> AsyncClient::subscribe(std::string channel, SubscribeOptions options,
                                                     SubscriptionHandler handler, Timeout timeout) {
  return wrap(core_->subscribe(std::move(channel), options, std::move(handler), {},
                               deadline_after(timeout)));
}

asio::awaitable<Subscription> AsyncClient::subscribe_views(std::string channel,
                                                           SubscribeOptions options,
                                                           MessageViewHandler handler,
                                                           Timeout timeout) {
  return wrap(core_->subscribe(std::move(channel), options, {}, std::move(handler),
                               deadline_after(timeout)));
}

asio::awaitable<Subscription> AsyncClient::wrap(
    asio::awaitable<std::shared_ptr<SubscriptionState>> subscribing) {
  co_return Subscription(co_await std::move(subscribing));
}

void AsyncClient::ack(const Message& message) {
  core_->settle(message.delivery, message.connection, true);
}

void AsyncClient::nack(const Message& message) {
  core_->settle(message.delivery, message.connection, false);
}

void AsyncClient::ack(const MessageView& message) {
  core_->settle(message.delivery, message.connection, true);
}

void AsyncClient::nack(const MessageView& message) {
  core_->settle(message.delivery, message.connection, false);
}

asio::awaitable<Message> AsyncClient::request(std::string channel, std::string payload,
                                              Timeout timeout) {
  return core_->request(std::move(channel), std::move(payload), deadline_after(timeout));
}

void AsyncClient::reply(const Message& request, std::string_view payload) {
  core_->reply(request, payload);
}

asio::awaitable<void> AsyncClient::flush(Timeout timeout) {
  return core_->flush(deadline_after(timeout));
}

asio::awaitable<std::chrono::microseconds> AsyncClient::ping(Timeout timeout) {
  return core_->ping(deadline_after(timeout));
}

asio::awaitable<void> AsyncClient::drain(Timeout timeout) {
  return core_->drain(deadline_after(timeout));
}

void AsyncClient::close() {
  core_->close();
}

std::size_t AsyncClient::buffered_bytes() const noexcept {
  return core_->buffered_bytes();
}

}  // namespace paperboy::client
