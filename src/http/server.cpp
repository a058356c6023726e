#include "http/server.hpp"

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <variant>
#include <vector>

#include "http/header_rules.hpp"
#include "http/problem.hpp"

namespace orders::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

using Message = bhttp::request<bhttp::string_body>;
using Parser = bhttp::request_parser<bhttp::string_body>;

/// A parser with the connection's limits.
void limitParser(Parser& parser, const ConnectionLimits& limits) {
  parser.body_limit(limits.maxBodyBytes);
  parser.header_limit(static_cast<std::uint32_t>(limits.maxHeaderBytes));
}

/// What the header of a request decides before any byte of its body is read.
struct HeaderVerdict {
  std::optional<Response> refusal;  // answer this, then close: the framing is not trustworthy
  bool expectsContinue = false;
};

/// The header-level rules: limits on the target and the fields, framing (RFC 9112 §6.3), Host,
/// Expect. Judged before any body byte is read, so a request we refuse never has its body
/// parsed (or executed) as the next request.
HeaderVerdict judgeHeader(const Message& message, const ConnectionLimits& limits) {
  HeaderVerdict verdict;
  if (message.target().size() > limits.maxTargetBytes) {
    verdict.refusal =
        problemResponse(414, "uri-too-long", "URI too long",
                        "the request target exceeds " + std::to_string(limits.maxTargetBytes) +
                            " bytes (limit --max-target-bytes)",
                        "");
    return verdict;
  }
  const auto fields =
      static_cast<std::size_t>(std::distance(message.base().begin(), message.base().end()));
  if (fields > limits.maxHeaderFields) {
    verdict.refusal =
        problemResponse(431, "header-fields-too-large", "Request header fields too large",
                        "more than " + std::to_string(limits.maxHeaderFields) +
                            " header fields (limit --max-header-fields)",
                        "");
    return verdict;
  }
  if (message.count(bhttp::field::transfer_encoding) > 0) {
    std::string codings;
    for (auto [it, end] = message.equal_range(bhttp::field::transfer_encoding); it != end; ++it) {
      codings += std::string(it->value()) + ",";
    }
    switch (judgeTransferEncoding(codings)) {
      case TransferCoding::kChunked:
        break;
      case TransferCoding::kChunkedNotFinal:
        verdict.refusal = problemResponse(400, "malformed-request", "Malformed HTTP request",
                                          "Transfer-Encoding without chunked as the final coding: "
                                          "the body length cannot be determined (RFC 9112 6.3)",
                                          "Transfer-Encoding");
        return verdict;
      case TransferCoding::kUnsupportedCoding:
        verdict.refusal =
            problemResponse(501, "not-implemented", "Not implemented",
                            "only the chunked transfer coding is supported", "Transfer-Encoding");
        return verdict;
    }
  }
  const auto hosts = message.count(bhttp::field::host);
  if (hosts > 1 || (hosts == 0 && message.version() >= 11) ||
      (hosts == 1 && !isValidHost(std::string(message[bhttp::field::host])))) {
    verdict.refusal = problemResponse(400, "malformed-request", "Malformed HTTP request",
                                      hosts > 1    ? "more than one Host header"
                                      : hosts == 0 ? "an HTTP/1.1 request needs a Host header"
                                                   : "the Host header is not host[:port]",
                                      "Host");
    return verdict;
  }
  // An HTTP/1.0 client cannot wait for 100 Continue: its expectations are ignored (§10.1.1).
  if (message.count(bhttp::field::expect) > 0 && message.version() >= 11) {
    const bool onlyContinue = message.count(bhttp::field::expect) == 1 &&
                              beast::iequals(message[bhttp::field::expect], "100-continue");
    if (!onlyContinue) {
      verdict.refusal = problemResponse(417, "expectation-failed", "Expectation failed",
                                        "the only expectation supported is 100-continue", "Expect");
      return verdict;
    }
    verdict.expectsContinue = true;
  }
  return verdict;
}

/// The answer to a parser error, or nullopt when the peer is gone or timed out (just close).
std::optional<Response> readErrorResponse(beast::error_code ec, const ConnectionLimits& limits) {
  if (ec == bhttp::error::body_limit) {
    return problemResponse(413, "payload-too-large", "Payload Too Large",
                           "the request body exceeds " + std::to_string(limits.maxBodyBytes) +
                               " bytes (limit --max-body-bytes)",
                           "");
  }
  if (ec == bhttp::error::header_limit) {
    return problemResponse(431, "header-fields-too-large", "Request header fields too large",
                           "the request header exceeds " + std::to_string(limits.maxHeaderBytes) +
                               " bytes (limit --max-header-bytes)",
                           "");
  }
  if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
      ec == asio::error::eof || ec == bhttp::error::partial_message) {
    return std::nullopt;
  }
  // Malformed HTTP: answer 400 and close, the stream position is unknown.
  return problemResponse(400, "malformed-request", "Malformed HTTP request", ec.message(), "");
}

