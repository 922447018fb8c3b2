#include "shared_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "memory_gauge.hpp"

namespace paperboy::broker {

namespace {

// An arena's first slab. Slabs double as they fill, up to slab_size, so a busy arena cuts from
// 64 KiB slabs while one that serves a message now and then (a queue consumer's) holds 4 KiB.
constexpr std::size_t first_slab_size = 4 * 1024;

}  // namespace

SharedBuffer SharedBuffer::Arena::allocate_new(std::size_t size) {
  if (size > max_shared) return SharedBuffer(new_slab(size), 0, static_cast<std::uint32_t>(size));
  // Nothing cut from the slab is alive any more: start it over, while it is still in cache.
  if (current_ && current_->refs == 1) current_->used = 0;
  if (!current_ || current_->capacity - current_->used < size) {
    std::size_t capacity = current_ ? std::min(slab_size, 2 * current_->capacity) : first_slab_size;
    // Room for this buffer and more: a slab exactly its size would look like its own allocation.
    while (capacity < 2 * size) capacity *= 2;
    release();
    current_ = new_slab(capacity);  // the arena's own reference
    current_->used = 0;
  }
  return cut(size);
}

SharedBuffer::Slab* SharedBuffer::new_slab(std::size_t capacity) {
  void* raw = ::operator new(sizeof(Slab) + capacity);
  MemoryGauge::add(sizeof(Slab) + capacity);
  return new (raw) Slab{1, capacity, capacity == slab_size ? 0 : capacity};
}

SharedBuffer SharedBuffer::compacted() const {
  if (!slab_ || slab_->capacity == size_) return *this;
  SharedBuffer own(new_slab(size_), 0, size_);
  std::memcpy(own.writable_data(), data(), size_);
  return own;
}

SharedBuffer SharedBuffer::allocate(std::size_t size) {
  static thread_local Arena arena;
  return arena.allocate(size);
}

void SharedBuffer::release(Slab* slab) noexcept {
  if (slab && --slab->refs == 0) {
    MemoryGauge::remove(sizeof(Slab) + slab->capacity);
    slab->~Slab();
    ::operator delete(slab);
  }
}

}  // namespace paperboy::broker
