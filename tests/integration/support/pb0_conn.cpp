#include "pb0_conn.hpp"

#include <doctest/doctest.h>

#include "describe.hpp"
#include "paperboy/protocol/messages.hpp"

namespace paperboy::itest {

Pb0Conn::Pb0Conn(std::uint16_t port, std::string_view channel, std::string name,
                 SocketOptions options)
    : stream_(port, std::move(name), &describe_raw_frame, options) {
  stream_.send_frame(channel);
}

void Pb0Conn::publish(std::string_view channel, std::string_view data) {
  std::string pair;
  protocol::append_raw_frame(pair, channel);
  protocol::append_raw_frame(pair, data);
  stream_.send_raw(pair);
}

void Pb0Conn::end_session() {
  stream_.send_frame({});
}

std::string Pb0Conn::expect_data(Duration timeout) {
  return stream_.expect_frame("a PB0 data frame", timeout);
}

void Pb0Conn::expect_data_eq(std::string_view data, Duration timeout) {
  const std::string got = expect_data(timeout);
  if (got != data)
    FAIL(name() << ": expected data " << printable(data) << ", got " << printable(got));
}

}  // namespace paperboy::itest
