#include "jobs.hpp"

#include <doctest/doctest.h>

#include "describe.hpp"

namespace paperboy::itest {

std::size_t job_index(const Conn& c, const protocol::Msg& msg) {
  const auto i = payload_index(msg.payload);
  if (!i) FAIL(c.name() << ": unexpected or damaged payload " << printable(msg.payload));
  return *i;
}

void publish_jobs(Conn& publisher, std::string_view channel, std::size_t from, std::size_t to,
                  std::string_view reply_to) {
  for (std::size_t i = from; i < to; ++i) publisher.publish(channel, job(i), reply_to);
}

}  // namespace paperboy::itest
