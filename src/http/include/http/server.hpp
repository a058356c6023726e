#pragma once
// The HTTP/1.1 server: Boost.Beast on Boost.Asio, asynchronous, a few I/O threads for any number
// of keep-alive connections. Why Beast rather than cpp-httplib: cpp-httplib dedicates a thread to
// each connection for its whole keep-alive life, so 64 clients mean 64 threads fighting for 2
// cores; Beast multiplexes them on 2 threads, and a handler can answer later from another thread
// (the store's writer after the group commit) without parking an I/O thread meanwhile.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/message.hpp"

namespace orders::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = any free port (see Server::port())
  int threads = 2;
  std::size_t maxBodyBytes = 1 << 20;  // larger bodies get 413
};

/// Called for every request, on an I/O thread. It must call `respond` exactly once, from any
/// thread, now or later; the connection waits for it before reading the next request.
using Handler = std::function<void(Request request, Responder respond)>;

class Server {
 public:
  /// Binds and listens at once (so a bad address fails here, with the reason).
  Server(ServerOptions options, Handler handler);
  ~Server();

  /// The bound port (useful with port 0).
  std::uint16_t port() const;
  /// Runs the I/O threads; returns immediately.
  void start();
  /// Stops accepting, lets in-flight requests finish (up to `graceMillis`), closes connections.
  void stop(int graceMillis = 10000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orders::http
