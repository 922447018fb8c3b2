#include "message_store.hpp"

#include <algorithm>
#include <chrono>

#include "permission_pattern.hpp"
#include "storage/journal.hpp"

namespace paperboy::broker {
namespace {

std::int64_t unix_now_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

bool MessageStore::covers(std::string_view queue) const noexcept {
  if (journal_ == nullptr) return false;
  for (const std::string& pattern : patterns_) {
    if (pattern_covers(pattern, queue)) return true;
  }
  return false;
}

bool MessageStore::accepting() const noexcept {
  return journal_ == nullptr || journal_->accepting();
}

std::uint64_t MessageStore::open_batch() const noexcept {
  return journal_->open_batch();
}

void MessageStore::append_delivered(storage::MessageId id) {
  journal_->append_delivered(id);
}

void MessageStore::append_settled(storage::MessageId id) {
  journal_->append_settled(id);
}

storage::MessageId MessageStore::enqueue(std::string_view queue, const SharedBuffer& frame,
                                         std::uint32_t failures, Deadline expires) {
  return journal_->append_enqueue(queue, frame.view(), failures, unix_ms_of(expires));
}

// Both clocks are read only for a message that has a TTL.
Deadline MessageStore::deadline_of(std::uint64_t expires_unix_ms) noexcept {
  if (expires_unix_ms == 0) return never;
  const auto left = std::chrono::milliseconds(std::int64_t(expires_unix_ms) - unix_now_ms());
  return std::chrono::steady_clock::now() + left;
}

std::uint64_t MessageStore::unix_ms_of(Deadline expires) noexcept {
  if (expires == never) return 0;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      expires - std::chrono::steady_clock::now());
  return static_cast<std::uint64_t>(std::max<std::int64_t>(1, unix_now_ms() + left.count()));
}

}  // namespace paperboy::broker
