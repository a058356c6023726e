#pragma once
// Many plain TCP connections at once, for black-box tests of slow and idle clients (the
// RawConnection of raw_http.hpp owns an io_context each, too heavy for thousands).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace orders::testing {

/// Raises this process's file descriptor soft limit to its hard limit (the flood needs them).
inline void raiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

/// A connected, non-blocking socket to 127.0.0.1:`port`, or -1.
inline int connectTo(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/// Connections that hold a socket each and can trickle bytes; closed on destruction.
class SocketFlood {
 public:
  SocketFlood(int port, std::size_t count) {
    sockets_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      const int fd = connectTo(port);
      if (fd < 0) throw std::runtime_error("connection " + std::to_string(i) + " failed");
      sockets_.push_back(fd);
    }
  }
  ~SocketFlood() {
    for (int fd : sockets_) ::close(fd);
  }
  SocketFlood(const SocketFlood&) = delete;
  SocketFlood& operator=(const SocketFlood&) = delete;

  /// Sends byte `index` of `text` (past its end: 'a', a field value that never ends) on every
  /// connection still open; returns how many are still open (one the server closed is dropped).
  std::size_t trickle(const std::string& text, std::size_t index) {
    std::vector<int> open;
    for (int fd : sockets_) {
      const char byte = index < text.size() ? text[index] : 'a';
      if (::send(fd, &byte, 1, MSG_NOSIGNAL) == 1 && !closedByPeer(fd)) {
        open.push_back(fd);
      } else {
        ::close(fd);
      }
    }
    sockets_ = std::move(open);
    return sockets_.size();
  }
  /// How many connections the server has not closed (a read of 0 bytes: closed).
  std::size_t stillOpen() {
    std::size_t open = 0;
    for (int fd : sockets_) open += closedByPeer(fd) ? 0 : 1;
    return open;
  }
  std::size_t size() const { return sockets_.size(); }

 private:
  static bool closedByPeer(int fd) {
    char buffer[512];
    const auto n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  std::vector<int> sockets_;
};

}  // namespace orders::testing
