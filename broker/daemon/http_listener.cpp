#include "http_listener.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <asio/post.hpp>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <future>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "basic_credentials.hpp"
#include "metrics_text.hpp"
#include "stats_json.hpp"

namespace paperboy::daemon {
namespace {

using namespace std::chrono_literals;

// How long a request waits for the event loop before answering 503: a loop this late is wedged
// or drowning, and a scraper is better told so than kept waiting.
constexpr auto broker_answer_within = 2s;

// The listener is for operators and scrapers: it must never cost the broker much. Two workers
// (a scrape and an operator at once), small requests, short timeouts and few requests per
// kept-alive connection, so that no client holds a worker long.
constexpr std::size_t worker_threads = 2;
constexpr std::size_t max_request_body = 4096;
constexpr auto socket_timeout = 5s;
constexpr time_t keep_alive_seconds = 2;
constexpr std::size_t keep_alive_max_requests = 10;

// An admin request may wait for an Argon2id check (tens of ms each, a few dozen queued at most).
constexpr auto admin_check_within = 5s;

constexpr const char* json_type = "application/json";

/// Runs `job` on the broker's event loop and waits for its result, or nothing after
/// broker_answer_within. The promise is shared with the posted job, so a job that runs after
/// its request gave up sets a promise that is still alive (and nobody reads it).
template <class Result>
std::optional<Result> ask_broker(asio::io_context& broker_io, std::function<Result()> job) {
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> answer = promise->get_future();
  asio::post(broker_io, [promise, job = std::move(job)] {
    try {
      promise->set_value(job());
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  if (answer.wait_for(broker_answer_within) != std::future_status::ready) return std::nullopt;
  return answer.get();
}

void answer_error(httplib::Response& res, int status, std::string_view error) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", error}}.dump() + "\n", json_type);
}

void answer_busy(httplib::Response& res) {
  answer_error(res, 503, "broker busy");
}

// httplib's own reason phrases are not in its public header.
std::string_view status_reason(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 413: return "payload too large";
    case 414: return "uri too long";
    case 416: return "range not satisfiable";
    default: return status < 500 ? "client error" : "server error";
  }
}

}  // namespace

HttpListener::HttpListener(asio::io_context& broker_io, broker::Server& server, std::string address,
                           std::uint16_t port)
    : broker_io_(broker_io), server_(server), http_(std::make_unique<httplib::Server>()) {
  http_->new_task_queue = [] { return new httplib::ThreadPool(worker_threads); };
  http_->set_payload_max_length(max_request_body);
  http_->set_read_timeout(socket_timeout);
  http_->set_write_timeout(socket_timeout);
  http_->set_keep_alive_timeout(keep_alive_seconds);
  http_->set_keep_alive_max_count(keep_alive_max_requests);
  add_routes();

  errno = 0;
  const int bound = port == 0 ? http_->bind_to_any_port(address)
                              : (http_->bind_to_port(address, port) ? int{port} : -1);
  if (bound < 0) {
    const int error = errno;
    throw std::runtime_error(fmt::format("--http: cannot listen on {}:{}{}{}", address, port,
                                         error != 0 ? ": " : "",
                                         error != 0 ? std::strerror(error) : ""));
  }
  port_ = static_cast<std::uint16_t>(bound);
  thread_ = std::thread([this] {
    if (!http_->listen_after_bind()) spdlog::error("http.failed reason=\"accept failed\"");
    listen_returned_ = true;
  });
  // httplib's stop() does nothing until the listening thread is running: wait for it, so that
  // stop() right after construction still stops it.
  while (!http_->is_running() && !listen_returned_) std::this_thread::sleep_for(1ms);
}

HttpListener::~HttpListener() {
  stop();
}

void HttpListener::stop() {
  if (!thread_.joinable()) return;
  http_->stop();
  thread_.join();
}

bool HttpListener::admits_admin(const httplib::Request& req, httplib::Response& res) {
  BasicCredentials credentials;
  if (req.has_header("Authorization")) {
    auto parsed = parse_basic_authorization(req.get_header_value("Authorization"));
    if (!parsed) {
      answer_error(res, 400, "Authorization must be Basic with NAME:TOKEN");
      return false;
    }
    credentials = std::move(*parsed);
  }
  using Check = broker::Server::AdminCheck;
  auto promise = std::make_shared<std::promise<Check>>();
  std::future<Check> answer = promise->get_future();
  asio::post(broker_io_, [promise, &server = server_, credentials, address = req.remote_addr] {
    server.check_admin(credentials.name, credentials.token, address,
                       [promise](Check check) { promise->set_value(check); });
  });
  if (answer.wait_for(admin_check_within) != std::future_status::ready) {
    answer_busy(res);
    return false;
  }
  switch (answer.get()) {
    case Check::allowed: return true;
    case Check::unauthenticated:
      res.set_header("WWW-Authenticate", "Basic realm=\"paperboy\"");
      answer_error(res, 401, "an admin user's name and token are needed (curl -u NAME:TOKEN)");
      return false;
    case Check::forbidden: answer_error(res, 403, "user is not an admin"); return false;
  }
  return false;
}

void HttpListener::add_routes() {
  http_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    if (!ask_broker<bool>(broker_io_, [] { return true; })) return answer_busy(res);
    res.set_content("ok\n", "text/plain");
  });

  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    // Only the snapshot is taken on the loop; the text is written here, off it.
    auto snapshot = ask_broker<broker::ServerSnapshot>(
        broker_io_, [&server = server_] { return server.snapshot(false); });
    if (!snapshot) return answer_busy(res);
    res.set_content(render_prometheus(*snapshot), "text/plain; version=0.0.4");
  });

  http_->Get("/stats", [this](const httplib::Request& req, httplib::Response& res) {
    const bool with_connections = req.get_param_value("connections") != "0";
    // Only the snapshot is taken on the loop; the JSON is written here, off it.
    auto snapshot = ask_broker<broker::ServerSnapshot>(
        broker_io_,
        [&server = server_, with_connections] { return server.snapshot(with_connections); });
    if (!snapshot) return answer_busy(res);
    res.set_content(render_stats_json(*snapshot), json_type);
  });

  http_->Post("/queues/purge", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admits_admin(req, res)) return;
    const std::string channel = req.get_param_value("channel");
    if (channel.empty()) return answer_error(res, 400, "missing channel (?channel=/queue/NAME)");
    if (channel.rfind("/queue/", 0) != 0 || channel.size() == std::string_view("/queue/").size()) {
      return answer_error(res, 400, "channel must be a /queue/ name");
    }
    auto purged = ask_broker<std::optional<std::uint64_t>>(
        broker_io_, [&server = server_, channel] { return server.purge_queue(channel); });
    if (!purged) return answer_busy(res);
    if (!*purged) return answer_error(res, 404, "no such queue channel");
    spdlog::info("http.queue_purged channel={:?} purged={}", channel, **purged);
    res.set_content(nlohmann::json{{"channel", channel}, {"purged", **purged}}.dump() + "\n",
                    json_type);
  });

  // Every other answer of 400 and above (an unknown path, a request httplib could not parse,
  // one too large) gets a JSON body saying so, unless a route wrote its own.
  const httplib::Server::HandlerWithResponse error_body = [](const httplib::Request&,
                                                             httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    res.set_content(nlohmann::json{{"error", status_reason(res.status)}}.dump() + "\n", json_type);
    return httplib::Server::HandlerResponse::Handled;
  };
  http_->set_error_handler(error_body);
  http_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(std::move(error));
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http.request_failed path={:?} what={:?}", req.path, what);
        answer_error(res, 500, "internal error");
      });
  http_->set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("http.request method={} path={:?} status={}", req.method, req.path, res.status);
  });
}

}  // namespace paperboy::daemon
