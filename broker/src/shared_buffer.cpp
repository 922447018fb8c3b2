#include "shared_buffer.hpp"

#include <cstring>
#include <new>

#include "memory_gauge.hpp"

namespace paperboy::broker {

SharedBuffer SharedBuffer::Arena::allocate_new(std::size_t size) {
  if (size > max_shared) return SharedBuffer(new_slab(size), 0, static_cast<std::uint32_t>(size));
  if (current_ && current_->refs == 1) {
    // Nothing cut from the slab is alive any more: start it over, while it is still in cache.
    current_->used = 0;
  } else if (!current_ || current_->capacity - current_->used < size) {
    release();
    current_ = new_slab(slab_size);  // the arena's own reference
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
