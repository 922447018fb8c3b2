#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

// The billing queues carry one flat JSON object of string fields each way; this is all the JSON
// the worker needs, so it parses and writes exactly that instead of pulling in a JSON library.
namespace paperboy::billing {

/// The fields of one flat JSON object: its string members by name (the last one wins when a
/// name repeats). Members that are numbers, true, false or null are accepted and left out.
using FlatObject = std::map<std::string, std::string, std::less<>>;

/// Parses `text` as exactly one JSON object (RFC 8259, whitespace around it allowed) whose
/// members are strings, numbers, true, false or null. Nothing for anything else: not JSON,
/// trailing bytes, a nested object or array, a bad escape, a lone surrogate, a control character
/// in a string, or invalid UTF-8.
std::optional<FlatObject> parse_flat_object(std::string_view text);

/// `text` as a JSON string literal, quotes included (`"`, `\` and control characters escaped;
/// other bytes are kept as they are).
std::string json_quote(std::string_view text);

}  // namespace paperboy::billing
