// Segments roll at segment_bytes; a settled segment is deleted and a mostly settled one copied
// forward, so the disk follows the live backlog, and recovery after all that returns exactly the
// live messages, once each, in publish order.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <iterator>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "storage_support.hpp"

using namespace paperboy::broker::storage;
using namespace paperboy::broker::storage::testing;

namespace {

constexpr std::uint64_t segment_bytes = 4096;
const std::string payload(480, 'p');

std::vector<MessageId> ids_of(const RecoveryReport& report) {
  std::vector<MessageId> ids;
  for (const auto& message : report.messages) ids.push_back(message.id);
  return ids;
}

std::uintmax_t total(const std::vector<std::uintmax_t>& sizes) {
  return std::accumulate(sizes.begin(), sizes.end(), std::uintmax_t{0});
}

// What the journal says about the disk is what is on it, once a commit is through and the
// segments it let go of are unlinked (by a thread of their own, soon after).
void check_disk_matches(JournalOnLoop& loop, const TempDir& dir, const JournalStats& stats) {
  std::vector<std::uintmax_t> sizes;
  loop.run_until([&] {
    sizes = segment_sizes(dir.path());
    return sizes.size() == stats.segments && total(sizes) == stats.bytes_on_disk;
  });
  CHECK(sizes.size() == stats.segments);
  CHECK(total(sizes) == stats.bytes_on_disk);
}

/// `count` messages to `queue`, committed.
std::vector<MessageId> publish(JournalOnLoop& loop, std::string_view queue, int count) {
  std::vector<MessageId> ids;
  for (int i = 0; i < count; ++i) ids.push_back(loop.journal->append_enqueue(queue, payload, 0, 0));
  loop.commit();
  return ids;
}

}  // namespace

TEST_CASE("storage: segments roll at segment_bytes and settled ones are deleted") {
  TempDir dir;
  JournalOnLoop loop(options_in(dir.path(), segment_bytes));
  const std::vector<MessageId> ids = publish(loop, "/queue/q", 40);
  const auto sizes = segment_sizes(dir.path());
  REQUIRE(sizes.size() >= 5);
  for (const auto size : sizes) CHECK(size <= segment_bytes);
  check_disk_matches(loop, dir, loop.journal->stats());

  // Settle the first half: the segments holding only those go.
  for (std::size_t i = 0; i < 20; ++i) loop.journal->append_settled(ids[i]);
  loop.commit();
  CHECK(loop.run_until([&] { return loop.journal->stats().deleted_segments >= 2; }));
  const auto stats = loop.journal->stats();
  CHECK(stats.segments < sizes.size());
  check_disk_matches(loop, dir, stats);

  loop.open(options_in(dir.path(), segment_bytes));
  CHECK(ids_of(loop.journal->take_recovery()) ==
        std::vector<MessageId>(ids.begin() + 20, ids.end()));
}

TEST_CASE("storage: a mostly settled segment is compacted and its live messages kept once") {
  TempDir dir;
  JournalOnLoop loop(options_in(dir.path(), segment_bytes));
  const std::vector<MessageId> ids = publish(loop, "/queue/q", 40);
  // Every eighth message stays (the first one handed out before); the rest are settled.
  std::vector<MessageId> kept;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i % 8 == 0) {
      kept.push_back(ids[i]);
    } else {
      loop.journal->append_settled(ids[i]);
    }
  }
  loop.journal->append_delivered(kept.front());
  loop.commit();
  const auto stats = loop.journal->stats();
  CHECK(stats.compacted_segments >= 1);
  CHECK(stats.live_messages == kept.size());
  check_disk_matches(loop, dir, stats);
  CHECK(stats.bytes_on_disk < 3 * segment_bytes);

  loop.open(options_in(dir.path(), segment_bytes));
  const auto report = loop.journal->take_recovery();
  REQUIRE(ids_of(report) == kept);
  CHECK(report.messages.front().deliveries == 1);
  for (std::size_t i = 1; i < report.messages.size(); ++i)
    CHECK(report.messages[i].deliveries == 0);
  for (const auto& message : report.messages) CHECK(message.frame == payload);
}

