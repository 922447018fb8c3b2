#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

namespace paperboy::broker {

class QueueChannel;
class QueueConsumer;
class TopicChannel;

/// Names a channel or a consumer for as long as the broker runs. Whatever may outlive what it
/// names (a delivery waiting in a send queue, an unacked delivery, a parked PUB, a publisher's
/// last route, a GAP owed, a slice of bulk work) holds an Id and asks the Router for the object
/// when it needs it. An id is never reused, so a stale one finds nothing, never a newcomer that
/// happens to live at a freed address.
template <class T>
class Id {
 public:
  constexpr Id() noexcept = default;
  constexpr explicit Id(std::uint64_t value) noexcept : value_(value) {}

  /// False for the empty id, which names nothing.
  constexpr explicit operator bool() const noexcept { return value_ != 0; }
  constexpr std::uint64_t value() const noexcept { return value_; }
  friend constexpr bool operator==(Id, Id) noexcept = default;

 private:
  std::uint64_t value_ = 0;
};

using QueueId = Id<QueueChannel>;
using TopicId = Id<TopicChannel>;
using ConsumerId = Id<QueueConsumer>;

struct IdHash {
  template <class T>
  std::size_t operator()(Id<T> id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value());
  }
};

/// The live objects of one kind by id, found in O(1): an id is a slot index and the slot's
/// generation when it was given out, so finding it is one array access and one comparison.
/// A slot whose generation would wrap is retired instead of reused.
template <class T>
class IdTable {
 public:
  Id<T> insert(T& object) {
    std::uint32_t index;
    if (free_.empty()) {
      index = static_cast<std::uint32_t>(slots_.size());
      slots_.push_back({});
    } else {
      index = free_.back();
      free_.pop_back();
    }
    Slot& slot = slots_[index];
    slot.object = &object;
    return Id<T>((std::uint64_t{slot.generation} << 32) | index);
  }

  void erase(Id<T> id) noexcept {
    if (!find(id)) return;
    const auto index = static_cast<std::uint32_t>(id.value());
    Slot& slot = slots_[index];
    slot.object = nullptr;
    if (slot.generation == std::numeric_limits<std::uint32_t>::max()) return;  // retired
    ++slot.generation;
    free_.push_back(index);
  }

  /// The object, or null once it is gone (or for the empty id).
  T* find(Id<T> id) const noexcept {
    const auto index = static_cast<std::uint32_t>(id.value());
    if (index >= slots_.size()) return nullptr;
    const Slot& slot = slots_[index];
    return slot.generation == id.value() >> 32 ? slot.object : nullptr;
  }

  std::size_t size() const noexcept { return slots_.size() - free_.size(); }

 private:
  struct Slot {
    T* object = nullptr;
    std::uint32_t generation = 1;  ///< never 0, so no id is the empty one
  };

  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
};

/// Keeps an object findable by its id for exactly as long as the object lives.
template <class T>
class Enrollment {
 public:
  Enrollment(IdTable<T>& table, T& object) : table_(table), id_(table.insert(object)) {}
  ~Enrollment() { table_.erase(id_); }
  Enrollment(const Enrollment&) = delete;
  Enrollment& operator=(const Enrollment&) = delete;

  Id<T> id() const noexcept { return id_; }

 private:
  IdTable<T>& table_;
  Id<T> id_;
};

/// Every id the broker gives out, by kind.
struct Registry {
  IdTable<TopicChannel> topics;
  IdTable<QueueChannel> queues;
  IdTable<QueueConsumer> consumers;
};

}  // namespace paperboy::broker
