#pragma once
// Raw bytes over one TCP connection, for black-box tests of HTTP framing that a well-behaved
// client library cannot send (smuggling attempts, missing Host, Expect: 100-continue).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace orders::testing {

class RawConnection {
 public:
  RawConnection(const std::string& host, int port);
  ~RawConnection();

  void send(const std::string& bytes);
  /// Reads until `marker` has arrived (true) or `timeout` passed or the peer closed (false).
  bool readUntil(const std::string& marker, std::chrono::milliseconds timeout);
  /// Reads until the peer closes the connection (true) or `timeout` passes (false).
  bool readUntilClosed(std::chrono::milliseconds timeout);
  /// Everything received so far.
  const std::string& received() const { return received_; }
  /// The status codes of the responses received so far ("HTTP/1.1 400 ..." -> 400), in order.
  std::vector<int> statuses() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string received_;
  bool closed_ = false;
};

}  // namespace orders::testing
