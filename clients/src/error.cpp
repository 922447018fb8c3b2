#include "paperboy/client/error.hpp"

#include <cstdio>
#include <utility>

#include "errors.hpp"
#include "paperboy/protocol/errc.hpp"

namespace paperboy::client {

// Server text is untrusted: keep what() on one line and free of terminal escapes, and short.
std::string printable(std::string_view text) {
  constexpr std::size_t max_length = 300;
  std::string out;
  for (const char c : text.substr(0, max_length)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  if (text.size() > max_length) out += "...";
  return out;
}

Error::Error(std::error_code code, std::string message, bool connection_lost, std::uint32_t req,
             std::string server_text)
    : std::system_error(code, message),
      message_(std::move(message)),
      server_text_(std::move(server_text)),
      req_(req),
      connection_lost_(connection_lost) {}

bool Error::no_responders() const noexcept {
  return code() == protocol::Errc::no_subscribers;
}

Error server_error(const protocol::Err& err) {
  const auto code = static_cast<protocol::Errc>(err.code);
  std::string message =
      "ERR " + std::to_string(err.code) + " " + std::string(protocol::errc_name(err.code));
  if (!err.text.empty()) message += ": " + printable(err.text);
  return Error(protocol::make_error_code(code), std::move(message),
               !protocol::keeps_connection(code), err.req, std::string(err.text));
}

Error timeout_error(std::string_view what) {
  return Error(make_error_code(std::errc::timed_out), "timed out " + std::string(what), false);
}

Error connection_error(std::error_code ec, std::string_view what) {
  return Error(ec, std::string(what), true);
}

Error not_connected_error() {
  return Error(make_error_code(std::errc::not_connected), "not connected", true);
}

Error protocol_error(std::string_view what) {
  return Error(protocol::make_error_code(protocol::Errc::protocol),
               "protocol error: " + std::string(what), true);
}

}  // namespace paperboy::client
