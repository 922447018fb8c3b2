#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace httplib {
class Client;
}

namespace paperboy::cli {

/// Where paperboyd's HTTP listener is (`paperboyd --http ADDRESS:PORT`): the option of the
/// commands that read the daemon's state (stats, queues, queue purge).
struct HttpArgs {
  std::string address = "127.0.0.1:8222";
};

/// Adds --http ADDRESS:PORT; the PAPERBOY_HTTP environment variable overrides its default.
void add_http_option(CLI::App& command, HttpArgs& args);

/// A client of paperboyd's HTTP listener. Every call connects within a few seconds and waits a
/// few seconds for the answer; failures throw std::runtime_error with a message for the operator.
class AdminHttp {
 public:
  /// Throws std::runtime_error when `address` is not HOST:PORT.
  explicit AdminHttp(const std::string& address);
  ~AdminHttp();
  AdminHttp(const AdminHttp&) = delete;
  AdminHttp& operator=(const AdminHttp&) = delete;

  /// Sends `name` and `token` with every request (HTTP Basic): a broker with users lets only an
  /// admin user purge.
  void authenticate_as(const std::string& name, const std::string& token);

  /// GET /stats: the daemon's state as the JSON document of CONTRACT_stats.md; without
  /// `with_connections` its "connections" list is left empty.
  nlohmann::json stats(bool with_connections);

  /// POST /queues/purge?channel=CHANNEL: how many messages were purged, or nothing when the
  /// daemon has no queue channel of that name.
  std::optional<std::uint64_t> purge_queue(const std::string& channel);

  const std::string& address() const { return address_; }

 private:
  std::string address_;
  std::unique_ptr<httplib::Client> client_;
};

/// `text` percent-encoded for a URL query value (RFC 3986 unreserved characters kept).
std::string encode_query_value(const std::string& text);

}  // namespace paperboy::cli
