#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace paperboy::broker {

/// Immutable bytes shared by every delivery that carries them. Buffers are cut from slabs in the
/// order they are made, so the messages of one read batch lie back to back in memory and a
/// subscriber's writev can send a run of them as one span (see write_gathered); a slab is freed
/// when its last buffer is. The count is plain because one thread runs the io_context; a second
/// thread would hand whole batches across, never touch the count concurrently.
class SharedBuffer {
 public:
  /// Size of the largest slabs small messages share (an arena's slabs grow to it as they fill).
  static constexpr std::size_t slab_size = 64 * 1024;
  /// Larger buffers get an allocation of their own. Slabs are small enough that a message kept
  /// long (a queue backlog) pins little beside it, and large enough to hold a read batch's worth
  /// of small messages in a few of them.
  static constexpr std::size_t max_shared = slab_size / 8;

  /// Cuts buffers from slabs one after another (see Arena below).
  class Arena;

  SharedBuffer() noexcept = default;

  /// Allocates `size` bytes from the thread's arena; the caller fills them through
  /// writable_data() before sharing.
  static SharedBuffer allocate(std::size_t size);

  SharedBuffer(const SharedBuffer& other) noexcept
      : slab_(other.slab_), offset_(other.offset_), size_(other.size_) {
    if (slab_) ++slab_->refs;
  }
  SharedBuffer(SharedBuffer&& other) noexcept
      : slab_(std::exchange(other.slab_, nullptr)), offset_(other.offset_), size_(other.size_) {}
  SharedBuffer& operator=(SharedBuffer other) noexcept {
    std::swap(slab_, other.slab_);
    std::swap(offset_, other.offset_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~SharedBuffer() { release(slab_); }

  explicit operator bool() const noexcept { return slab_ != nullptr; }
  const char* data() const noexcept { return slab_ ? slab_->bytes() + offset_ : nullptr; }
  std::size_t size() const noexcept { return slab_ ? size_ : 0; }
  std::string_view view() const noexcept { return {data(), size()}; }
  /// The same bytes in an allocation of their own (itself if it already has one). For messages
  /// that may wait long, such as a queue backlog, so they do not keep a whole slab alive.
  SharedBuffer compacted() const;

  /// True when the bytes live in a slab other buffers may share: holding them keeps the whole
  /// slab alive.
  bool in_shared_slab() const noexcept { return slab_ && slab_->capacity != size_; }
  /// The slab the bytes live in: two buffers with the same one pin a single slab between them.
  const void* slab() const noexcept { return slab_; }
  /// Bytes this buffer alone keeps allocated: its own allocation whole, or its share of a slab.
  std::size_t footprint() const noexcept {
    return in_shared_slab() ? size_ : (slab_ ? sizeof(Slab) + size_ : 0);
  }

  /// Only for filling a freshly allocated buffer that nobody else holds yet.
  char* writable_data() noexcept { return slab_->bytes() + offset_; }

 private:
  struct Slab {
    std::size_t refs;
    std::size_t capacity;
    std::size_t used;
    char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
  };

  SharedBuffer(Slab* slab, std::uint32_t offset, std::uint32_t size) noexcept
      : slab_(slab), offset_(offset), size_(size) {}
  static void release(Slab* slab) noexcept;
  static Slab* new_slab(std::size_t capacity);

  Slab* slab_ = nullptr;
  std::uint32_t offset_ = 0;
  std::uint32_t size_ = 0;
};

/// Cuts buffers from slabs in the order they are asked for, so buffers made one after another lie
/// back to back; larger ones get an allocation of their own. Its slabs start at 4 KiB and double
/// as they fill, up to slab_size. One per thread serves
/// SharedBuffer::allocate (the messages of one read batch). An Outbox owns another for the queue
/// deliveries it alone sends: round robin hands each consumer every n-th message of a batch, and
/// those would otherwise lie apart in the shared slabs, one writev segment each.
class SharedBuffer::Arena {
 public:
  Arena() noexcept = default;
  ~Arena() { release(); }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  SharedBuffer allocate(std::size_t size) {
    // Inline for the common case, a small buffer cut from the slab being filled.
    if (current_ && current_->refs > 1 && size <= max_shared &&
        size <= current_->capacity - current_->used) {
      return cut(size);
    }
    return allocate_new(size);
  }
  /// Lets go of the slab being filled; it is freed once the buffers cut from it are (an idle
  /// owner keeps no memory).
  void release() noexcept {
    SharedBuffer::release(current_);
    current_ = nullptr;
  }

 private:
  SharedBuffer allocate_new(std::size_t size);
  SharedBuffer cut(std::size_t size) noexcept {
    const std::size_t offset = current_->used;
    current_->used += size;
    ++current_->refs;
    return SharedBuffer(current_, static_cast<std::uint32_t>(offset),
                        static_cast<std::uint32_t>(size));
  }

  Slab* current_ = nullptr;
};

}  // namespace paperboy::broker
