#include "admin_http.hpp"

#include <httplib.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <stdexcept>

namespace paperboy::cli {
namespace {

// The daemon answers from its event loop within 2 s or says 503; a little more covers the
// connection and a loaded machine, and an operator never waits long on a wedged daemon.
constexpr auto connect_timeout = std::chrono::seconds(3);
constexpr auto answer_timeout = std::chrono::seconds(5);

struct HostPort {
  std::string host;
  int port = 0;
};

// HOST:PORT, or [IPV6]:PORT.
std::optional<HostPort> parse_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = address.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = address.substr(colon + 1);
  int port = 0;
  const auto* end = port_text.data() + port_text.size();
  const auto [last, ec] = std::from_chars(port_text.data(), end, port);
  if (port_text.empty() || ec != std::errc{} || last != end || port < 1 || port > 65535) {
    return std::nullopt;
  }
  return HostPort{host, port};
}

// The daemon's {"error": "..."} when the body is one, else the body itself.
std::string error_text(const httplib::Response& response) {
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    return body["error"].get<std::string>();
  }
  return response.body.empty() ? std::string("no reason given") : response.body;
}

}  // namespace

void add_http_option(CLI::App& command, HttpArgs& args) {
  command
      .add_option("--http", args.address,
                  "Address of paperboyd's HTTP listener (paperboyd --http ADDRESS:PORT)")
      ->type_name("ADDRESS:PORT")
      ->envname("PAPERBOY_HTTP")
      ->capture_default_str()
      ->group("Connection");
}

AdminHttp::AdminHttp(const std::string& address) : address_(address) {
  const auto host_port = parse_address(address);
  if (!host_port) {
    throw std::runtime_error("--http wants ADDRESS:PORT (e.g. 127.0.0.1:8222), not '" + address +
                             "'");
  }
  client_ = std::make_unique<httplib::Client>(host_port->host, host_port->port);
  client_->set_connection_timeout(connect_timeout);
  client_->set_read_timeout(answer_timeout);
  client_->set_write_timeout(answer_timeout);
}

AdminHttp::~AdminHttp() = default;

namespace {

// What to tell the operator when a request got no answer at all.
[[noreturn]] void throw_unanswered(const std::string& address, httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
      throw std::runtime_error("cannot reach paperboyd's HTTP listener at " + address +
                               " (is it started with --http?)");
    case httplib::Error::Read:
      throw std::runtime_error("paperboyd's HTTP listener at " + address +
                               " did not answer in time (or closed the connection)");
    default:
      throw std::runtime_error("request to paperboyd's HTTP listener at " + address +
                               " failed: " + httplib::to_string(error));
  }
}

nlohmann::json parse_document(const std::string& address, const std::string& body) {
  auto document = nlohmann::json::parse(body, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    throw std::runtime_error("paperboyd's HTTP listener at " + address +
                             " answered with something that is not a JSON object");
  }
  return document;
}

}  // namespace

void AdminHttp::authenticate_as(const std::string& name, const std::string& token) {
  client_->set_basic_auth(name, token);
}

nlohmann::json AdminHttp::stats(bool with_connections) {
  const auto result = client_->Get(with_connections ? "/stats" : "/stats?connections=0");
  if (!result) throw_unanswered(address_, result.error());
  if (result->status != 200) {
    throw std::runtime_error("paperboyd answered GET /stats with " +
                             std::to_string(result->status) + ": " + error_text(*result));
  }
  return parse_document(address_, result->body);
}

std::optional<std::uint64_t> AdminHttp::purge_queue(const std::string& channel) {
  const auto result = client_->Post("/queues/purge?channel=" + encode_query_value(channel),
                                    std::string(), "application/json");
  if (!result) throw_unanswered(address_, result.error());
  if (result->status == 404) return std::nullopt;
  if (result->status != 200) {
    throw std::runtime_error("paperboyd refused to purge " + channel + " (" +
                             std::to_string(result->status) + "): " + error_text(*result));
  }
  const auto answer = parse_document(address_, result->body);
  const auto purged = answer.find("purged");
  if (purged == answer.end() || !purged->is_number_unsigned()) {
    throw std::runtime_error("paperboyd's answer to the purge has no count: " + result->body);
  }
  return purged->get<std::uint64_t>();
}

std::string encode_query_value(const std::string& text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
                            (byte >= '0' && byte <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~' || c == '/';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0x0F];
    }
  }
  return out;
}

}  // namespace paperboy::cli