TEST_CASE("storage: over many publish and settle cycles the disk follows the live backlog") {
  TempDir dir;
  JournalOnLoop loop(options_in(dir.path(), segment_bytes));
  // A backlog of the newest ~40 messages, plus every seventh message held for 40 cycles: the
  // slow ones leave sparse segments behind, which only compaction can reclaim.
  std::deque<MessageId> fresh;
  std::deque<std::pair<int, MessageId>> slow;  // (cycle to settle at, id)
  std::uint64_t worst_excess = 0;
  for (int cycle = 0; cycle < 150; ++cycle) {
    for (int i = 0; i < 12; ++i) {
      const MessageId id = loop.journal->append_enqueue("/queue/q", payload, 0, 0);
      if (id % 7 == 0) {
        slow.emplace_back(cycle + 40, id);
      } else {
        fresh.push_back(id);
      }
    }
    while (fresh.size() > 40) {
      loop.journal->append_delivered(fresh.front());
      loop.journal->append_settled(fresh.front());
      fresh.pop_front();
    }
    while (!slow.empty() && slow.front().first <= cycle) {
      loop.journal->append_settled(slow.front().second);
      slow.pop_front();
    }
    loop.commit();
    const auto stats = loop.journal->stats();
    CHECK(stats.live_messages == fresh.size() + slow.size());
    const std::uint64_t allowed = 2 * stats.live_bytes + 3 * segment_bytes;
    if (stats.bytes_on_disk > allowed)
      worst_excess = std::max(worst_excess, stats.bytes_on_disk - allowed);
  }
  CHECK(worst_excess == 0);
  const auto stats = loop.journal->stats();
  CHECK(stats.compacted_segments > 0);
  check_disk_matches(loop, dir, stats);

  std::vector<MessageId> live(fresh.begin(), fresh.end());
  for (const auto& [when, id] : slow) live.push_back(id);
  std::sort(live.begin(), live.end());
  loop.open(options_in(dir.path(), segment_bytes));
  const auto report = loop.journal->take_recovery();
  const auto recovered = ids_of(report);
  CHECK(std::set<MessageId>(recovered.begin(), recovered.end()).size() == recovered.size());
  CHECK(recovered == live);
}

TEST_CASE("storage: a front segment nobody drains does not keep the settled ones behind it") {
  TempDir dir;
  JournalOnLoop loop(options_in(dir.path(), segment_bytes));
  const std::vector<MessageId> stuck = publish(loop, "/queue/stuck", 8);
  for (int cycle = 0; cycle < 100; ++cycle) {
    std::vector<MessageId> ids;
    for (int i = 0; i < 10; ++i)
      ids.push_back(loop.journal->append_enqueue("/queue/busy", payload, 0, 0));
    for (const auto id : ids) loop.journal->append_settled(id);
    loop.commit();
    const auto stats = loop.journal->stats();
    CHECK(stats.bytes_on_disk <= 2 * stats.live_bytes + 4 * segment_bytes);
  }
  check_disk_matches(loop, dir, loop.journal->stats());
  loop.open(options_in(dir.path(), segment_bytes));
  CHECK(ids_of(loop.journal->take_recovery()) == stuck);
}

TEST_CASE("storage: a compacted message keeps its count of deliveries, once, beside its original") {
  TempDir dir;
  const auto first_segment = segment_path(journal_directory(dir.path()), 1);
  std::string original;  // the first segment as it was before compaction deleted it
  MessageId poison = 0;
  {
    JournalOnLoop loop(options_in(dir.path(), segment_bytes));
    const std::vector<MessageId> ids = publish(loop, "/queue/q", 8);  // 7 fill segment 1
    poison = ids.front();
    for (int i = 0; i < 3; ++i) loop.journal->append_delivered(poison);  // 3 unacked hand-outs
    loop.commit();
    std::ifstream in(first_segment, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
    REQUIRE_FALSE(original.empty());
    // Only the poison message stays live in segment 1: it is copied forward, and segment 1 goes.
    for (std::size_t i = 1; i < ids.size(); ++i) loop.journal->append_settled(ids[i]);
    loop.commit();
    CHECK(loop.journal->stats().compacted_segments == 1);
  }
  {
    JournalOnLoop loop(options_in(dir.path(), segment_bytes));
    const auto report = loop.journal->take_recovery();
    REQUIRE(ids_of(report) == std::vector<MessageId>{poison});
    CHECK(report.messages[0].deliveries == 3);
  }
  // A crash between the copy and the unlink leaves both: the count is not doubled.
  REQUIRE_FALSE(std::filesystem::exists(first_segment));
  std::ofstream(first_segment, std::ios::binary) << original;
  JournalOnLoop loop(options_in(dir.path(), segment_bytes));
  const auto report = loop.journal->take_recovery();
  REQUIRE(ids_of(report) == std::vector<MessageId>{poison});
  CHECK(report.messages[0].deliveries == 3);
}
