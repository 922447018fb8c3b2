#include "bulk_work.hpp"

#include <algorithm>
#include <asio/post.hpp>

namespace paperboy::broker {

void BulkWork::add(Job job) {
  jobs_.push_back(std::move(job));
  if (posted_) return;
  posted_ = true;
  // The Router that owns this outlives the loop's last turn (the Server outlives io.run()), and
  // a job holds its channel only weakly.
  asio::post(executor_, [this] { run_turn(); });
}

void BulkWork::run_turn() {
  posted_ = false;
  std::size_t budget = per_turn;
  // Each job present now gets one slice, in order, while the budget lasts; one that is not
  // finished goes to the back. Jobs added meanwhile wait for the next turn.
  for (std::size_t n = jobs_.size(); n > 0 && budget > 0; --n) {
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    const Progress progress = job(budget);
    budget -= std::min(progress.moved, budget);
    if (!progress.finished) jobs_.push_back(std::move(job));
  }
  if (!jobs_.empty() && !posted_) {
    posted_ = true;
    asio::post(executor_, [this] { run_turn(); });
  }
}

}  // namespace paperboy::broker
