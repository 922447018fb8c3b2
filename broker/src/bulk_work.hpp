#pragma once

#include <asio/any_io_executor.hpp>
#include <cstddef>
#include <deque>
#include <functional>

namespace paperboy::broker {

/// Work proportional to what a client held (a consumer leaving with 100,000 unacked, a pump
/// into a consumer that regained megabytes of room), cut into slices across event-loop turns so
/// every other connection's reads and writes run in between. Jobs take turns in one posted
/// handler that moves at most `per_turn` messages in all: however many channels have work
/// pending, one turn costs the same.
class BulkWork {
 public:
  /// Messages one turn of bulk work may move, across all its jobs.
  static constexpr std::size_t per_turn = 2048;

  struct Progress {
    std::size_t moved = 0;  ///< messages this slice moved
    bool finished = false;  ///< nothing left: the job is dropped
  };
  /// One slice of a job, given the messages it may still move this turn.
  using Job = std::function<Progress(std::size_t budget)>;

  explicit BulkWork(asio::any_io_executor executor) : executor_(std::move(executor)) {}

  /// Queues a job; it runs a slice a turn, in turn with the others, until it says finished.
  void add(Job job);

 private:
  void run_turn();

  asio::any_io_executor executor_;
  std::deque<Job> jobs_;
  bool posted_ = false;
};

}  // namespace paperboy::broker
