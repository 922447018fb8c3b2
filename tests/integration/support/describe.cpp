#include "describe.hpp"

#include <cstdio>
#include <sstream>
#include <type_traits>

#include "paperboy/protocol/errc.hpp"

namespace paperboy::itest {

std::string printable(std::string_view bytes, std::size_t max) {
  std::string out = "\"";
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  out += '"';
  if (bytes.size() > max) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

std::string describe(const protocol::Message& message) {
  namespace p = protocol;
  std::ostringstream out;
  out << p::op_name(p::op_of(message)) << '(';
  std::visit(
      [&out](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, p::Hello>) {
          out << "version=" << unsigned{m.version} << " name=" << printable(m.client_name)
              << " token=" << printable(m.token);
        } else if constexpr (std::is_same_v<T, p::Welcome>) {
          out << "version=" << unsigned{m.version} << " max_payload=" << m.max_payload
              << " server_id=" << printable(m.server_id);
          if (!m.server_version.empty()) out << " server_version=" << printable(m.server_version);
        } else if constexpr (std::is_same_v<T, p::Sub>) {
          out << "req=" << m.req << " flags=" << unsigned{m.flags} << " prefetch=" << m.prefetch
              << " channel=" << printable(m.channel);
        } else if constexpr (std::is_same_v<T, p::Unsub>) {
          out << "req=" << m.req << " channel=" << printable(m.channel);
        } else if constexpr (std::is_same_v<T, p::Pub>) {
          out << "req=" << m.req << " channel=" << printable(m.channel)
              << " reply_to=" << printable(m.reply_to) << " payload=" << printable(m.payload);
          if (m.flags != 0 || m.ttl_ms != 0 || !m.headers.empty()) {
            out << " flags=" << unsigned{m.flags} << " ttl_ms=" << m.ttl_ms
                << " headers=" << printable(m.headers);
          }
        } else if constexpr (std::is_same_v<T, p::Msg>) {
          out << "delivery=" << m.delivery << " flags=" << unsigned{m.flags}
              << " channel=" << printable(m.channel) << " reply_to=" << printable(m.reply_to)
              << " payload=" << printable(m.payload);
          if (m.published_at != 0 || !m.headers.empty()) {
            out << " published_at=" << m.published_at << " headers=" << printable(m.headers);
          }
        } else if constexpr (std::is_same_v<T, p::Ack> || std::is_same_v<T, p::Nack>) {
          out << "delivery=" << m.delivery;
        } else if constexpr (std::is_same_v<T, p::Ok>) {
          out << "req=" << m.req;
        } else if constexpr (std::is_same_v<T, p::Err>) {
          out << "req=" << m.req << " code=" << m.code << ' ' << p::errc_name(m.code)
              << " text=" << printable(m.text);
        } else if constexpr (std::is_same_v<T, p::Ping> || std::is_same_v<T, p::Pong>) {
          out << "token=" << m.token;
        } else if constexpr (std::is_same_v<T, p::Gap>) {
          out << "dropped=" << m.dropped << " channel=" << printable(m.channel);
        } else if constexpr (std::is_same_v<T, p::Blocked> || std::is_same_v<T, p::Unblocked>) {
          out << "channel=" << printable(m.channel);
        }
      },
      message);
  out << ')';
  return out.str();
}

std::string describe_pb1_frame(std::string_view body, std::uint8_t version) {
  const auto decoded = protocol::decode(body, version);
  if (decoded) return describe(*decoded);
  return "undecodable PB1 v" + std::to_string(version) + " frame (" + decoded.error().message() +
         ") " + printable(body);
}

std::string describe_pb1_frame(std::string_view body) {
  return describe_pb1_frame(body, protocol::pb1_version);
}

std::string describe_pb1_v2_frame(std::string_view body) {
  return describe_pb1_frame(body, protocol::pb1_version_2);
}

std::string describe_raw_frame(std::string_view body) {
  return "raw frame " + printable(body);
}

}  // namespace paperboy::itest
