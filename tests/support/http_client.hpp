#pragma once
// A minimal blocking HTTP/1.1 client for black-box tests and benchmarks (Boost.Beast), keeping
// one keep-alive connection and reconnecting when the server closed it.

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace orders::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// request() of a client with a timeout: the server did not answer in time. Whether it acted on
/// the request is unknown (the connection is dropped; the request is not sent again).
struct HttpTimeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class HttpClient {
 public:
  HttpClient(std::string host, int port);
  /// The same, with each request (connect, write and read) bounded by `timeout`: a server that
  /// hangs (SIGSTOP) makes request() throw HttpTimeout instead of blocking forever.
  HttpClient(std::string host, int port, std::chrono::milliseconds timeout);
  ~HttpClient();

  /// Sends a request; `headers` are added as given. Throws std::runtime_error on I/O failure,
  /// HttpTimeout when the client's timeout passed.
  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});
  HttpResponse get(const std::string& target,
                   const std::map<std::string, std::string>& headers = {}) {
    return request("GET", target, "", headers);
  }
  /// POST with Content-Type: application/json unless `headers` sets another one.
  HttpResponse post(const std::string& target, const std::string& json,
                    std::map<std::string, std::string> headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orders::testing
