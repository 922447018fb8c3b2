#include "server_list.hpp"

#include <charconv>

namespace paperboy::billing {
namespace {

std::optional<client::Server> parse_server(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || port_text.empty() || error != std::errc() ||
      end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    return std::nullopt;
  client::Server server;
  server.host = std::string(host);
  server.port = static_cast<std::uint16_t>(port);
  return server;
}

}  // namespace

std::optional<std::vector<client::Server>> parse_server_list(std::string_view text) {
  std::vector<client::Server> servers;
  for (;;) {
    const auto comma = text.find(',');
    auto server = parse_server(text.substr(0, comma));
    if (!server) return std::nullopt;
    servers.push_back(std::move(*server));
    if (comma == std::string_view::npos) return servers;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace paperboy::billing
