#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/thread_pool.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "auth_failure_budget.hpp"
#include "users.hpp"
#include "verified_tokens.hpp"

namespace paperboy::broker {

/// Decides whether a HELLO's name and token belong to a user of the --users file. Lives on the
/// event loop's thread; the Argon2id check (64 MiB and tens of ms) runs on a worker thread of its
/// own, so the loop never waits for it, and its verdict is posted back to the session's executor.
class Authenticator {
 public:
  struct Verdict {
    enum class Kind {
      accepted,  ///< `user` is who the connection is
      rejected,  ///< unknown name, no token or wrong token: answered after the failure delay
      refused,   ///< the address used up its failures (or too many checks wait): answered at once
    };
    Kind kind = Kind::rejected;
    std::shared_ptr<const User> user;
    std::string_view reason;  ///< for the log: "unknown name", "wrong token", ...
    bool hashed = false;      ///< an Argon2id check ran for it
  };
  using Done = std::function<void(const Verdict&)>;

  /// Checks waiting for the worker at once; past this a HELLO is refused without hashing.
  static constexpr std::size_t max_pending = 64;

  Authenticator(std::shared_ptr<const Users> users, std::uint32_t failures_per_minute);
  /// Stops the worker: checks not started are dropped, the running one finishes.
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  /// Calls `done` with the verdict: at once when it needs no hashing (a token verified before, a
  /// failure budget used up, an unknown name, no token), else later, on `executor`. `address`
  /// is the peer's IP, whose failures are counted.
  void check(std::string_view name, std::string_view token, const std::string& address,
             const asio::any_io_executor& executor, Done done);

  /// The verdict for a connection whose verified client certificate names user `subject`
  /// (--tls-map-user): no token, no hashing. `hello_name` must be empty or that same user.
  Verdict check_certificate(std::string_view subject, std::string_view hello_name) const;

  /// The users now in force: new connections authenticate against them.
  const Users& users() const noexcept { return *users_; }
  /// A reload: the new users apply to the next HELLO; verified tokens are forgotten.
  void replace(std::shared_ptr<const Users> users);
  void set_failures_per_minute(std::uint32_t failures) noexcept { budget_.set_failures(failures); }

  /// Argon2id checks started since start-up.
  std::uint64_t hashes() const noexcept { return hashes_; }

 private:
  void on_verified(const std::shared_ptr<const User>& user, const std::string& token,
                   const std::string& address, bool ok, const Done& done);

  std::shared_ptr<const Users> users_;
  VerifiedTokens verified_;
  AuthFailureBudget budget_;
  std::uint64_t hashes_ = 0;
  std::size_t pending_ = 0;
  asio::thread_pool worker_{1};
};

}  // namespace paperboy::broker
