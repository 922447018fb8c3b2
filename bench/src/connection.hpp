#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>
#include <string_view>
#include <system_error>
#include <vector>

#include "wire_protocol.hpp"

namespace paperboy::bench {

/// One TCP connection to the broker, the single client code path of every role and protocol:
/// large reads into one buffer, every complete server unit parsed in place by the protocol's
/// parser, large writes from the caller's buffer.
class Connection {
 public:
  Connection(const asio::any_io_executor& executor, std::unique_ptr<ServerParser> parser,
             std::size_t read_size);

  /// Connects with TCP_NODELAY (as every client of these brokers does).
  asio::awaitable<std::error_code> connect(asio::ip::tcp::endpoint endpoint);

  /// Writes all of `bytes`, which must stay alive until this returns.
  asio::awaitable<std::error_code> write(std::string_view bytes);

  /// Waits for bytes and appends what one read returns to the read buffer.
  asio::awaitable<std::error_code> read_some();

  /// Hands every complete unit in the read buffer to `events`; false if the bytes are garbage.
  bool parse(ServerEvents& events);

  /// Closes the socket; pending reads and writes finish with operation_aborted. Idempotent.
  void close() noexcept;

  asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  asio::ip::tcp::socket socket_;
  std::unique_ptr<ServerParser> parser_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace paperboy::bench
