#pragma once

#include <fmt/ostream.h>
#include <asio/ip/tcp.hpp>

/// Lets spdlog/fmt print endpoints as address:port.
template <>
struct fmt::formatter<asio::ip::tcp::endpoint> : fmt::ostream_formatter {};
