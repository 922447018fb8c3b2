#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace paperboy::broker {

/// Immutable bytes shared by every delivery that carries them. Buffers are cut from slabs in the
/// order they are made, so the messages of one read batch lie back to back in memory and a
/// subscriber's writev can send a run of them as one span (see gather_spans); a slab is freed
/// when its last buffer is. The count is plain because one thread runs the io_context; a second
/// thread would hand whole batches across, never touch the count concurrently.
class SharedBuffer {
 public:
  /// Size of the slabs small messages share.
  static constexpr std::size_t slab_size = 64 * 1024;

  SharedBuffer() noexcept = default;

  /// Allocates `size` bytes; the caller fills them through writable_data() before sharing.
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
  class SlabAllocator;

  SharedBuffer(Slab* slab, std::uint32_t offset, std::uint32_t size) noexcept
      : slab_(slab), offset_(offset), size_(size) {}
  static void release(Slab* slab) noexcept;

  Slab* slab_ = nullptr;
  std::uint32_t offset_ = 0;
  std::uint32_t size_ = 0;
};

}  // namespace paperboy::broker
