#pragma once

#include <filesystem>

#include "storage/journal.hpp"
#include "storage/live_index.hpp"

namespace paperboy::broker::storage {

/// The log as recovery left it: what to hand the server, and where the journal goes on.
struct RecoveredJournal {
  RecoveryReport report;
  LiveIndex index;
  MessageId next_id = 1;
};

/// Reads every segment of `journal_dir` in order, truncates a torn tail of the last one, and
/// throws CorruptJournal at a bad record anywhere else unless `skip_corrupt`.
RecoveredJournal recover_journal(const std::filesystem::path& journal_dir, bool skip_corrupt);

}  // namespace paperboy::broker::storage
