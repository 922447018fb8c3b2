#include "returned_messages.hpp"

#include <iterator>
#include <utility>

namespace paperboy::broker {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

template <class T>
void ReturnedMessages::append_batch(T batch) {
  if (batch.empty()) return;
  size_ += batch.size();
  batches_.emplace_back(std::move(batch));
}

void ReturnedMessages::append(std::vector<QueuedMessage> messages) {
  append_batch(std::move(messages));
}

void ReturnedMessages::append(AckLedger::Held unacked) {
  append_batch(std::move(unacked));
}

void ReturnedMessages::append(std::vector<Delivery> unsent) {
  append_batch(std::move(unsent));
}

void ReturnedMessages::prepend(ReturnedMessages&& ahead) {
  batches_.insert(batches_.begin(), std::make_move_iterator(ahead.batches_.begin()),
                  std::make_move_iterator(ahead.batches_.end()));
  size_ += ahead.size_;
  ahead.batches_.clear();
  ahead.size_ = 0;
}

QueuedMessage ReturnedMessages::take_back() {
  Batch& last = batches_.back();
  QueuedMessage queued = std::visit(Overloaded{
                                        [](std::vector<QueuedMessage>& messages) {
                                          QueuedMessage m = std::move(messages.back());
                                          messages.pop_back();
                                          return m;
                                        },
                                        [](AckLedger::Held& unacked) {
                                          const auto it = std::prev(unacked.end());
                                          QueuedMessage m{std::move(it->second.message),
                                                          it->second.failures + 1,
                                                          {},
                                                          false,
                                                          it->second.expires,
                                                          it->second.stored};
                                          unacked.erase(it);
                                          return m;
                                        },
                                        [](std::vector<Delivery>& unsent) {
                                          QueuedMessage m{std::move(unsent.back().buffer),
                                                          unsent.back().failures,
                                                          {},
                                                          false,
                                                          unsent.back().expires};
                                          unsent.pop_back();
                                          return m;
                                        },
                                    },
                                    last);
  --size_;
  if (std::visit([](const auto& batch) { return batch.empty(); }, last)) batches_.pop_back();
  return queued;
}

}  // namespace paperboy::broker