/// The parsed message as the handlers see it, or the 400 of a target that is not a path.
std::variant<Request, Response> toRequest(Message message, std::string remoteAddress) {
  Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // Repeated field lines are one list (RFC 9110 §5.3); for a singleton field the joined
    // value is invalid, which the field's reader refuses.
    auto [it, inserted] = request.headers.try_emplace(std::move(name), field.value());
    if (!inserted) it->second += ", " + std::string(field.value());
  }
  request.body = std::move(message.body());
  request.remoteAddress = std::move(remoteAddress);
  if (!parseTarget(request)) {
    return problemResponse(400, "malformed-request", "Malformed request target",
                           "the target must be a path with valid percent-escapes", "");
  }
  return request;
}

class Session;

/// The server's shared state, visible to its sessions.
struct ServerCore {
  ServerOptions options;
  Handler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::atomic<int> inFlight{0};
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> connections{0};  // open sessions, for ConnectionLimits
  std::atomic<std::uint64_t> refusedConnections{0};
  std::atomic<std::int64_t> lastRefusalLogSecond{0};

  std::mutex sessionsMutex;
  std::set<std::shared_ptr<Session>> sessions;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerCore& server)
      : stream_(std::move(socket)), server_(server), limits_(server.options.limits) {
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) remoteAddress_ = peer.address().to_string();
  }
  ~Session() { --server_.connections; }

  void start() { awaitRequest(); }

  /// Closes an idle connection now; a busy one closes after its response.
  void shutdown() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_) self->close();
    });
  }

 private:
  /// Waits for the first byte of the next request under the idle timeout, so that the header
  /// timeout runs from the first byte: an idle keep-alive connection is not a slow header.
  void awaitRequest() {
    if (buffer_.size() > 0) return readHeader();  // pipelined: the next request is here already
    stream_.expires_after(limits_.idleTimeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                              if (ec)
                                return self->close();  // idle timeout, peer gone: nothing to answer
                              self->buffer_.commit(bytes);
                              self->readHeader();
                            });
  }

  void readHeader() {
    parser_.emplace();
    limitParser(*parser_, limits_);
    stream_.expires_after(limits_.headerTimeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onHeader(ec); });
  }

  void onHeader(beast::error_code ec) {
    if (ec) return onReadError(ec);
    auto verdict = judgeHeader(parser_->get(), limits_);
    if (verdict.refusal) return reply(std::move(*verdict.refusal), /*keepAlive=*/false);
    if (verdict.expectsContinue) {
      // RFC 9110 §10.1.1: tell the client to send the body now rather than after its timeout.
      auto interim =
          std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      stream_.expires_after(limits_.sendTimeout);
      return bhttp::async_write(
          stream_, *interim,
          [self = shared_from_this(), interim](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            self->readBody();
          });
    }
    readBody();
  }

  void readBody() {
    stream_.expires_after(limits_.bodyTimeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }

  void onReadError(beast::error_code ec) {
    auto answer = readErrorResponse(ec, limits_);
    if (!answer) return close();
    reply(std::move(*answer), /*keepAlive=*/false);
  }

  void onRead(beast::error_code ec) {
    if (ec) return onReadError(ec);
    auto message = parser_->release();
    keepAlive_ = message.keep_alive() && !closing_;
    auto converted = toRequest(std::move(message), remoteAddress_);
    if (auto* refusal = std::get_if<Response>(&converted)) {
      return reply(std::move(*refusal), keepAlive_);
    }
    busy_ = true;
    ++server_.inFlight;
    auto self = shared_from_this();
    // No timer runs while the handler works: the client is waiting for us, not we for it.
    stream_.expires_never();
    // The handler may answer from any thread; hop back onto this connection's executor.
    server_.handler(std::move(std::get<Request>(converted)), [self](Response response) {
      asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        --self->server_.inFlight;
        self->reply(std::move(response), self->keepAlive_ && !self->closing_);
      });
    });
  }

  void reply(Response response, bool keepAlive) {
    busy_ = true;
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>();
    message->version(11);
    message->result(static_cast<unsigned>(response.status));
    message->set(bhttp::field::server, "order-service");
    // 204 and 304 carry no content, so no Content-Type and no Content-Length (RFC 9110 8.6).
    const bool noContent = response.status == 204 || response.status == 304;
    if (!noContent) message->set(bhttp::field::content_type, response.contentType);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->keep_alive(keepAlive);
    if (!noContent) {
      message->body() = std::move(response.body);
      message->prepare_payload();
    }
    stream_.expires_after(limits_.sendTimeout);
    bhttp::async_write(
        stream_, *message,
        [self = shared_from_this(), message, keepAlive](beast::error_code ec, std::size_t) {
          self->busy_ = false;
          if (ec) return self->close();
          if (!keepAlive || self->closing_) return self->lingeringClose();
          self->awaitRequest();
        });
  }

  /// Closing with unread request bytes in the socket makes the kernel send RST, which can destroy
  /// the response we just sent (e.g. a 413 while the client is still uploading). So: stop
  /// sending, drain what the client still sends for a moment, then close.
  void lingeringClose() {
    beast::error_code ignored;  // the peer may already be gone
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drainBuffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }

  void close() {
    beast::error_code ignored;  // the peer may already be gone; nothing left to tell it
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    std::lock_guard lock(server_.sessionsMutex);
    server_.sessions.erase(shared_from_this());
  }

  beast::tcp_stream stream_;
  ServerCore& server_;
  const ConnectionLimits& limits_;
  std::string remoteAddress_;
  beast::flat_buffer buffer_;
  std::array<char, 16384> drainBuffer_;
  std::optional<Parser> parser_;
  bool keepAlive_ = true;
  bool busy_ = false;
  bool closing_ = false;
};

