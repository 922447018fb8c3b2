// How long recovery of a large backlog takes: a measurement, not a timed test, so it runs only
// when asked (PAPERBOY_STORAGE_MESSAGES=1000000, best with a release build) and asserts no time:
//   PAPERBOY_STORAGE_MESSAGES=1000000 build/release/tests/unit/paperboy_unit_tests
//     -tc='storage: recovery of a large backlog*'
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "publication.hpp"
#include "storage_support.hpp"

using namespace paperboy::broker;
using namespace paperboy::broker::storage;
using namespace paperboy::broker::storage::testing;

TEST_CASE("storage: recovery of a large backlog (a measurement, asked for by environment)") {
  const char* asked = std::getenv("PAPERBOY_STORAGE_MESSAGES");
  if (asked == nullptr) return;
  const long count = std::strtol(asked, nullptr, 10);
  REQUIRE(count > 0);
  TempDir dir;
  const std::string payload(128, 'm');
  const std::string frame(Publication("/queue/invoices", {}, payload, 0).v2_frame().view());
  {
    JournalOnLoop loop(options_in(dir.path()));
    for (long i = 0; i < count; ++i) {
      loop.journal->append_enqueue("/queue/invoices", frame, 0, 0);
      if (i % 10000 == 9999 || i + 1 == count) loop.commit();  // batches of a realistic size
    }
    MESSAGE("written: " << loop.journal->stats().bytes_on_disk << " bytes in "
                        << loop.journal->stats().segments << " segments, frame " << frame.size()
                        << " bytes");
  }
  if (std::getenv("PAPERBOY_STORAGE_DROP_CACHES") != nullptr) {
    ::sync();
    std::FILE* drop = std::fopen("/proc/sys/vm/drop_caches", "w");
    if (drop != nullptr) {
      std::fputs("3\n", drop);
      std::fclose(drop);
    }
  }
  const auto started = std::chrono::steady_clock::now();
  JournalOnLoop loop(options_in(dir.path()));
  const RecoveryReport report = loop.journal->take_recovery();
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(report.messages.size() == static_cast<std::size_t>(count));
  CHECK(report.messages.back().frame == frame);
  MESSAGE("recovered " << report.messages.size() << " messages (" << report.bytes << " bytes, "
                       << report.segments << " segments): recovery "
                       << std::chrono::duration<double, std::milli>(report.duration).count()
                       << " ms, open to messages in hand "
                       << std::chrono::duration<double, std::milli>(took).count() << " ms");
}
