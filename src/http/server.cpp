#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "http/header_rules.hpp"
#include "http/problem.hpp"

namespace orders::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr auto kIdleTimeout = std::chrono::seconds(60);

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

  std::mutex sessionsMutex;
  std::set<std::shared_ptr<Session>> sessions;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerCore& server) : stream_(std::move(socket)), server_(server) {}

  void start() { read(); }

  /// Closes an idle connection now; a busy one closes after its response.
  void shutdown() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_) self->close();
    });
  }

 private:
  /// Reads the header first: framing, Host and Expect are judged before any body byte is read,
  /// so a request we refuse never has its body parsed (or executed) as the next request.
  void read() {
    parser_.emplace();
    parser_->body_limit(server_.options.maxBodyBytes);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(kIdleTimeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onHeader(ec); });
  }

  void onHeader(beast::error_code ec) {
    if (ec) return onReadError(ec);
    if (auto refusal = refuseHeader(parser_->get())) {
      // The connection's framing is no longer trustworthy: answer, then close.
      return reply(std::move(*refusal), /*keepAlive=*/false);
    }
    if (expectsContinue_) {
      // RFC 9110 §10.1.1: tell the client to send the body now rather than after its timeout.
      auto interim =
          std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
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
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }

  /// The header-level refusals, or nullopt to go on reading the body.
  std::optional<Response> refuseHeader(const bhttp::request<bhttp::string_body>& message) {
    expectsContinue_ = false;
    if (message.count(bhttp::field::transfer_encoding) > 0) {
      std::string codings;
      for (auto [it, end] = message.equal_range(bhttp::field::transfer_encoding); it != end; ++it) {
        codings += std::string(it->value()) + ",";
      }
      switch (judgeTransferEncoding(codings)) {
        case TransferCoding::kChunked:
          break;
        case TransferCoding::kChunkedNotFinal:
          return problemResponse(400, "malformed-request", "Malformed HTTP request",
                                 "Transfer-Encoding without chunked as the final coding: the "
                                 "body length cannot be determined (RFC 9112 6.3)",
                                 "Transfer-Encoding");
        case TransferCoding::kUnsupportedCoding:
          return problemResponse(501, "not-implemented", "Not implemented",
                                 "only the chunked transfer coding is supported",
                                 "Transfer-Encoding");
      }
    }
    const auto hosts = message.count(bhttp::field::host);
    if (hosts > 1 || (hosts == 0 && message.version() >= 11) ||
        (hosts == 1 && !isValidHost(std::string(message[bhttp::field::host])))) {
      return problemResponse(400, "malformed-request", "Malformed HTTP request",
                             hosts > 1    ? "more than one Host header"
                             : hosts == 0 ? "an HTTP/1.1 request needs a Host header"
                                          : "the Host header is not host[:port]",
                             "Host");
    }
    // An HTTP/1.0 client cannot wait for 100 Continue: its expectations are ignored (§10.1.1).
    if (message.count(bhttp::field::expect) > 0 && message.version() >= 11) {
      const bool onlyContinue = message.count(bhttp::field::expect) == 1 &&
                                beast::iequals(message[bhttp::field::expect], "100-continue");
      if (!onlyContinue) {
        return problemResponse(417, "expectation-failed", "Expectation failed",
                               "the only expectation supported is 100-continue", "Expect");
      }
      expectsContinue_ = true;
    }
    return std::nullopt;
  }

  void onReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return reply(problemResponse(413, "payload-too-large", "Payload Too Large",
                                   "the request body exceeds " +
                                       std::to_string(server_.options.maxBodyBytes) + " bytes",
                                   ""),
                   /*keepAlive=*/false);
    }
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return close();
    }
    // Malformed HTTP: answer 400 and close, the stream position is unknown.
    reply(problemResponse(400, "malformed-request", "Malformed HTTP request", ec.message(), ""),
          false);
  }

  void onRead(beast::error_code ec) {
    if (ec) return onReadError(ec);
    auto message = parser_->release();
    keepAlive_ = message.keep_alive() && !closing_;
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
    if (!parseTarget(request)) {
      return reply(problemResponse(400, "malformed-request", "Malformed request target",
                                   "the target must be a path with valid percent-escapes", ""),
                   keepAlive_);
    }
    busy_ = true;
    ++server_.inFlight;
    auto self = shared_from_this();
    // The handler may answer from any thread; hop back onto this connection's executor.
    server_.handler(std::move(request), [self](Response response) {
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
    stream_.expires_after(kIdleTimeout);
    bhttp::async_write(
        stream_, *message,
        [self = shared_from_this(), message, keepAlive](beast::error_code ec, std::size_t) {
          self->busy_ = false;
          if (ec) return self->close();
          if (!keepAlive || self->closing_) return self->lingeringClose();
          self->read();
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
  beast::flat_buffer buffer_;
  std::array<char, 16384> drainBuffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keepAlive_ = true;
  bool expectsContinue_ = false;
  bool busy_ = false;
  bool closing_ = false;
};

}  // namespace

struct Server::Impl : ServerCore {
  void accept();
};

void Server::Impl::accept() {
  acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted) {
        spdlog::warn("http: accept failed: {}", ec.message());
      }
      if (!stopping) accept();
      return;
    }
    socket.set_option(tcp::no_delay(true));
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
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
}

void Server::stop(int graceMillis) {
  if (impl_->stopping.exchange(true)) return;
  asio::post(impl_->io, [this] {
    beast::error_code ignored;  // closing an acceptor that failed to open is harmless
    impl_->acceptor.close(ignored);
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

}  // namespace orders::http
