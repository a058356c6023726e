#pragma once
// The HTTP/1.1 server: Boost.Beast on Boost.Asio, asynchronous, a few I/O threads for any number
// of keep-alive connections. Why Beast rather than cpp-httplib: cpp-httplib dedicates a thread to
// each connection for its whole keep-alive life, so 64 clients mean 64 threads fighting for 2
// cores; Beast multiplexes them on 2 threads, and a handler can answer later from another thread
// (the store's writer after the group commit) without parking an I/O thread meanwhile.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace orders::http {

/// What one connection may ask of the server (docs/security.md, "Limits"). Every refusal is an
/// application/problem+json answer naming the limit, after which the connection is closed (its
/// framing can no longer be trusted). The defaults are the service's documented defaults.
struct ConnectionLimits {
  std::size_t maxBodyBytes = std::size_t{256} * 1024;   // larger bodies: 413
  std::size_t maxHeaderBytes = std::size_t{16} * 1024;  // request line + fields: 431
  std::size_t maxHeaderFields = 100;                    // more field lines: 431
  std::size_t maxTargetBytes = std::size_t{8} * 1024;   // longer request targets: 414
  /// From the first byte of a request to the end of its header (slowloris); then closed.
  std::chrono::milliseconds headerTimeout{10'000};
  /// For the whole body once the header is read; then closed.
  std::chrono::milliseconds bodyTimeout{30'000};
  /// A keep-alive connection waiting for its next request's first byte (also a new one).
  std::chrono::milliseconds idleTimeout{65'000};
  /// Writing one response to a client that does not read it.
  std::chrono::milliseconds sendTimeout{30'000};
  /// Open connections at once; one more is answered 503 and closed at once, never queued.
  std::size_t maxConnections = 10'000;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = any free port (see Server::port())
  int threads = 2;
  /// The I/O threads' name (pthread, at most 15 characters; longer is cut): what top -H, perf and
  /// /proc/PID/task/TID/comm show, so each listener's threads can be told apart and measured.
  std::string threadName = "http";
  /// A latency hint for the I/O threads: the time slice each asks the kernel for (Linux >= 6.12,
  /// EEVDF: sched_setattr's sched_runtime for SCHED_OTHER, unprivileged, the nice value kept). A
  /// thread with a shorter slice than its neighbours is run sooner when it wakes up (a request
  /// arrived) and preempted sooner, without taking more than its fair share of the CPU. Zero: the
  /// kernel's default slice. A kernel that refuses it is logged once; older kernels ignore it.
  std::chrono::microseconds threadSlice{0};
  ConnectionLimits limits;
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

/// What a connection makes of `bytes` received on it, without a socket: the same parser, the
/// same limits and the same header rules as the Server (for fuzzing and tests). Requests are
/// read one after another while the connection would stay open; `refusal` is the server's own
/// answer to the first request it refused (400, 413, 414, 431, 417, 501), after which nothing
/// more is read. Bytes of an incomplete request are ignored (the connection would wait for more).
/// Never throws.
struct ConnectionBytes {
  std::vector<Request> requests;
  std::optional<Response> refusal;
};
ConnectionBytes readRequests(std::string_view bytes, const ConnectionLimits& limits);

}  // namespace orders::http
