// Users and permissions (issue 13): with --users, HELLO must name a user and its token (ERR 10
// and closed otherwise, each failure logged once, a failure budget per address); SUB and PUB
// outside a user's permissions get ERR 4 and the connection stays; reply inboxes belong to their
// first subscriber and may be answered by whoever received the request; SIGHUP reloads the file
// for new connections and takes revoked subscriptions from open ones; PB0 needs --pb0-user.
#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "command.hpp"
#include "config_file.hpp"
#include "conn.hpp"
#include "daemon.hpp"
#include "deadline.hpp"
#include "pb0_conn.hpp"
#include "token_hash.hpp"

using namespace paperboy::itest;

namespace {

constexpr std::uint16_t auth_failed = 10;
constexpr std::uint16_t not_authorized = 4;

/// One [[user]] table; `permissions` is TOML lines (publish = [...] and so on).
std::string user(const std::string& name, const std::string& token,
                 const std::string& permissions) {
  return "[[user]]\nname = \"" + name + "\"\ntoken_hash = \"" + hash_of(token) + "\"\n" +
         permissions + "\n";
}

/// HELLO with a token, then WELCOME must follow.
void login(Conn& conn, std::string_view name, std::string_view token) {
  conn.send_hello(name, paperboy::protocol::pb1_version, token);
  conn.expect<paperboy::protocol::Welcome>();
}

void expect_sub_refused(Conn& conn, std::string_view channel) {
  const std::uint32_t req = conn.next_req();
  conn.sub(channel, req);
  conn.expect_err(req, not_authorized);
}

void expect_pub_refused(Conn& conn, std::string_view channel, std::string_view reply_to = {}) {
  const std::uint32_t req = conn.next_req();
  conn.pub(channel, "refused", req, reply_to);
  conn.expect_err(req, not_authorized);
}

}  // namespace

TEST_CASE(
    "users: a wrong name, a wrong token and no token get ERR 10 and are closed, logged once") {
  ConfigFile users(user("alice", "alice-token", "publish = [\"/topic/news/>\"]"));
  Daemon daemon({"--users", users.arg()});
  INFO(daemon.log_tail());
  CHECK(daemon.log_count("server.open_access") == 0);
  Conn unknown(daemon.port(), "unknown-name");
  unknown.send_hello("mallory", paperboy::protocol::pb1_version, "alice-token");
  unknown.expect_err_and_close(0, auth_failed);
  Conn wrong(daemon.port(), "wrong-token");
  wrong.send_hello("alice", paperboy::protocol::pb1_version, "guess");
  wrong.expect_err_and_close(0, auth_failed);
  Conn none(daemon.port(), "no-token");
  none.send_hello("alice");
  none.expect_err_and_close(0, auth_failed);
  CHECK(daemon.log_count("auth.failed") == 3);
  CHECK(daemon.log_count("reason=\"unknown name\"") == 1);
  CHECK(daemon.log_count("reason=\"wrong token\"") == 1);
  CHECK(daemon.log_count("reason=\"no token\"") == 1);
  // Only the wrong token cost a hash.
  CHECK(daemon.log_count("hashes=1") == 2);

  Conn good(daemon.port(), "alice");
  login(good, "alice", "alice-token");
  good.publish("/topic/news/today", "hello");
  // A second connection with the same token is answered from the cache: no second hash.
  Conn again(daemon.port(), "alice-again");
  login(again, "alice", "alice-token");
  again.ping_pong();
  Conn third(daemon.port(), "after");
  third.send_hello("alice", paperboy::protocol::pb1_version, "guess");
  third.expect_err_and_close(0, auth_failed);
  CHECK(daemon.log_count("hashes=3") == 1);
}

TEST_CASE("users: past the failure budget an address is refused at once, without hashing") {
  ConfigFile users(user("alice", "alice-token", "subscribe = [\"/topic/a\"]"));
  Daemon daemon({"--users", users.arg(), "--auth-failures", "2"});
  INFO(daemon.log_tail());
  for (int attempt = 0; attempt < 2; ++attempt) {
    Conn guesser(daemon.port(), "guesser");
    guesser.send_hello("alice", paperboy::protocol::pb1_version, "guess");
    guesser.expect_err_and_close(0, auth_failed);
  }
  CHECK(daemon.log_count("auth.failed") == 2);
  // Even the right token is refused now: the budget is spent, and no hash is computed.
  Conn refused(daemon.port(), "refused");
  refused.send_hello("alice", paperboy::protocol::pb1_version, "alice-token");
  refused.expect_err_and_close(0, auth_failed);
  CHECK(daemon.log_count("auth.refused") == 1);
  CHECK(daemon.log_count("reason=\"failure budget used up\" hashes=2") == 1);
  CHECK(daemon.log_count("auth.failed") == 2);
  CHECK(daemon.log_count("session.hello") == 0);
}

