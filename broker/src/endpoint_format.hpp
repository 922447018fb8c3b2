#pragma once

#include <asio/ip/tcp.hpp>
#include <fmt/ostream.h>

/// Lets spdlog/fmt print endpoints as address:port.
template <>
struct fmt::formatter<asio::ip::tcp::endpoint> : fmt::ostream_formatter {};
