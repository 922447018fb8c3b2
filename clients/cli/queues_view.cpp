#include "queues_view.hpp"

#include <algorithm>
#include <cctype>

#include "stats_view.hpp"
#include "text_table.hpp"

namespace paperboy::cli {

using nlohmann::json;

json queue_channels(const json& stats) {
  json queues = json::array();
  const auto channels = stats.find("channels");
  if (channels == stats.end() || !channels->is_array()) return queues;
  for (const auto& channel : *channels) {
    if (channel.is_object() && channel.value("kind", "") == "queue") queues.push_back(channel);
  }
  return queues;
}

std::optional<json> find_queue(const json& stats, const std::string& name) {
  for (const auto& queue : queue_channels(stats)) {
    if (queue.value("name", "") == name) return queue;
  }
  return std::nullopt;
}

std::string render_queues(const json& stats) {
  const json queues = queue_channels(stats);
  if (queues.empty()) return "no queue channels\n";
  TextTable table({{"QUEUE"},
                   {"DEPTH", TextTable::Align::right},
                   {"BYTES", TextTable::Align::right},
                   {"CONSUMERS", TextTable::Align::right},
                   {"UNACKED", TextTable::Align::right},
                   {"BLOCKED", TextTable::Align::right},
                   {"OLDEST", TextTable::Align::right},
                   {"DURABLE"}});
  for (const auto& queue : queues) {
    const auto age = queue.find("oldest_age_seconds");
    table.add_row({queue.value("name", ""), std::to_string(count_of(queue, "backlog_messages")),
                   format_bytes(static_cast<double>(count_of(queue, "backlog_bytes"))),
                   std::to_string(count_of(queue, "consumers")),
                   std::to_string(count_of(queue, "unacked")),
                   std::to_string(count_of(queue, "blocked_publishers")),
                   format_age(age != queue.end() && age->is_number()
                                  ? std::optional<double>(age->get<double>())
                                  : std::nullopt),
                   queue.value("durable", false) ? "yes" : "no"});
  }
  return table.render();
}

bool is_yes(std::string answer) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  answer.erase(answer.begin(), std::find_if_not(answer.begin(), answer.end(), space));
  answer.erase(std::find_if_not(answer.rbegin(), answer.rend(), space).base(), answer.end());
  std::transform(answer.begin(), answer.end(), answer.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return answer == "y" || answer == "yes";
}

}  // namespace paperboy::cli
