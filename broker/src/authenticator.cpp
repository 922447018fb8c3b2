#include "authenticator.hpp"

#include <sodium.h>

#include <asio/post.hpp>

namespace paperboy::broker {

using Kind = Authenticator::Verdict::Kind;

Authenticator::Authenticator(std::shared_ptr<const Users> users, std::uint32_t failures_per_minute)
    : users_(std::move(users)), budget_(failures_per_minute) {}

Authenticator::~Authenticator() {
  worker_.stop();
  worker_.join();
}

void Authenticator::replace(std::shared_ptr<const Users> users) {
  users_ = std::move(users);
  verified_.clear();
}

void Authenticator::check(std::string_view name, std::string_view token, const std::string& address,
                          const asio::any_io_executor& executor, Done done) {
  const auto now = AuthFailureBudget::Clock::now();
  if (budget_.exhausted(address, now)) {
    return done({Kind::refused, nullptr, "failure budget used up", false});
  }
  std::shared_ptr<const User> user = users_->find(name);
  if (!user || token.empty()) {
    budget_.record_failure(address, now);
    return done({Kind::rejected, nullptr, user ? "no token" : "unknown name", false});
  }
  if (verified_.contains(*user, token)) return done({Kind::accepted, std::move(user), {}, false});
  if (pending_ >= max_pending)
    return done({Kind::refused, nullptr, "too many checks waiting", false});
  ++hashes_;
  ++pending_;
  // The worker gets copies: the HELLO's bytes are gone by the time it runs.
  asio::post(worker_, [this, user = std::move(user), token = std::string(token), address, executor,
                       done = std::move(done)]() mutable {
    const bool ok =
        crypto_pwhash_str_verify(user->token_hash.c_str(), token.data(), token.size()) == 0;
    asio::post(executor, [this, user = std::move(user), token = std::move(token),
                          address = std::move(address), ok,
                          done = std::move(done)] { on_verified(user, token, address, ok, done); });
  });
}

Authenticator::Verdict Authenticator::check_certificate(std::string_view subject,
                                                        std::string_view hello_name) const {
  if (!hello_name.empty() && hello_name != subject) {
    return {Kind::rejected, nullptr, "HELLO names another user than the certificate", false};
  }
  std::shared_ptr<const User> user = users_->find(subject);
  if (!user) return {Kind::rejected, nullptr, "the certificate names no user", false};
  return {Kind::accepted, std::move(user), {}, false};
}

void Authenticator::on_verified(const std::shared_ptr<const User>& user, const std::string& token,
                                const std::string& address, bool ok, const Done& done) {
  --pending_;
  if (!ok) {
    budget_.record_failure(address, AuthFailureBudget::Clock::now());
    return done({Kind::rejected, nullptr, "wrong token", true});
  }
  // A reload while it was hashing: the user as it is now, if its token is still this one.
  std::shared_ptr<const User> current = users_->find(user->name);
  if (!current || current->token_hash != user->token_hash) {
    return done({Kind::rejected, nullptr, "user changed by a reload", true});
  }
  verified_.add(*current, token);
  done({Kind::accepted, std::move(current), {}, true});
}

}  // namespace paperboy::broker
