#include "stats_view.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "text_table.hpp"

namespace paperboy::cli {
namespace {

using nlohmann::json;

// Stands in for whatever the document lacks, so a field missing from an older daemon shows as 0.
const json& absent() {
  static const json none;
  return none;
}

const json& member(const json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() ? *found : absent();
}

double real_of(const json& object, const char* key) {
  const json& value = member(object, key);
  return value.is_number() ? value.get<double>() : 0.0;
}

std::string text_of(const json& object, const char* key) {
  const json& value = member(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

bool flag_of(const json& object, const char* key) {
  const json& value = member(object, key);
  return value.is_boolean() && value.get<bool>();
}

// A counter's increase: one that went down was reset to zero and counted `after` since.
double increase(std::uint64_t before, std::uint64_t after) {
  return static_cast<double>(after >= before ? after - before : after);
}

// "12 (pb1v2 10, pb0 2)" from {"pb1v2": 10, "pb0": 2}.
std::string breakdown(const json& counts) {
  std::uint64_t total = 0;
  std::string parts;
  if (counts.is_object()) {
    for (const auto& [name, value] : counts.items()) {
      if (!value.is_number()) continue;
      const auto count = value.get<std::uint64_t>();
      total += count;
      if (!parts.empty()) parts += ", ";
      parts += name + " " + std::to_string(count);
    }
  }
  return std::to_string(total) + (parts.empty() ? "" : " (" + parts + ")");
}

std::string connection_state(const json& connection) {
  const bool slow = flag_of(connection, "slow");
  const bool blocked = flag_of(connection, "publishing_blocked");
  if (slow && blocked) return "slow, blocked";
  return slow ? "slow" : "blocked";
}

std::string render_server(const json& now, const StatsRates& rates) {
  const json& server = member(now, "server");
  std::string out = "paperboyd " + text_of(server, "version") + "  server " +
                    text_of(server, "server_id") + "  up " +
                    format_age(real_of(server, "uptime_seconds")) + "  (rates over " +
                    format_age(rates.interval_seconds) + ")\n";
  out += "connections   " + breakdown(member(server, "connections")) + ", " +
         std::to_string(count_of(server, "connections_total")) + " accepted\n";
  out += "messages      in " + format_rate(rates.messages_in_per_second) + "/s  out " +
         format_rate(rates.messages_out_per_second) + "/s\n";
  out += "bytes         in " + format_bytes(rates.bytes_in_per_second) + "/s  out " +
         format_bytes(rates.bytes_out_per_second) + "/s\n";
  out +=
      "memory        " + format_bytes(static_cast<double>(count_of(server, "memory_bytes"))) + "\n";
  out += "flow          slow consumers " + std::to_string(count_of(server, "slow_consumers")) +
         ", blocked publishers " + std::to_string(count_of(server, "blocked_publishers")) + "\n";
  out += "refusals      " + breakdown(member(server, "refusals")) + "\n";
  return out;
}

std::string render_channels(const json& now, const StatsRates& rates, std::size_t top) {
  std::map<std::string, const json*> by_name;
  const json& channels = member(now, "channels");
  if (channels.is_array()) {
    for (const auto& channel : channels) by_name.emplace(text_of(channel, "name"), &channel);
  }
  if (rates.channels.empty()) return "channels: none\n";
  const std::size_t shown = std::min(top, rates.channels.size());
  std::string out = "busiest channels (" + std::to_string(shown) + " of " +
                    std::to_string(rates.channels.size()) + ", by messages in per second)\n";
  TextTable table({{"CHANNEL"},
                   {"KIND"},
                   {"IN/S", TextTable::Align::right},
                   {"OUT/S", TextTable::Align::right},
                   {"CONSUMERS", TextTable::Align::right},
                   {"DEPTH", TextTable::Align::right},
                   {"UNACKED", TextTable::Align::right}});
  for (std::size_t i = 0; i < shown; ++i) {
    const ChannelRates& channel_rates = rates.channels[i];
    const auto found = by_name.find(channel_rates.name);
    const json& channel = found != by_name.end() ? *found->second : absent();
    const std::string kind = text_of(channel, "kind");
    const bool queue = kind == "queue";
    table.add_row({channel_rates.name, kind, format_rate(channel_rates.published_per_second),
                   format_rate(channel_rates.delivered_per_second),
                   std::to_string(count_of(channel, "consumers")),
                   queue ? std::to_string(count_of(channel, "backlog_messages")) : not_applicable,
                   queue ? std::to_string(count_of(channel, "unacked")) : not_applicable});
  }
  return out + table.render();
}

std::string render_troubled_connections(const json& now, std::size_t top) {
  std::vector<const json*> troubled;
  const json& connections = member(now, "connections");
  if (connections.is_array()) {
    for (const auto& connection : connections) {
      if (flag_of(connection, "slow") || flag_of(connection, "publishing_blocked")) {
        troubled.push_back(&connection);
      }
    }
  }
  if (troubled.empty()) return "slow consumers and blocked publishers: none\n";
  // The fullest send queues first: those are the connections closest to being cut off.
  std::stable_sort(troubled.begin(), troubled.end(), [](const json* a, const json* b) {
    return count_of(*a, "send_queue_bytes") > count_of(*b, "send_queue_bytes");
  });
  const std::size_t shown = std::min(top, troubled.size());
  std::string out = "slow consumers and blocked publishers (" + std::to_string(shown) + " of " +
                    std::to_string(troubled.size()) + ")\n";
  TextTable table({{"ID", TextTable::Align::right},
                   {"PEER"},
                   {"CLIENT"},
                   {"PROTOCOL"},
                   {"STATE"},
                   {"SEND QUEUE", TextTable::Align::right},
                   {"DROPPED", TextTable::Align::right}});
  for (std::size_t i = 0; i < shown; ++i) {
    const json& connection = *troubled[i];
    const std::string name = text_of(connection, "client_name");
    table.add_row({std::to_string(count_of(connection, "id")), text_of(connection, "peer"),
                   name.empty() ? not_applicable : name, text_of(connection, "protocol"),
                   connection_state(connection),
                   format_bytes(static_cast<double>(count_of(connection, "send_queue_bytes"))),
                   std::to_string(count_of(connection, "dropped"))});
  }
  return out + table.render();
}

}  // namespace

std::uint64_t count_of(const json& object, const char* key) {
  const json& value = member(object, key);
  return value.is_number() ? value.get<std::uint64_t>() : 0;
}

StatsRates rates_between(const json& before, const json& after, double measured_seconds) {
  const json& server_after = member(after, "server");
  const double uptime_after = real_of(server_after, "uptime_seconds");
  const double uptime_before = real_of(member(before, "server"), "uptime_seconds");
  const bool restarted = uptime_after < uptime_before;
  static const json nothing = json::object();
  const json& baseline = restarted ? nothing : before;
  const json& server_before = member(baseline, "server");

  StatsRates rates;
  const double uptime_interval = uptime_after - real_of(server_before, "uptime_seconds");
  rates.interval_seconds = uptime_interval > 0 ? uptime_interval : measured_seconds;
  if (rates.interval_seconds <= 0) return rates;
  const auto per_second = [&](const json& old_object, const json& new_object, const char* key) {
    return increase(count_of(old_object, key), count_of(new_object, key)) / rates.interval_seconds;
  };
  rates.messages_in_per_second = per_second(server_before, server_after, "messages_in");
  rates.messages_out_per_second = per_second(server_before, server_after, "messages_out");
  rates.bytes_in_per_second = per_second(server_before, server_after, "bytes_in");
  rates.bytes_out_per_second = per_second(server_before, server_after, "bytes_out");

  std::map<std::string, const json*> earlier;
  const json& channels_before = member(baseline, "channels");
  if (channels_before.is_array()) {
    for (const auto& channel : channels_before) earlier.emplace(text_of(channel, "name"), &channel);
  }
  const json& channels_after = member(after, "channels");
  if (channels_after.is_array()) {
    for (const auto& channel : channels_after) {
      const std::string name = text_of(channel, "name");
      const auto found = earlier.find(name);
      const json& old_channel = found != earlier.end() ? *found->second : nothing;
      rates.channels.push_back({name, per_second(old_channel, channel, "published"),
                                per_second(old_channel, channel, "delivered")});
    }
  }
  std::stable_sort(rates.channels.begin(), rates.channels.end(),
                   [](const ChannelRates& a, const ChannelRates& b) {
                     if (a.published_per_second != b.published_per_second) {
                       return a.published_per_second > b.published_per_second;
                     }
                     if (a.delivered_per_second != b.delivered_per_second) {
                       return a.delivered_per_second > b.delivered_per_second;
                     }
                     return a.name < b.name;
                   });
  return rates;
}

std::string render_stats(const json& now, const StatsRates& rates, std::size_t top) {
  return render_server(now, rates) + "\n" + render_channels(now, rates, top) + "\n" +
         render_troubled_connections(now, top);
}

}  // namespace paperboy::cli
