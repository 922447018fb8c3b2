#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace paperboy::protocol {

/// Bytes taken by the u32 length prefix of every frame.
inline constexpr std::size_t frame_header_size = 4;

/// Room for the largest PB1 header, on top of max_payload, when bounding a frame body.
inline constexpr std::uint32_t frame_header_allowance = 1024;

/// Default upper bound for one message payload (1 MiB).
inline constexpr std::uint32_t default_max_payload = 1024 * 1024;

/// Largest frame body accepted when payloads may be up to max_payload bytes.
constexpr std::uint32_t max_frame_body(std::uint32_t max_payload) noexcept {
  return max_payload + frame_header_allowance;
}

/// What FrameBuffer::next found at the front of the buffered bytes.
enum class FrameStatus {
  frame,      ///< a complete frame; its body is in FrameParse::body
  need_more,  ///< an incomplete frame (or nothing): read more bytes
  too_large,  ///< the length prefix exceeds the limit; the stream is unusable
};

/// One step of frame parsing: a status and, for FrameStatus::frame, the body (no length prefix).
struct FrameParse {
  FrameStatus status;
  std::string_view body;
  std::uint32_t declared_length = 0;  ///< the prefix value, also set for too_large
};

/// Parses the frame at the front of `bytes` without copying it (pure function).
FrameParse parse_frame(std::string_view bytes, std::uint32_t max_body) noexcept;

/// Writes `length` as the 4-byte big-endian frame prefix at `out`.
void write_frame_header(char* out, std::uint32_t length) noexcept;

/// Read buffer that turns a byte stream into frames: read into writable(), commit(n), then call
/// next() until it says need_more. Frame bodies are views into the buffer, valid until the next
/// writable() call, so many frames are parsed per read and no body is copied. The buffer grows
/// only as far as one frame of max_body bytes needs, and is refused a larger one from the prefix
/// alone, before anything is allocated for it. Memory is taken on the first writable_data() and
/// can be handed back with release_if_empty(), so an idle connection holds none.
class FrameBuffer {
 public:
  FrameBuffer(std::size_t read_size, std::uint32_t max_body);

  /// Space to read into: at least read_size bytes, or what the frame in progress still needs.
  /// Moves a partial frame to the front first; invalidates views returned by next().
  char* writable_data();
  std::size_t writable_size() const noexcept { return capacity_ - end_; }

  /// Records that n bytes were written at writable_data().
  void commit(std::size_t n) noexcept { end_ += n; }

  /// The next complete frame, or need_more / too_large.
  FrameParse next() noexcept;

  /// Bytes received but not yet returned as frames.
  std::size_t buffered() const noexcept { return end_ - begin_; }

  /// True while a frame has started but is not complete (some of its bytes are buffered).
  bool partial() const noexcept { return buffered() > 0; }

  /// Frees the storage when no bytes are buffered (views from next() become invalid).
  void release_if_empty() noexcept;

  /// Bytes of storage currently held.
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  void reserve_for(std::size_t wanted);

  std::unique_ptr<char[]> storage_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t read_size_;
  std::uint32_t max_body_;
};

}  // namespace paperboy::protocol
