// Recovery of a damaged journal: a torn or garbage tail is cut off and reported, a bad record
// before the end stops the start with its file and offset, and skip_corrupt skips it.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "storage/record.hpp"
#include "storage_support.hpp"

using namespace paperboy::broker::storage;
using namespace paperboy::broker::storage::testing;

namespace {

const std::string queue = "/queue/q";

std::string frame_of(int i) {
  return "frame number " + std::to_string(i) + std::string(100, '.');
}

// Every frame_of(i) is as long as every other below 10, so the records are too.
const std::size_t record_size = enqueue_record_size(queue, frame_of(0));

/// A journal in `dir` with `count` committed messages in one segment, closed.
std::filesystem::path journal_with(const TempDir& dir, int count) {
  JournalOnLoop loop(options_in(dir.path()));
  for (int i = 0; i < count; ++i) loop.journal->append_enqueue(queue, frame_of(i), 0, 0);
  loop.commit();
  loop.journal->close();
  return segment_path(journal_directory(dir.path()), 1);
}

/// Where the i-th message's record starts: after the segment's first record.
std::uint64_t offset_of(int i) {
  return id_record_size + std::uint64_t(i) * record_size;
}

std::vector<std::string> frames_of(const RecoveryReport& report) {
  std::vector<std::string> frames;
  for (const auto& message : report.messages) frames.push_back(message.frame);
  return frames;
}

std::vector<std::string> frames(std::initializer_list<int> numbers) {
  std::vector<std::string> all;
  for (const int i : numbers) all.push_back(frame_of(i));
  return all;
}

void append_bytes(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::app) << bytes;
}

}  // namespace

TEST_CASE("storage: a last record cut in the middle is truncated and reported") {
  TempDir dir;
  const auto file = journal_with(dir, 5);
  REQUIRE(std::filesystem::file_size(file) == offset_of(5));
  std::filesystem::resize_file(file, offset_of(4) + 30);

  JournalOnLoop loop(options_in(dir.path()));
  const auto report = loop.journal->take_recovery();
  CHECK(frames_of(report) == frames({0, 1, 2, 3}));
  CHECK(report.torn_tail_bytes == 30);
  CHECK(std::filesystem::file_size(file) == offset_of(4));

  // The journal goes on where the good records end.
  loop.journal->append_enqueue(queue, frame_of(9), 0, 0);
  loop.commit();
  loop.open(options_in(dir.path()));
  const auto again = loop.journal->take_recovery();
  CHECK(frames_of(again) == frames({0, 1, 2, 3, 9}));
  CHECK(again.torn_tail_bytes == 0);
}

TEST_CASE("storage: a garbage or zero-filled tail is truncated and reported") {
  const std::vector<std::string> tails{std::string(100, '\xAB'), std::string(4096, '\0'),
                                       std::string("\x10\x00\x00\x00garbage!", 12)};
  for (const auto& garbage : tails) {
    CAPTURE(garbage.size());
    TempDir dir;
    const auto file = journal_with(dir, 3);
    append_bytes(file, garbage);

    JournalOnLoop loop(options_in(dir.path()));
    const auto report = loop.journal->take_recovery();
    CHECK(frames_of(report) == frames({0, 1, 2}));
    CHECK(report.torn_tail_bytes == garbage.size());
    CHECK(std::filesystem::file_size(file) == offset_of(3));
  }
}

TEST_CASE("storage: a corrupt record in the middle stops recovery with its file and offset") {
  TempDir dir;
  const auto file = journal_with(dir, 5);
  flip_byte(file, offset_of(2) + 40);
  const auto size = std::filesystem::file_size(file);

  try {
    JournalOnLoop loop(options_in(dir.path()));
    FAIL("recovery accepted a corrupt record");
  } catch (const CorruptJournal& error) {
    CHECK(error.file() == file.string());
    CHECK(error.offset() == offset_of(2));
  }
  CHECK(std::filesystem::file_size(file) == size);  // nothing repaired behind the user's back

  auto options = options_in(dir.path());
  options.skip_corrupt = true;
  JournalOnLoop loop(options);
  const auto report = loop.journal->take_recovery();
  CHECK(frames_of(report) == frames({0, 1, 3, 4}));
  CHECK(report.skipped_records == 1);
  CHECK(report.skipped_bytes == record_size);
  CHECK(report.torn_tail_bytes == 0);
}

TEST_CASE("storage: a damaged end of a segment that is not the last one is corruption") {
  TempDir dir;
  const std::uint64_t segment_bytes = offset_of(3);  // three messages a segment
  {
    JournalOnLoop loop(options_in(dir.path(), segment_bytes));
    for (int i = 0; i < 6; ++i) loop.journal->append_enqueue(queue, frame_of(i), 0, 0);
    loop.commit();
  }
  const auto first = segment_path(journal_directory(dir.path()), 1);
  REQUIRE(segment_sizes(dir.path()).size() == 2);
  flip_byte(first, offset_of(2) + 20);

  try {
    JournalOnLoop loop(options_in(dir.path(), segment_bytes));
    FAIL("recovery accepted a damaged segment end");
  } catch (const CorruptJournal& error) {
    CHECK(error.file() == first.string());
    CHECK(error.offset() == offset_of(2));
  }
  auto options = options_in(dir.path(), segment_bytes);
  options.skip_corrupt = true;
  JournalOnLoop loop(options);
  const auto report = loop.journal->take_recovery();
  CHECK(frames_of(report) == frames({0, 1, 3, 4, 5}));
  CHECK(report.skipped_records == 1);
  CHECK(report.skipped_bytes == record_size);
}