/// One connection more than ConnectionLimits::maxConnections: a short 503, sent without waiting
/// (a client that does not read it loses nothing it could have had), then closed at once.
void refuseConnection(tcp::socket& socket, ServerCore& server) {
  static const std::string kBusy = [] {
    const Response problem =
        problemResponse(503, "too-many-connections", "Too many connections",
                        "the server has as many open connections as it takes (limit "
                        "--max-connections); retry later",
                        "");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(problem.body.size()) + "\r\n\r\n" + problem.body;
  }();
  beast::error_code ignored;  // best effort: the peer may be gone, or its window full
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(kBusy.data(), kBusy.size()), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  const auto refused = ++server.refusedConnections;
  // A degraded mode is never silent, but a flood must not flood the log: once in 10 s.
  const auto second = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  auto last = server.lastRefusalLogSecond.load();
  if (second - last >= 10 && server.lastRefusalLogSecond.compare_exchange_strong(last, second)) {
    spdlog::warn(
        "http: {} open connections (limit --max-connections); {} connections refused "
        "so far",
        server.options.limits.maxConnections, refused);
  }
}

/// The kernel's struct sched_attr, first version (SCHED_ATTR_SIZE_VER0, 48 bytes), as
/// sched_setattr(2) documents it: glibc 2.36 has neither the wrapper nor the struct, and the
/// kernel header's struct sched_param clashes with glibc's.
struct SchedAttributes {
  std::uint32_t size;
  std::uint32_t sched_policy;
  std::uint64_t sched_flags;
  std::int32_t sched_nice;
  std::uint32_t sched_priority;
  std::uint64_t sched_runtime;  // SCHED_OTHER (Linux >= 6.12): the requested slice
  std::uint64_t sched_deadline;
  std::uint64_t sched_period;
};
static_assert(sizeof(SchedAttributes) == 48);

/// ServerOptions::threadSlice for the calling thread.
void askForSlice(const ServerOptions& options, bool report) {
  SchedAttributes attributes{};
  attributes.size = static_cast<std::uint32_t>(sizeof attributes);
  attributes.sched_policy = SCHED_OTHER;
  // The thread's nice value as it is: setting another one could need privileges it lacks.
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, 0);
  attributes.sched_nice = errno == 0 ? nice : 0;
  attributes.sched_runtime = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(options.threadSlice).count());
  if (syscall(SYS_sched_setattr, 0, &attributes, 0U) != 0 && report) {
    // Only a latency hint: the threads work as before with the kernel's default slice.
    spdlog::warn("http ({}): the kernel refused a {} us time slice ({}); using its default slice",
                 options.threadName, options.threadSlice.count(), std::strerror(errno));
  }
}

}  // namespace

struct Server::Impl : ServerCore {
  void accept();
  asio::steady_timer acceptPause{io};
};

