#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <utility>

namespace paperboy::broker {

/// Immutable bytes shared by every delivery that carries them: one allocation (count and bytes
/// together), a plain reference count. Plain because one thread runs the io_context; a second
/// thread would hand whole batches across, never touch the count concurrently.
class SharedBuffer {
 public:
  SharedBuffer() noexcept = default;

  /// Allocates `size` bytes; the caller fills them through writable_data() before sharing.
  static SharedBuffer allocate(std::size_t size) {
    void* raw = ::operator new(sizeof(Block) + size);
    auto* block = new (raw) Block{1, size};
    return SharedBuffer(block);
  }

  SharedBuffer(const SharedBuffer& other) noexcept : block_(other.block_) {
    if (block_) ++block_->refs;
  }
  SharedBuffer(SharedBuffer&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  SharedBuffer& operator=(SharedBuffer other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~SharedBuffer() {
    if (block_ && --block_->refs == 0) {
      block_->~Block();
      ::operator delete(block_);
    }
  }

  explicit operator bool() const noexcept { return block_ != nullptr; }
  const char* data() const noexcept { return block_ ? block_->bytes() : nullptr; }
  std::size_t size() const noexcept { return block_ ? block_->size : 0; }
  std::string_view view() const noexcept { return {data(), size()}; }
  std::string_view view(std::size_t offset, std::size_t length) const noexcept {
    return {data() + offset, length};
  }
  /// Only for filling a freshly allocated buffer that nobody else holds yet.
  char* writable_data() noexcept { return block_->bytes(); }

 private:
  struct Block {
    std::size_t refs;
    std::size_t size;
    char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
  };
  explicit SharedBuffer(Block* block) noexcept : block_(block) {}

  Block* block_ = nullptr;
};

}  // namespace paperboy::broker
