#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conn.hpp"
#include "paperboy/protocol/messages.hpp"

namespace paperboy::itest {

/// One header entry as a test writes and compares it.
using HeaderEntry = std::pair<std::string, std::string>;

/// The header block of these entries, in this order; fails the test if one is not valid.
std::string header_block(std::initializer_list<HeaderEntry> entries);

/// The entries of a header block in wire order (a block that does not walk to its end fails).
std::vector<HeaderEntry> header_entries(std::string_view block);

/// The wall clock as Unix time in nanoseconds: what the daemon stamps published_at with.
std::uint64_t unix_now_ns();

/// published_at of `msg` must lie between `before` (read before the PUB was sent) and `after`
/// (read after the MSG arrived), with a few seconds' slack for a coarse or adjusted clock.
void check_published_at(const Conn& c, const protocol::Msg& msg, std::uint64_t before,
                        std::uint64_t after);

/// The MSG must be exactly the version 1 frame of these fields: no timestamp, no headers.
void check_v1_msg_bytes(const Conn& c, const Decoded<protocol::Msg>& msg);

/// HELLO version 2, which must be answered with WELCOME version 2.
Decoded<protocol::Welcome> hello_v2(Conn& c, std::string_view client_name = "itest-v2");

/// PUB in version 2 with these fields and a fresh req, then OK(req) must follow.
void publish_v2(Conn& c, std::string_view channel, std::string_view payload,
                std::string_view headers = {}, std::uint32_t ttl_ms = 0, std::uint8_t flags = 0,
                std::string_view reply_to = {});

}  // namespace paperboy::itest