TEST_CASE("users: publish and subscribe allowed and denied by exact names and patterns") {
  ConfigFile users(user("alice", "alice-token",
                        "publish = [\"/topic/news/>\", \"/queue/jobs\"]\n"
                        "deny_publish = [\"/topic/news/secret\"]\n"
                        "subscribe = [\"/topic/news/*\", \"/queue/jobs\", \"/topic/sport/>\"]\n"
                        "deny_subscribe = [\"/topic/news/secret\"]") +
                   user("bob", "bob-token", "subscribe = [\"/topic/>\", \"/queue/>\"]"));
  Daemon daemon({"--users", users.arg()});
  INFO(daemon.log_tail());
  Conn alice(daemon.port(), "alice");
  login(alice, "alice", "alice-token");
  Conn bob(daemon.port(), "bob");
  login(bob, "bob", "bob-token");
  bob.subscribe("/topic/news/>");
  bob.subscribe("/queue/jobs");

  // Subscriptions: exact, '*' and '>' allow lists; a deny wins, also inside a wildcard.
  alice.subscribe("/topic/news/weather");
  alice.subscribe("/queue/jobs");
  alice.subscribe("/topic/sport/*");
  alice.subscribe("/topic/sport/>");
  expect_sub_refused(alice, "/topic/news/secret");
  expect_sub_refused(alice, "/topic/news/*");    // would reach /topic/news/secret
  expect_sub_refused(alice, "/topic/news/a/b");  // '*' is one segment
  expect_sub_refused(alice, "/topic/news/>");    // wider than /topic/news/*
  expect_sub_refused(alice, "/topic/weather");
  expect_sub_refused(alice, "/queue/jobs/other");

  // Publishing: the same, and each refusal leaves the connection working.
  alice.publish("/topic/news/today", "one");
  bob.expect_msg("/topic/news/today", "one");
  expect_pub_refused(alice, "/topic/news/secret");
  expect_pub_refused(alice, "/topic/weather");
  expect_pub_refused(alice, "/queue/other");
  alice.publish("/queue/jobs", "job");
  bob.expect_msg("/queue/jobs", "job");
  bob.expect_nothing();
  // Bob may subscribe to everything and publish nothing.
  expect_pub_refused(bob, "/topic/news/today");
  alice.ping_pong();
  bob.ping_pong();
}

TEST_CASE("users: a reply inbox is its first subscriber's, and whoever got the request answers") {
  ConfigFile users(
      user("requester", "r-token", "publish = [\"/queue/svc\"]") +
      user("responder", "s-token", "subscribe = [\"/queue/svc\"]") +
      user("mallory", "m-token", "subscribe = [\"/topic/>\"]\npublish = [\"/queue/svc\"]"));
  Daemon daemon({"--users", users.arg()});
  INFO(daemon.log_tail());
  Conn requester(daemon.port(), "requester");
  login(requester, "requester", "r-token");
  Conn responder(daemon.port(), "responder");
  login(responder, "responder", "s-token");
  Conn mallory(daemon.port(), "mallory");
  login(mallory, "mallory", "m-token");

  // No permission lists reply channels: the inbox is whoever subscribes first.
  requester.subscribe("/topic/_reply/inbox1");
  expect_sub_refused(mallory, "/topic/_reply/inbox1");
  expect_sub_refused(mallory, "/topic/_reply/inbox1/7");
  mallory.subscribe("/topic/_reply/mallorys");  // an inbox of its own is fine

  responder.subscribe("/queue/svc");
  requester.publish("/queue/svc", "question", "/topic/_reply/inbox1/1");
  auto request = responder.expect_msg("/queue/svc", "question");
  CHECK(request->reply_to == "/topic/_reply/inbox1/1");
  // The responder received that reply-to: it may answer it, and only it.
  responder.publish("/topic/_reply/inbox1/1", "answer");
  requester.expect_msg("/topic/_reply/inbox1/1", "answer");
  expect_pub_refused(responder, "/topic/_reply/inbox1/2");
  // Someone who never got the request cannot forge its answer.
  expect_pub_refused(mallory, "/topic/_reply/inbox1/1");
  requester.expect_nothing();

  // The inbox is free again once its owner closes.
  requester.socket().close();
  REQUIRE(wait_until([&] { return daemon.log_count("session.close") >= 1; }));
  mallory.subscribe("/topic/_reply/inbox1");
}

