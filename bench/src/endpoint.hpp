#pragma once

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

namespace paperboy::bench {

/// The broker's address: `host` as an IP address or a name (first address it resolves to).
/// Throws std::system_error when it resolves to nothing.
asio::ip::tcp::endpoint resolve_endpoint(const std::string& host, std::uint16_t port);

}  // namespace paperboy::bench
