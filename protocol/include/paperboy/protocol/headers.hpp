#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

namespace paperboy::protocol {

// A version 2 header block (PROTOCOL.md, "Headers"): entries `u8 klen | key | u16 vlen | value`,
// back to back, in the order the publisher wrote them; a key may repeat. Keys are 1 to 255 bytes
// of printable ASCII without space or ':', values any bytes. PUB and MSG carry the block as
// `u16 hlen | block`, so a block is at most 65535 bytes.

/// Largest header block: its length travels as a u16.
inline constexpr std::size_t max_header_block_size = 0xFFFF;

/// One header entry; both views point into the block.
struct Header {
  std::string_view key;
  std::string_view value;
  friend bool operator==(const Header&, const Header&) = default;
};

/// True for a key of 1 to 255 bytes, each printable ASCII (0x21 to 0x7E) other than ':'.
bool valid_header_key(std::string_view key) noexcept;

/// True when `block` is a whole number of well-formed entries with valid keys; the decoder
/// refuses a PUB or MSG whose block is not.
bool valid_header_block(std::string_view block) noexcept;

/// The entries of a header block, in wire order. Walking stops at the first entry that does not
/// fit in the block, so even an unchecked block is safe to walk (valid_header_block says whether
/// anything was left over).
class HeaderBlock {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Header;
    using difference_type = std::ptrdiff_t;
    using pointer = const Header*;
    using reference = const Header&;

    iterator() = default;
    explicit iterator(std::string_view rest) noexcept : rest_(rest) { advance(); }
    reference operator*() const noexcept { return current_; }
    pointer operator->() const noexcept { return &current_; }
    iterator& operator++() noexcept {
      advance();
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator before = *this;
      advance();
      return before;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.at_end_ == b.at_end_ && (a.at_end_ || a.rest_.data() == b.rest_.data());
    }

   private:
    void advance() noexcept;

    std::string_view rest_;
    Header current_;
    bool at_end_ = true;
  };

  HeaderBlock() = default;
  explicit HeaderBlock(std::string_view bytes) noexcept : bytes_(bytes) {}

  iterator begin() const noexcept { return iterator(bytes_); }
  iterator end() const noexcept { return {}; }
  bool empty() const noexcept { return bytes_.empty(); }
  std::string_view bytes() const noexcept { return bytes_; }

  /// The value of the first entry with this key.
  std::optional<std::string_view> find(std::string_view key) const noexcept;

 private:
  std::string_view bytes_;
};

/// Builds a header block entry by entry.
class HeaderBuilder {
 public:
  /// Appends one entry. False, and nothing appended, when the key is not valid_header_key or the
  /// block would grow past max_header_block_size.
  bool add(std::string_view key, std::string_view value);

  /// The block so far: what goes into Pub::headers or Msg::headers.
  std::string_view bytes() const noexcept { return bytes_; }

 private:
  std::string bytes_;
};

}  // namespace paperboy::protocol
