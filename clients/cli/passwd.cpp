#include "passwd.hpp"

#include <sodium.h>

#include <array>
#include <iostream>
#include <iterator>
#include <string>

namespace paperboy::cli {

CLI::App* add_passwd_command(CLI::App& app) {
  return app.add_subcommand(
      "passwd",
      "Read a token on stdin (one trailing newline is dropped) and print its Argon2id hash for "
      "the token_hash of a paperboyd --users file: echo -n TOKEN | paperboy passwd");
}

int run_passwd() {
  if (sodium_init() < 0) {
    std::cerr << "paperboy: libsodium could not be initialised\n";
    return 1;
  }
  std::string token(std::istreambuf_iterator<char>(std::cin), {});
  if (!token.empty() && token.back() == '\n') token.pop_back();
  if (!token.empty() && token.back() == '\r') token.pop_back();
  if (token.empty()) {
    std::cerr << "paperboy: no token on stdin\n";
    return 2;
  }
  // libsodium's interactive limits: $argon2id$v=19$m=65536,t=2,p=1$..., tens of ms per check.
  std::array<char, crypto_pwhash_STRBYTES> hash{};
  if (crypto_pwhash_str_alg(hash.data(), token.data(), token.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    std::cerr << "paperboy: out of memory while hashing\n";
    return 1;
  }
  std::cout << hash.data() << '\n';
  return 0;
}

}  // namespace paperboy::cli
