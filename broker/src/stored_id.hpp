#pragma once

#include <cstdint>

namespace paperboy::broker::storage {

/// A durable message's id in the journal (storage/journal.hpp declares the same); 0: not stored.
/// Declared here too so that what carries one needs nothing else of the journal.
using MessageId = std::uint64_t;

}  // namespace paperboy::broker::storage
