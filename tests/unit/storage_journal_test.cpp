// The journal's promise, through its public API on real files: what was appended and committed
// comes back from recovery in order, with its flags, and settled messages do not.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "storage/record.hpp"
#include "storage_support.hpp"

using namespace paperboy::broker::storage;
using namespace paperboy::broker::storage::testing;

namespace {

std::vector<MessageId> ids_of(const RecoveryReport& report) {
  std::vector<MessageId> ids;
  for (const auto& message : report.messages) ids.push_back(message.id);
  return ids;
}

}  // namespace

TEST_CASE("storage: appended and committed messages come back in order with their fields") {
  TempDir dir;
  JournalOnLoop loop(options_in(dir.path()));
  CHECK(loop.journal->take_recovery().messages.empty());
  auto& journal = *loop.journal;
  const MessageId first = journal.append_enqueue("/queue/invoices", "frame one", 0, 0);
  const MessageId second = journal.append_enqueue("/queue/invoices", "frame two", 2, 1700000000123);
  const MessageId gone = journal.append_enqueue("/queue/invoices", "frame three", 0, 0);
  const MessageId other = journal.append_enqueue("/queue/other", std::string(5000, 'x'), 1, 0);
  CHECK(first < second);
  CHECK(second < gone);
  CHECK(gone < other);
  journal.append_delivered(second);
  journal.append_delivered(second);  // handed out again after a NACK
  journal.append_settled(gone);
  loop.commit();
  CHECK(loop.commits.back().error == std::error_code());

  loop.open(options_in(dir.path()));
  const RecoveryReport report = loop.journal->take_recovery();
  REQUIRE(ids_of(report) == std::vector<MessageId>{first, second, other});
  CHECK(report.messages[0].queue == "/queue/invoices");
  CHECK(report.messages[0].frame == "frame one");
  CHECK(report.messages[0].failures == 0);
  CHECK(report.messages[0].deliveries == 0);
  CHECK(report.messages[0].expires_unix_ms == 0);
  CHECK(report.messages[1].frame == "frame two");
  CHECK(report.messages[1].failures == 2);
  CHECK(report.messages[1].deliveries == 2);
  CHECK(report.messages[1].expires_unix_ms == 1700000000123);
  CHECK(report.messages[2].queue == "/queue/other");
  CHECK(report.messages[2].frame == std::string(5000, 'x'));
  CHECK(report.messages[2].failures == 1);
  CHECK(report.torn_tail_bytes == 0);
  CHECK(report.skipped_records == 0);
  CHECK(report.segments == 1);
  CHECK(report.records >= 7);

  // Ids go on after the highest one seen.
  const MessageId next = loop.journal->append_enqueue("/queue/invoices", "frame four", 0, 0);
  CHECK(next > other);
}

TEST_CASE("storage: settling after a restart keeps the message away for good") {
  TempDir dir;
  JournalOnLoop loop(options_in(dir.path()));
  const MessageId a = loop.journal->append_enqueue("/queue/a", "a", 0, 0);
  const MessageId b = loop.journal->append_enqueue("/queue/a", "b", 0, 0);
  loop.commit();

  loop.open(options_in(dir.path()));
  REQUIRE(ids_of(loop.journal->take_recovery()) == std::vector<MessageId>{a, b});
  loop.journal->append_delivered(b);
  loop.journal->append_settled(a);
  loop.commit();

  loop.open(options_in(dir.path()));
  const auto report = loop.journal->take_recovery();
  REQUIRE(ids_of(report) == std::vector<MessageId>{b});
  CHECK(report.messages[0].deliveries == 1);
}

TEST_CASE("storage: close writes and syncs what is still open, without the loop turning") {
  TempDir dir;
  MessageId id = 0;
  {
    JournalOnLoop loop(options_in(dir.path()));
    id = loop.journal->append_enqueue("/queue/a", "unflushed", 0, 0);
    loop.journal->close();
    loop.journal->close();  // idempotent
  }
  JournalOnLoop loop(options_in(dir.path()));
  const auto report = loop.journal->take_recovery();
  REQUIRE(ids_of(report) == std::vector<MessageId>{id});
  CHECK(report.messages[0].frame == "unflushed");
}

