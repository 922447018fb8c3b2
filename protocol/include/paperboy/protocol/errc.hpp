#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace paperboy::protocol {

/// Wire error codes: each enumerator's value is the u16 sent in an ERR frame.
enum class Errc : std::uint16_t {
  protocol = 1,
  frame_too_large = 2,
  bad_channel = 3,
  not_authorized = 4,
  unknown_delivery = 5,
  shutting_down = 6,
  too_many_connections = 7,
  slow_consumer = 8,
  unsupported_version = 9,
  auth_failed = 10,
  no_subscribers = 11,  ///< version 2: a PUB that requires a subscriber found none
  storage_unavailable = 12,  ///< a durable queue's journal cannot write: the PUB was not taken
};

/// The std::error_category whose error values are the wire codes.
const std::error_category& error_category() noexcept;

/// Wraps a wire code as a std::error_code.
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Short stable name of a wire code ("bad_channel"), or "unknown" for values outside the table.
std::string_view errc_name(std::uint16_t code) noexcept;

/// True for the codes that refuse one request and leave the connection open (3, 4, 5, 11, 12).
constexpr bool keeps_connection(Errc e) noexcept {
  return e == Errc::bad_channel || e == Errc::not_authorized || e == Errc::unknown_delivery ||
         e == Errc::no_subscribers || e == Errc::storage_unavailable;
}

/// A value or the error that prevented it; the codec's only way to fail (it never throws).
template <class T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}   // NOLINT(google-explicit-constructor)
  Result(std::error_code ec) : state_(ec) {}      // NOLINT(google-explicit-constructor)
  Result(Errc e) : state_(make_error_code(e)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return std::holds_alternative<T>(state_); }
  explicit operator bool() const noexcept { return ok(); }

  std::error_code error() const noexcept {
    return ok() ? std::error_code{} : std::get<std::error_code>(state_);
  }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, std::error_code> state_;
};

}  // namespace paperboy::protocol

template <>
struct std::is_error_code_enum<paperboy::protocol::Errc> : std::true_type {};
