#pragma once

#include <cstdint>
#include <string>

#include "daemon.hpp"

namespace paperboy::itest {

/// The whole HTTP/1.0 response (status line, headers, body) to GET `path` on 127.0.0.1:port.
std::string http_get(std::uint16_t port, const std::string& path);

/// The port of the daemon's --http listener, once it logged `http.listening ... port=N`.
std::uint16_t http_port(const Daemon& daemon);

/// The value of an unlabelled sample in a /metrics text; the test fails if it is not there.
std::uint64_t metric(const std::string& text, const std::string& name);

}  // namespace paperboy::itest