TEST_CASE("users: SIGHUP reloads users for new connections and revokes for open ones") {
  ConfigFile users(user("alice", "alice-token", "subscribe = [\"/topic/a\", \"/topic/b\"]") +
                   user("pub", "pub-token", "publish = [\"/topic/>\"]"));
  Daemon daemon({"--users", users.arg()});
  INFO(daemon.log_tail());
  Conn alice(daemon.port(), "alice");
  login(alice, "alice", "alice-token");
  alice.subscribe("/topic/a");
  alice.subscribe("/topic/b");
  Conn publisher(daemon.port(), "publisher");
  login(publisher, "pub", "pub-token");

  users.write(user("alice", "alice-token", "subscribe = [\"/topic/a\"]") +
              user("pub", "pub-token", "publish = [\"/topic/>\"]") +
              user("carol", "carol-token", "subscribe = [\"/topic/b\"]"));
  daemon.signal(SIGHUP);
  REQUIRE(wait_until([&] { return daemon.log_count("users.reloaded") == 1; }));
  // Alice's /topic/b is gone, with ERR 4; she keeps /topic/a and her connection.
  alice.expect_err(0, not_authorized);
  expect_sub_refused(alice, "/topic/b");
  publisher.publish("/topic/b", "for carol");
  publisher.publish("/topic/a", "for alice");
  alice.expect_msg("/topic/a", "for alice");
  // A user added by the reload can connect.
  Conn carol(daemon.port(), "carol");
  login(carol, "carol", "carol-token");
  carol.subscribe("/topic/b");

  // A bad file keeps the users in force and says why.
  users.write("[[user]]\nname = \"alice\"\nbogus = 1\n");
  daemon.signal(SIGHUP);
  REQUIRE(wait_until([&] { return daemon.log_count("users.reload_failed") == 1; }));
  CHECK(daemon.log_count("unknown key \\\"bogus\\\"") == 1);
  Conn later(daemon.port(), "later");
  login(later, "carol", "carol-token");

  // A removed user's open connection is closed.
  users.write(user("pub", "pub-token", "publish = [\"/topic/>\"]"));
  daemon.signal(SIGHUP);
  REQUIRE(wait_until([&] { return daemon.log_count("users.reloaded") == 2; }));
  alice.expect_err_and_close(0, auth_failed);
  publisher.ping_pong();
}

TEST_CASE("users: PB0 clients are refused unless --pb0-user gives them a user's permissions") {
  ConfigFile users(
      user("legacy", "unused", "subscribe = [\"/topic/pb0/>\"]\npublish = [\"/topic/pb0/>\"]") +
      user("pub", "pub-token", "publish = [\"/topic/>\"]"));
  {
    Daemon daemon({"--users", users.arg()});
    INFO(daemon.log_tail());
    Pb0Conn refused(daemon.port(), "/topic/pb0/news");
    refused.expect_closed();
    CHECK(daemon.log_count("code=10 reason=\"PB0 cannot authenticate") == 1);
  }
  Daemon daemon({"--users", users.arg(), "--pb0-user", "legacy"});
  INFO(daemon.log_tail());
  Pb0Conn listener(daemon.port(), "/topic/pb0/news", "pb0-listener");
  Conn publisher(daemon.port(), "publisher");
  login(publisher, "pub", "pub-token");
  REQUIRE(wait_until([&] { return daemon.log_count("dialect=pb0") >= 1; }));
  publisher.publish("/topic/pb0/news", "old and new");
  listener.expect_data_eq("old and new");
  Pb0Conn outside(daemon.port(), "/topic/elsewhere", "pb0-outside");
  outside.expect_closed();
}

TEST_CASE("users: without --users the broker is open, and says so once at start") {
  Daemon daemon;
  INFO(daemon.log_tail());
  CHECK(daemon.log_count("server.open_access") == 1);
  Conn anyone(daemon.port(), "anyone");
  anyone.send_hello("whoever", paperboy::protocol::pb1_version, "any token");
  anyone.expect<paperboy::protocol::Welcome>();
  anyone.subscribe("/topic/_reply/someone");
  Conn other(daemon.port(), "other");
  other.hello();
  other.subscribe("/topic/_reply/someone");
}

TEST_CASE("users: the CLI's request is answered by its reply, which may publish nothing else") {
  ConfigFile users(user("requester", "r-token", "publish = [\"/queue/upper\"]") +
                   user("responder", "s-token", "subscribe = [\"/queue/upper\"]"));
  Daemon daemon({"--users", users.arg()});
  INFO(daemon.log_tail());
  const std::string port = std::to_string(daemon.port());
  Command reply({PAPERBOY_CLI_PATH, "reply", "--port", port, "--name", "responder", "--token",
                 "s-token", "--channel", "/queue/upper", "--count", "1", "--exec", "tr a-z A-Z"});
  // A request fails at once while nobody consumes its queue: ask until the responder is there.
  Run answered;
  const bool done = wait_until(
      [&] {
        answered = run_to_end({PAPERBOY_CLI_PATH, "request", "--port", port, "--name", "requester",
                               "--token", "r-token", "--channel", "/queue/upper", "--data", "hello",
                               "--timeout", "10s"});
        return answered.status.clean();
      },
      std::chrono::seconds(30));
  REQUIRE_MESSAGE(done, answered.err);
  CHECK(answered.out == "HELLO\n");
  CHECK(reply.exit_code() == 0);
  CHECK(daemon.log_count("code=4") == 0);
}
