#include "support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <stdexcept>

namespace orders::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

struct HttpClient::Impl {
  std::string host;
  int port;
  std::optional<std::chrono::milliseconds> timeout;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  /// Runs one asynchronous operation started by `start` to completion on this client's
  /// io_context, bounded by the timeout (beast::tcp_stream's expiry applies to asynchronous
  /// operations only); returns its error.
  template <typename Start>
  boost::system::error_code run(Start start) {
    boost::system::error_code result = asio::error::would_block;
    if (timeout) {
      stream->expires_after(*timeout);
    } else {
      stream->expires_never();
    }
    start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    if (result == beast::error::timeout) {
      stream.reset();
      throw HttpTimeout("HTTP request to " + host + ":" + std::to_string(port) +
                        " timed out after " + std::to_string(timeout->count()) + " ms");
    }
    return result;
  }

  void connect() {
    asio::ip::tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(host, std::to_string(port));
    stream.emplace(io);
    if (auto ec = run([&](auto handler) { stream->async_connect(endpoints, handler); })) {
      throw boost::system::system_error(ec);
    }
    stream->socket().set_option(asio::ip::tcp::no_delay(true));
    buffer.clear();
  }
};

HttpClient::HttpClient(std::string host, int port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

HttpClient::HttpClient(std::string host, int port, std::chrono::milliseconds timeout)
    : HttpClient(std::move(host), port) {
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                 const std::string& body,
                                 const std::map<std::string, std::string>& headers) {
  bhttp::request<bhttp::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(bhttp::field::host, impl_->host);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!impl_->stream) impl_->connect();
      const auto writeError =
          impl_->run([&](auto handler) { bhttp::async_write(*impl_->stream, request, handler); });
      // A server may answer early (413) and stop reading; its response is still there to read.
      if (writeError && writeError != asio::error::broken_pipe &&
          writeError != asio::error::connection_reset) {
        throw boost::system::system_error(writeError);
      }
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      if (auto readError = impl_->run([&](auto handler) {
            bhttp::async_read(*impl_->stream, impl_->buffer, parser, handler);
          })) {
        throw boost::system::system_error(readError);
      }
      auto message = parser.release();
      HttpResponse response;
      response.status = static_cast<int>(message.result_int());
      for (const auto& field : message) {
        std::string name(field.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        response.headers[name] = std::string(field.value());
      }
      response.body = std::move(message.body());
      if (!message.keep_alive()) impl_->stream.reset();
      return response;
    } catch (const boost::system::system_error& e) {
      // The server may have closed an idle keep-alive connection: reconnect once.
      impl_->stream.reset();
      if (attempt == 1) throw std::runtime_error(std::string("HTTP request failed: ") + e.what());
    }
  }
  throw std::runtime_error("unreachable");
}

HttpResponse HttpClient::post(const std::string& target, const std::string& json,
                              std::map<std::string, std::string> headers) {
  if (!headers.count("Content-Type")) headers["Content-Type"] = "application/json";
  return request("POST", target, json, headers);
}

}  // namespace orders::testing
