#include "basic_credentials.hpp"

#include <sodium.h>

#include <cctype>
#include <vector>

namespace paperboy::daemon {

std::optional<BasicCredentials> parse_basic_authorization(std::string_view header) {
  constexpr std::string_view scheme = "basic ";
  if (header.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return std::nullopt;
  }
  std::string_view encoded = header.substr(scheme.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);

  std::vector<unsigned char> decoded(encoded.size());
  std::size_t decoded_size = 0;
  const char* end = nullptr;
  if (sodium_base642bin(decoded.data(), decoded.size(), encoded.data(), encoded.size(), nullptr,
                        &decoded_size, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != encoded.data() + encoded.size()) {
    return std::nullopt;
  }
  const std::string_view text(reinterpret_cast<const char*>(decoded.data()), decoded_size);
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return BasicCredentials{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

}  // namespace paperboy::daemon