void Server::Impl::accept() {
  acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping) return;
      spdlog::warn("http: accept failed: {}", ec.message());
      // Out of file descriptors (EMFILE/ENFILE) fails every accept at once: pause rather than
      // spin, the pending connections wait in the backlog meanwhile.
      acceptPause.expires_after(std::chrono::milliseconds(100));
      acceptPause.async_wait([this](beast::error_code) {
        if (!stopping) accept();
      });
      return;
    }
    if (connections.load() >= options.limits.maxConnections) {
      refuseConnection(socket, *this);
      accept();
      return;
    }
    ++connections;
    beast::error_code ignored;  // a peer already gone fails here and in its first read
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(std::move(socket), *this);
    {
      std::lock_guard lock(sessionsMutex);
      sessions.insert(session);
    }
    session->start();
    accept();
  });
}

Server::Server(ServerOptions options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) throw std::runtime_error("invalid listen address '" + impl_->options.host + "'");
  const tcp::endpoint endpoint(address, impl_->options.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + impl_->options.host + ":" +
                             std::to_string(impl_->options.port) + ": " + ec.message());
  }
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
}

Server::~Server() {
  stop(0);
}

std::uint16_t Server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void Server::start() {
  impl_->accept();
  for (int i = 0; i < impl_->options.threads; ++i) {
    impl_->threads.emplace_back([this, first = i == 0] {
      // Linux limits a thread name to 15 characters; a longer one would make the call fail.
      const std::string name = impl_->options.threadName.substr(0, 15);
      pthread_setname_np(pthread_self(), name.c_str());
      if (impl_->options.threadSlice.count() > 0) askForSlice(impl_->options, first);
      impl_->io.run();
    });
  }
}

void Server::stop(int graceMillis) {
  if (impl_->stopping.exchange(true)) return;
  asio::post(impl_->io, [this] {
    beast::error_code ignored;  // closing an acceptor that failed to open is harmless
    impl_->acceptor.close(ignored);
    impl_->acceptPause.cancel();
  });
  // Let in-flight requests finish: their responses still need the I/O threads.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(graceMillis);
  while (impl_->inFlight > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (impl_->inFlight > 0) {
    spdlog::warn("http: {} requests still in flight after the shutdown grace period",
                 impl_->inFlight.load());
  }
  {
    std::lock_guard lock(impl_->sessionsMutex);
    for (const auto& session : impl_->sessions) session->shutdown();
  }
  // Give the sessions a moment to send what they are writing, then stop the loop.
  const auto closeDeadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  for (;;) {
    {
      std::lock_guard lock(impl_->sessionsMutex);
      if (impl_->sessions.empty()) break;
    }
    if (std::chrono::steady_clock::now() > closeDeadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->io.stop();
  for (auto& thread : impl_->threads) {
    if (thread.joinable()) thread.join();
  }
}

ConnectionBytes readRequests(std::string_view bytes, const ConnectionLimits& limits) {
  ConnectionBytes result;
  asio::const_buffer rest(bytes.data(), bytes.size());
  // The Session's order of things, on a buffer: header, header rules, body, conversion.
  for (;;) {
    Parser parser;
    limitParser(parser, limits);
    parser.eager(false);  // stop after the header, as async_read_header does
    beast::error_code ec;
    while (!parser.is_header_done()) {
      if (rest.size() == 0) return result;  // the connection would wait for more
      const auto used = parser.put(rest, ec);
      if (ec == bhttp::error::need_more) ec = {};
      if (ec) break;
      if (used == 0) return result;  // an incomplete header: the connection would wait
      rest += used;
    }
    if (ec) {
      result.refusal = readErrorResponse(ec, limits);
      return result;
    }
    auto verdict = judgeHeader(parser.get(), limits);
    if (verdict.refusal) {
      result.refusal = std::move(verdict.refusal);
      return result;
    }
    parser.eager(true);
    while (!parser.is_done()) {
      if (rest.size() == 0) return result;
      const auto used = parser.put(rest, ec);
      if (ec == bhttp::error::need_more) ec = {};
      if (ec) {
        result.refusal = readErrorResponse(ec, limits);
        return result;
      }
      if (used == 0) return result;  // an incomplete body: the connection would wait
      rest += used;
    }
    const bool keepAlive = parser.get().keep_alive();
    auto converted = toRequest(parser.release(), "");
    if (auto* refusal = std::get_if<Response>(&converted)) {
      // The Server answers a bad target and goes on; the harness stops at the first refusal.
      result.refusal = std::move(*refusal);
      return result;
    }
    result.requests.push_back(std::move(std::get<Request>(converted)));
    if (!keepAlive) return result;
  }
}

}  // namespace orders::http
