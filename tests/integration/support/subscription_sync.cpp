#include "subscription_sync.hpp"

#include <doctest/doctest.h>

#include "describe.hpp"

namespace paperboy::itest {
namespace {

constexpr std::string_view probe = "itest-probe";
// How long to listen for one probe before publishing the next: it bounds only how fast the
// probing goes, never what the test concludes.
constexpr Duration probe_interval = std::chrono::milliseconds(20);

}  // namespace

void await_topic_subscriptions(const std::vector<Pb0Conn*>& subscribers, const Publish& publish) {
  const auto is_probe = [](std::string_view data) { return data.starts_with(probe); };
  std::vector<bool> confirmed(subscribers.size(), false);
  std::size_t pending = subscribers.size();
  const Deadline deadline(default_timeout);
  while (pending > 0) {
    if (deadline.expired()) {
      FAIL(pending << " of " << subscribers.size() << " subscriptions took no effect within "
                   << default_timeout.count() << " ms (no probe delivered)");
    }
    publish(probe);
    for (std::size_t i = 0; i < subscribers.size(); ++i) {
      if (confirmed[i]) continue;
      if (auto data = subscribers[i]->next_data(probe_interval)) {
        if (!is_probe(*data)) {
          FAIL(subscribers[i]->name() << ": expected a probe, got " << printable(*data));
        }
        confirmed[i] = true;
        --pending;
      }
    }
  }
  // Probes published before the first one arrived may still be on their way; a marker of its
  // own, sent now that every subscription is known to work, comes after all of them.
  static unsigned markers = 0;
  const std::string marker = std::string(probe) + "-end-" + std::to_string(++markers);
  publish(marker);
  for (auto* subscriber : subscribers) {
    for (;;) {
      const std::string data = subscriber->expect_data();
      if (data == marker) break;
      if (!is_probe(data)) {
        FAIL(subscriber->name() << ": expected a probe, got " << printable(data));
      }
    }
  }
}

void await_queue_consumers(const std::vector<Pb0Conn*>& consumers, const Publish& publish) {
  std::vector<std::size_t> got(consumers.size(), 0);
  std::size_t published = 0;
  std::size_t received = 0;
  const auto all_have_one = [&] {
    for (auto n : got) {
      if (n == 0) return false;
    }
    return true;
  };
  const Deadline deadline(default_timeout);
  while (!all_have_one() || received < published) {
    if (deadline.expired()) {
      FAIL("queue consumers not all subscribed within "
           << default_timeout.count() << " ms: " << received << " of " << published
           << " probes received");
    }
    if (!all_have_one()) {
      publish(probe);
      ++published;
    }
    for (std::size_t i = 0; i < consumers.size(); ++i) {
      while (auto data = consumers[i]->next_data(i == 0 ? probe_interval : Duration::zero())) {
        if (*data != probe) {
          FAIL(consumers[i]->name() << ": expected a probe, got " << printable(*data));
        }
        ++got[i];
        ++received;
      }
    }
  }
  if (received != published)
    FAIL("queue consumers received " << received << " probes of " << published);
}

}  // namespace paperboy::itest
