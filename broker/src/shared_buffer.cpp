#include "shared_buffer.hpp"

#include <cstring>
#include <new>

#include "memory_gauge.hpp"

namespace paperboy::broker {

// Slabs are small enough that a message kept long (a queue backlog) pins little beside it, and
// large enough to hold a read batch's worth of small messages in a few of them.
class SharedBuffer::SlabAllocator {
 public:
  static constexpr std::size_t max_shared = slab_size / 8;  ///< larger messages get their own

  ~SlabAllocator() { release(current_); }

  SharedBuffer allocate(std::size_t size) {
    if (size > max_shared) return SharedBuffer(new_slab(size, 1), 0, narrow(size));
    if (!current_ || current_->capacity - current_->used < size) {
      release(current_);
      current_ = new_slab(slab_size, 1);  // the allocator's own reference
    }
    const std::size_t offset = current_->used;
    current_->used += size;
    ++current_->refs;
    return SharedBuffer(current_, narrow(offset), narrow(size));
  }

  static Slab* new_slab(std::size_t capacity, std::size_t refs) {
    void* raw = ::operator new(sizeof(Slab) + capacity);
    MemoryGauge::add(sizeof(Slab) + capacity);
    return new (raw) Slab{refs, capacity, capacity == slab_size ? 0 : capacity};
  }
  static std::uint32_t narrow(std::size_t n) noexcept { return static_cast<std::uint32_t>(n); }

 private:
  Slab* current_ = nullptr;
};

SharedBuffer SharedBuffer::compacted() const {
  if (!slab_ || slab_->capacity == size_) return *this;
  SharedBuffer own(SlabAllocator::new_slab(size_, 1), 0, size_);
  std::memcpy(own.writable_data(), data(), size_);
  return own;
}

SharedBuffer SharedBuffer::allocate(std::size_t size) {
  static thread_local SlabAllocator allocator;
  return allocator.allocate(size);
}

void SharedBuffer::release(Slab* slab) noexcept {
  if (slab && --slab->refs == 0) {
    MemoryGauge::remove(sizeof(Slab) + slab->capacity);
    slab->~Slab();
    ::operator delete(slab);
  }
}

}  // namespace paperboy::broker
