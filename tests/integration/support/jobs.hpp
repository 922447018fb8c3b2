#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "conn.hpp"
#include "payloads.hpp"

namespace paperboy::itest {

/// Size of a job's payload in the work-queue tests: its number, then filler that proves it intact.
inline constexpr std::size_t job_size = 64;

/// The payload of job `i`.
inline std::string job(std::size_t i) {
  return numbered_payload(i, job_size);
}

/// The number of the job a MSG carries, or the test fails naming the connection.
std::size_t job_index(const Conn& c, const protocol::Msg& msg);

/// Publishes jobs [from, to) to `channel`, each confirmed (OK) before the next is sent.
void publish_jobs(Conn& publisher, std::string_view channel, std::size_t from, std::size_t to,
                  std::string_view reply_to = {});

}  // namespace paperboy::itest
