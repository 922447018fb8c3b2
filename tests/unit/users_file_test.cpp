// The --users file parser (issue 13): a good file, and errors that name file, line and key.
#include "users.hpp"

#include <doctest/doctest.h>

#include <string>

namespace paperboy::broker {
namespace {

// A real Argon2id hash (of "secret", by paperboy passwd); the parser checks its form only.
const std::string hash =
    "$argon2id$v=19$m=65536,t=2,p=1$6kYZsO9dj21X6EQ+9k7KYg$"
    "rLFobUh6Fbm173wCFfzlNVUpnUwJbZMAgtnBwyrNYLA";

std::string user_table(const std::string& extra) {
  return "[[user]]\nname = \"billing-worker\"\ntoken_hash = \"" + hash + "\"\n" + extra;
}

TEST_CASE("a users file with every key is read") {
  const std::string text = user_table(
      "publish = [\"/topic/_reply/>\", \"/topic/newsstand/billing/>\"]\n"
      "subscribe = [\"/queue/newsstand/billing/>\"]\n"
      "deny_publish = [\"/topic/newsstand/billing/audit\"]\n"
      "deny_subscribe = [\"/queue/newsstand/billing/dead\"]\n"
      "admin = true\n"
      "\n[[user]]\nname = \"reader\"\ntoken_hash = \"" +
      hash + "\"\nsubscribe = [\"/topic/news/*\"]\n");
  const LoadedUsers loaded = parse_users(text, "users.toml");
  REQUIRE_MESSAGE(loaded.users, loaded.error);
  CHECK(loaded.users->size() == 2);
  const auto worker = loaded.users->find("billing-worker");
  REQUIRE(worker);
  CHECK(worker->token_hash == hash);
  CHECK(worker->admin);
  CHECK(worker->publish.permits("/topic/newsstand/billing/paid"));
  CHECK_FALSE(worker->publish.permits("/topic/newsstand/billing/audit"));
  CHECK(worker->subscribe.permits("/queue/newsstand/billing/invoices"));
  CHECK_FALSE(worker->subscribe.permits("/queue/newsstand/billing/dead"));
  const auto reader = loaded.users->find("reader");
  REQUIRE(reader);
  CHECK_FALSE(reader->admin);
  CHECK(reader->publish.allow.empty());
  CHECK_FALSE(loaded.users->find("nobody"));
}

TEST_CASE("an unknown key is an error naming file, line and key") {
  const LoadedUsers loaded = parse_users(user_table("publsh = [\"/topic/a\"]\n"), "users.toml");
  CHECK_FALSE(loaded.users);
  CHECK(loaded.error.find("users.toml:4:") == 0);
  CHECK(loaded.error.find("unknown key \"publsh\"") != std::string::npos);
}

TEST_CASE("an unknown top-level key or table is an error") {
  const LoadedUsers loaded = parse_users("[users]\nname = \"x\"\n", "u.toml");
  CHECK_FALSE(loaded.users);
  CHECK(loaded.error.find("u.toml:1:") == 0);
  CHECK(loaded.error.find("\"users\"") != std::string::npos);
}

TEST_CASE("a bad pattern is an error naming its line and key") {
  const LoadedUsers loaded =
      parse_users(user_table("subscribe = [\"/topic/ok\",\n  \"/topic/>/bad\"]\n"), "users.toml");
  CHECK_FALSE(loaded.users);
  CHECK(loaded.error.find("users.toml:5:") == 0);
  CHECK(loaded.error.find("\"subscribe\"") != std::string::npos);
  CHECK(loaded.error.find("/topic/>/bad") != std::string::npos);
}

TEST_CASE("a user needs a name and an Argon2id token_hash") {
  CHECK(parse_users("[[user]]\ntoken_hash = \"" + hash + "\"\n", "f").error.find("\"name\"") !=
        std::string::npos);
  CHECK(parse_users("[[user]]\nname = \"a\"\n", "f").error.find("\"token_hash\"") !=
        std::string::npos);
  const LoadedUsers plain = parse_users("[[user]]\nname = \"a\"\ntoken_hash = \"secret\"\n", "f");
  CHECK_FALSE(plain.users);
  CHECK(plain.error.find("f:3:") == 0);
  CHECK(plain.error.find("Argon2id") != std::string::npos);
}

TEST_CASE("duplicate names, wrong types, TOML syntax errors and an empty file are errors") {
  CHECK_FALSE(parse_users(user_table("") + user_table(""), "f").users);
  CHECK(parse_users(user_table("admin = \"yes\"\n"), "f").error.find("f:4:") == 0);
  CHECK(parse_users(user_table("publish = \"/topic/a\"\n"), "f").error.find("f:4:") == 0);
  CHECK(parse_users(user_table("publish = [1]\n"), "f").error.find("f:4:") == 0);
  CHECK(parse_users("[[user]\n", "f").error.find("f:1:") == 0);
  CHECK_FALSE(parse_users("", "f").users);
}

}  // namespace
}  // namespace paperboy::broker
