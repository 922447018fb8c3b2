// Group commit: what one loop turn appends is one batch and one fdatasync, the fdatasync runs on
// the writer thread, and batches that queue up while the writer is busy share one fdatasync.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage_support.hpp"

using namespace paperboy::broker::storage;
using namespace paperboy::broker::storage::testing;

TEST_CASE("storage: a loop turn's appends are one batch and one fdatasync, off the loop thread") {
  TempDir dir;
  std::mutex sync_threads_mutex;
  std::vector<std::thread::id> sync_threads;
  auto options = options_in(dir.path());
  options.hooks.before_sync = [&] {
    const std::lock_guard lock(sync_threads_mutex);
    sync_threads.push_back(std::this_thread::get_id());
  };
  JournalOnLoop loop(std::move(options));
  loop.commit();  // the new segment's first record
  const JournalStats before = loop.journal->stats();

  const std::uint64_t batch = loop.journal->open_batch();
  for (int i = 0; i < 5000; ++i) {
    const MessageId id = loop.journal->append_enqueue("/queue/q", std::string(128, 'm'), 0, 0);
    if (i % 2 == 0) loop.journal->append_delivered(id);
  }
  CHECK(loop.journal->open_batch() == batch);  // nothing handed off before the turn ends
  loop.commit();

  const JournalStats after = loop.journal->stats();
  CHECK(after.batches - before.batches == 1);
  CHECK(after.fsyncs - before.fsyncs == 1);
  CHECK(after.records - before.records == 7500);
  CHECK(loop.commits.back().durable_through == batch);
  CHECK(loop.commits.back().failed_through == 0);
  CHECK(loop.journal->open_batch() == batch + 1);
  // 7,500 records land in the (4096, +Inf) bucket of records per fdatasync'd write.
  CHECK(after.batch_size_buckets[7] - before.batch_size_buckets[7] == 1);
  std::uint64_t latencies = 0;
  for (const auto count : after.fsync_latency_buckets) latencies += count;
  CHECK(latencies == after.fsyncs);

  const std::lock_guard lock(sync_threads_mutex);
  REQUIRE_FALSE(sync_threads.empty());
  for (const auto id : sync_threads) CHECK(id != std::this_thread::get_id());
}

TEST_CASE("storage: batches that queue while the writer is busy share one fdatasync") {
  TempDir dir;
  std::mutex mutex;
  std::condition_variable changed;
  bool hold = false, held = false;
  auto options = options_in(dir.path());
  options.hooks.before_sync = [&] {
    std::unique_lock lock(mutex);
    if (!hold) return;
    held = true;
    changed.notify_all();
    changed.wait(lock, [&] { return !hold; });
  };
  JournalOnLoop loop(std::move(options));
  loop.commit();
  {
    const std::lock_guard lock(mutex);
    hold = true;
  }
  const JournalStats before = loop.journal->stats();

  // The first batch stops the writer inside its fdatasync...
  const std::uint64_t first = loop.journal->open_batch();
  loop.journal->append_enqueue("/queue/q", "first", 0, 0);
  REQUIRE(loop.run_until([&] {
    const std::lock_guard lock(mutex);
    return held;
  }));
  // ...while three more loop turns each hand over a batch.
  std::uint64_t last = 0;
  for (int turn = 0; turn < 3; ++turn) {
    last = loop.journal->open_batch();
    loop.journal->append_enqueue("/queue/q", "later", 0, 0);
    REQUIRE(loop.run_until([&] { return loop.journal->open_batch() == last + 1; }));
  }
  {
    const std::lock_guard lock(mutex);
    hold = false;
  }
  changed.notify_all();
  REQUIRE(loop.run_until([&] { return loop.durable_through >= last; }));

  const JournalStats after = loop.journal->stats();
  CHECK(after.batches - before.batches == 4);
  CHECK(after.fsyncs - before.fsyncs == 2);  // the held one, then the three together
  CHECK(last == first + 3);
}
