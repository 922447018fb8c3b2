#include "endpoint.hpp"

#include <asio/io_context.hpp>
#include <system_error>

namespace paperboy::bench {

asio::ip::tcp::endpoint resolve_endpoint(const std::string& host, std::uint16_t port) {
  std::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) return {address, port};
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, std::to_string(port));
  if (results.empty()) throw std::system_error(std::make_error_code(std::errc::host_unreachable));
  return results.begin()->endpoint();
}

}  // namespace paperboy::bench
