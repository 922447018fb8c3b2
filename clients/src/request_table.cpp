#include "request_table.hpp"

#include <charconv>
#include <utility>

namespace paperboy::client {

RequestToken RequestTable::add(std::uint32_t pub_req) {
  const RequestToken token{++last_correlation_};
  requests_.emplace(token.correlation, InFlight{pub_req, {}});
  return token;
}

std::optional<RequestTable::Outcome> RequestTable::take_outcome(RequestToken token) {
  const auto it = requests_.find(token.correlation);
  if (it == requests_.end()) return std::nullopt;
  std::optional<Outcome> outcome;
  if (auto* reply = std::get_if<Message>(&it->second.outcome)) {
    outcome.emplace(std::move(*reply));
  } else if (const auto* refusal = std::get_if<Error>(&it->second.outcome)) {
    outcome.emplace(*refusal);
  } else {
    return std::nullopt;
  }
  requests_.erase(it);
  return outcome;
}

void RequestTable::answer(std::string_view correlation, Message reply) {
  std::uint64_t number = 0;
  const auto end = correlation.data() + correlation.size();
  const auto [parsed_end, ec] = std::from_chars(correlation.data(), end, number);
  if (correlation.empty() || ec != std::errc{} || parsed_end != end) return;
  const auto it = requests_.find(number);
  if (it != requests_.end() && std::holds_alternative<std::monostate>(it->second.outcome)) {
    it->second.outcome = std::move(reply);
  }
}

bool RequestTable::fail(std::uint32_t pub_req, const Error& error) {
  // Refusals are rare, so a scan beats keeping a second index by request id.
  for (auto& [correlation, request] : requests_) {
    if (request.pub_req == pub_req && std::holds_alternative<std::monostate>(request.outcome)) {
      request.outcome = error;
      return true;
    }
  }
  return false;
}

}  // namespace paperboy::client
