#pragma once

#include <asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "paperboy/broker/server.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace paperboy::daemon {

/// paperboyd's optional HTTP listener (--http): GET /healthz, /metrics and /stats, and POST
/// /queues/purge (with --users, for admin users only), as README "Operating paperboy" describes.
/// cpp-httplib serves on threads of its own (two workers); each request that needs the broker posts
/// its question to the broker's event loop and waits at most two seconds for the answer, so a
/// scrape costs the loop one snapshot and never a lock.
class HttpListener {
 public:
  /// Binds ADDRESS:PORT (port 0 picks a free one) and starts serving; throws
  /// std::runtime_error naming the address when it cannot listen there.
  HttpListener(asio::io_context& broker_io, broker::Server& server, std::string address,
               std::uint16_t port);
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  /// The bound port (the chosen one when asked for port 0).
  std::uint16_t port() const noexcept { return port_; }

  /// Stops accepting, lets requests in progress finish (each waits two seconds at most) and
  /// joins the threads. Call before the Server is destroyed; a second call does nothing.
  void stop();

 private:
  void add_routes();
  /// With --users, only an admin user (HTTP Basic NAME:TOKEN) may change the broker's state;
  /// otherwise answers 400, 401 or 403 and says no.
  bool admits_admin(const httplib::Request& req, httplib::Response& res);

  asio::io_context& broker_io_;
  broker::Server& server_;
  std::unique_ptr<httplib::Server> http_;
  std::uint16_t port_ = 0;
  std::atomic<bool> listen_returned_{false};
  std::thread thread_;
};

}  // namespace paperboy::daemon
