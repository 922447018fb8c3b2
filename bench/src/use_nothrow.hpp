#pragma once

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace paperboy::bench {

/// Completion token for I/O: errors come back as values, `auto [ec, n] = co_await ...`.
inline constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace paperboy::bench
