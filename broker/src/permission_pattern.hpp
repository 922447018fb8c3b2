#pragma once

#include <string_view>

namespace paperboy::broker {

// The channel patterns of a users file's permission lists. They use the v2 wildcard syntax of
// subscriptions (protocol/channel.hpp: a segment that is exactly "*" matches one segment, a last
// segment that is exactly ">" matches one or more), on /queue names as well as /topic ones, since
// a permission names what a user may publish to or consume from, not what it may subscribe with.

/// True when `pattern` can be used in a permission list: a valid channel name (check_channel)
/// whose ">" segment, if any, is the last.
bool valid_permission_pattern(std::string_view pattern) noexcept;

/// True when every channel `subject` names is one `pattern` names: a concrete channel the pattern
/// matches, or a wildcard subscription no wider than the pattern ("/topic/a/*" covers
/// "/topic/a/b" and "/topic/a/*", not "/topic/a/>").
bool pattern_covers(std::string_view pattern, std::string_view subject) noexcept;

/// True when some channel is named by both: for a concrete name the same as pattern_covers; a
/// wildcard subscription that reaches into a denied pattern overlaps it.
bool patterns_overlap(std::string_view a, std::string_view b) noexcept;

}  // namespace paperboy::broker
