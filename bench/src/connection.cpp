#include "connection.hpp"

#include <asio/write.hpp>
#include <cstring>

#include "use_nothrow.hpp"

namespace paperboy::bench {
namespace {

// A unit larger than the read buffer (a big payload) grows it, up to this.
constexpr std::size_t max_read_buffer = 512 * 1024 * 1024;

}  // namespace

Connection::Connection(const asio::any_io_executor& executor, std::unique_ptr<ServerParser> parser,
                       std::size_t read_size)
    : socket_(executor), parser_(std::move(parser)), buffer_(read_size) {}

asio::awaitable<std::error_code> Connection::connect(asio::ip::tcp::endpoint endpoint) {
  auto [ec] = co_await socket_.async_connect(endpoint, use_nothrow);
  if (!ec) socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  co_return ec;
}

asio::awaitable<std::error_code> Connection::write(std::string_view bytes) {
  auto [ec, n] =
      co_await asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()), use_nothrow);
  co_return ec;
}

asio::awaitable<std::error_code> Connection::read_some() {
  if (begin_ > 0 && (begin_ == end_ || buffer_.size() - end_ < buffer_.size() / 4)) {
    // Slide the partial unit to the front so the next read gets a large tail.
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buffer_.size()) {
    if (buffer_.size() >= max_read_buffer) co_return std::make_error_code(std::errc::message_size);
    buffer_.resize(buffer_.size() * 2);
  }
  auto [ec, n] = co_await socket_.async_read_some(
      asio::buffer(buffer_.data() + end_, buffer_.size() - end_), use_nothrow);
  end_ += n;
  co_return ec;
}

bool Connection::parse(ServerEvents& events) {
  const std::string_view bytes(buffer_.data() + begin_, end_ - begin_);
  const std::size_t used = parser_->parse(bytes, events);
  if (used == ServerParser::npos) return false;
  begin_ += used;
  if (begin_ == end_) begin_ = end_ = 0;
  return true;
}

void Connection::close() noexcept {
  std::error_code ignored;
  socket_.close(ignored);
}

}  // namespace paperboy::bench
