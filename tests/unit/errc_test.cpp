#include "paperboy/protocol/errc.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <system_error>
#include <utility>

#include "paperboy/protocol/channel.hpp"

namespace paperboy::protocol {
namespace {

TEST_CASE("Errc values are the wire codes") {
  static_assert(static_cast<int>(Errc::protocol) == 1);
  static_assert(static_cast<int>(Errc::frame_too_large) == 2);
  static_assert(static_cast<int>(Errc::bad_channel) == 3);
  static_assert(static_cast<int>(Errc::not_authorized) == 4);
  static_assert(static_cast<int>(Errc::unknown_delivery) == 5);
  static_assert(static_cast<int>(Errc::shutting_down) == 6);
  static_assert(static_cast<int>(Errc::too_many_connections) == 7);
  static_assert(static_cast<int>(Errc::slow_consumer) == 8);
  static_assert(static_cast<int>(Errc::unsupported_version) == 9);
  static_assert(static_cast<int>(Errc::auth_failed) == 10);
  CHECK(sizeof(Errc) == 2);  // the u16 of an ERR frame
}

TEST_CASE("errc_name names every code and calls the rest unknown") {
  CHECK(errc_name(1) == "protocol");
  CHECK(errc_name(2) == "frame_too_large");
  CHECK(errc_name(3) == "bad_channel");
  CHECK(errc_name(4) == "not_authorized");
  CHECK(errc_name(5) == "unknown_delivery");
  CHECK(errc_name(6) == "shutting_down");
  CHECK(errc_name(7) == "too_many_connections");
  CHECK(errc_name(8) == "slow_consumer");
  CHECK(errc_name(9) == "unsupported_version");
  CHECK(errc_name(10) == "auth_failed");
  CHECK(errc_name(0) == "unknown");
  CHECK(errc_name(11) == "no_subscribers");
  CHECK(errc_name(12) == "storage_unavailable");
  CHECK(errc_name(13) == "unknown");
  CHECK(errc_name(0x0100) == "unknown");
  CHECK(errc_name(0xFFFF) == "unknown");
}

TEST_CASE("keeps_connection is true for codes 3, 4, 5, 11 and 12 only") {
  for (std::uint16_t code = 1; code <= 13; ++code) {
    CAPTURE(code);
    CHECK(keeps_connection(static_cast<Errc>(code)) == ((code >= 3 && code <= 5) || code == 11 || code == 12));
  }
  static_assert(keeps_connection(Errc::bad_channel));
  static_assert(!keeps_connection(Errc::frame_too_large));
}

TEST_CASE("Errc converts to a std::error_code of the paperboy category") {
  const std::error_code ec = Errc::bad_channel;  // is_error_code_enum
  CHECK(ec.value() == 3);
  CHECK(ec == Errc::bad_channel);
  CHECK(ec != Errc::protocol);
  CHECK(ec.category() == error_category());
  CHECK(std::string(error_category().name()) == "paperboy");
  CHECK(ec.message() == "bad_channel");
  CHECK(make_error_code(Errc::auth_failed).value() == 10);
  CHECK(make_error_code(Errc::auth_failed).message() == "auth_failed");
  CHECK(std::error_code(42, error_category()).message() == "unknown");
  CHECK(static_cast<bool>(ec));  // a wire code is never the "no error" value
}

TEST_CASE("Result holds a value or the error") {
  const Result<int> value = 7;
  CHECK(value.ok());
  CHECK(static_cast<bool>(value));
  CHECK(*value == 7);
  CHECK_FALSE(value.error());

  const Result<int> failed = Errc::unknown_delivery;
  CHECK_FALSE(failed.ok());
  CHECK(failed.error() == Errc::unknown_delivery);

  Result<std::string> moved = std::string("abc");
  CHECK(moved->size() == 3);
  const std::string taken = std::move(moved).value();
  CHECK(taken == "abc");

  const Result<ChannelKind> from_code = std::error_code(Errc::bad_channel);
  CHECK(from_code.error() == Errc::bad_channel);
}

}  // namespace
}  // namespace paperboy::protocol