TEST_CASE("storage: ids are never reused, even when every segment was deleted") {
  TempDir dir;
  JournalOnLoop loop(options_in(dir.path(), 4096));
  MessageId last = 0;
  for (int i = 0; i < 20; ++i)
    last = loop.journal->append_enqueue("/queue/a", std::string(500, 'p'), 0, 0);
  loop.commit();
  for (MessageId id = 1; id <= last; ++id) loop.journal->append_settled(id);
  loop.commit();

  loop.open(options_in(dir.path(), 4096));
  CHECK(loop.journal->take_recovery().messages.empty());
  CHECK(loop.journal->append_enqueue("/queue/a", "new", 0, 0) > last);
}

TEST_CASE("storage: a record that cannot be read is a CorruptJournal naming file and offset") {
  const CorruptJournal error("/data/journal/00000000000000000001.seg", 4242, "bad CRC");
  CHECK(error.file() == "/data/journal/00000000000000000001.seg");
  CHECK(error.offset() == 4242);
  CHECK(std::string(error.what()).find("4242") != std::string::npos);
  CHECK(std::string(error.what()).find("00000000000000000001.seg") != std::string::npos);
}

TEST_CASE("storage: a live message reads back once its batch is on disk, through read-ahead") {
  TempDir dir;
  JournalOnLoop loop(options_in(dir.path()));
  auto& journal = *loop.journal;
  std::vector<MessageId> ids;
  std::vector<std::string> frames;
  for (int i = 0; i < 2000; ++i) {  // ~450 KB: several read-ahead windows
    frames.push_back("frame " + std::to_string(i) +
                     std::string(static_cast<std::size_t>(i % 300), 'x'));
    ids.push_back(journal.append_enqueue("/queue/paged", frames.back(), 1, 1700000000000));
  }
  CHECK(journal.read(ids[0]).status == ReadBack::Status::not_yet);  // its batch is still open
  journal.append_delivered(ids[5]);
  loop.commit();
  const MessageId late = journal.append_enqueue("/queue/paged", "late", 0, 0);
  CHECK(journal.read(late).status == ReadBack::Status::not_yet);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const ReadBack back = journal.read(ids[i]);
    REQUIRE(back.status == ReadBack::Status::ok);
    CHECK(back.frame == frames[i]);
    CHECK(back.failures == (i == 5 ? 2u : 1u));
    CHECK(back.expires_unix_ms == 1700000000000u);
  }
  // Its bytes lay past the end of the last read-ahead: read again, not from the buffer.
  loop.commit();
  const ReadBack back = journal.read(late);
  REQUIRE(back.status == ReadBack::Status::ok);
  CHECK(back.frame == "late");
  journal.append_settled(ids[0]);
  CHECK(journal.read(ids[0]).status == ReadBack::Status::not_live);
  CHECK(journal.read(999999).status == ReadBack::Status::not_live);
}

TEST_CASE("storage: a record damaged on disk after recovery reads back as unreadable") {
  TempDir dir;
  const std::string frame(200, 'f');
  std::vector<MessageId> ids;
  {
    JournalOnLoop loop(options_in(dir.path()));
    for (int i = 0; i < 3; ++i)
      ids.push_back(loop.journal->append_enqueue("/queue/q", frame, 0, 0));
    loop.commit();
  }
  JournalOnLoop loop(options_in(dir.path()));
  REQUIRE(loop.journal->take_recovery().messages.size() == 3);
  // The second ENQUEUE's frame, behind the SEGMENT_START and the first ENQUEUE.
  const std::size_t record = enqueue_record_size("/queue/q", frame);
  flip_byte(segment_path(journal_directory(dir.path()), 1), id_record_size + record + record - 10);
  CHECK(loop.journal->read(ids[1]).status == ReadBack::Status::unreadable);
  const ReadBack first = loop.journal->read(ids[0]);
  REQUIRE(first.status == ReadBack::Status::ok);
  CHECK(first.frame == frame);
}
