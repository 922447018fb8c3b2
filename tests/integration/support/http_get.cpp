#include "http_get.hpp"

#include <doctest/doctest.h>

#include <regex>

#include "deadline.hpp"
#include "socket.hpp"

namespace paperboy::itest {

std::string http_get(std::uint16_t port, const std::string& path) {
  Socket socket(port);
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  int error = 0;
  REQUIRE(socket.send_some(request, default_timeout, error) == request.size());
  std::string response;
  char chunk[4096];
  const Deadline deadline(default_timeout);
  for (;;) {
    std::size_t n = 0;
    const RecvStatus status = socket.recv_some(chunk, sizeof chunk, deadline.remaining(), n);
    if (status != RecvStatus::data) break;
    response.append(chunk, n);
  }
  return response;
}

std::uint16_t http_port(const Daemon& daemon) {
  static const std::regex line(R"(http\.listening[^\n]*\bport=(\d+))");
  return logged_port(daemon, line);
}

std::uint64_t metric(const std::string& text, const std::string& name) {
  const std::regex line("\n" + name + " (\\d+)");
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(text, m, line), name << " is not in /metrics:\n" << text);
  return std::stoull(m[1].str());
}

}  // namespace paperboy::itest
