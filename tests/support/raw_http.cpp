#include "support/raw_http.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <regex>

namespace orders::testing {

namespace asio = boost::asio;

struct RawConnection::Impl {
  asio::io_context io;
  asio::ip::tcp::socket socket{io};
};

RawConnection::RawConnection(const std::string& host, int port) : impl_(std::make_unique<Impl>()) {
  asio::ip::tcp::resolver resolver(impl_->io);
  asio::connect(impl_->socket, resolver.resolve(host, std::to_string(port)));
  impl_->socket.set_option(asio::ip::tcp::no_delay(true));
}

RawConnection::~RawConnection() = default;

void RawConnection::send(const std::string& bytes) {
  asio::write(impl_->socket, asio::buffer(bytes));
}

bool RawConnection::readUntil(const std::string& marker, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (received_.find(marker) == std::string::npos) {
    if (closed_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd fd{impl_->socket.native_handle(), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    const auto n = ::recv(impl_->socket.native_handle(), buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      continue;
    }
    received_.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

bool RawConnection::readUntilClosed(std::chrono::milliseconds timeout) {
  // A marker that never arrives: read until closed or out of time.
  readUntil(std::string("\0never\0", 7), timeout);
  return closed_;
}

std::vector<int> RawConnection::statuses() const {
  std::vector<int> codes;
  static const std::regex statusLine("HTTP/1\\.[01] ([0-9]{3}) ");
  for (std::sregex_iterator it(received_.begin(), received_.end(), statusLine), end; it != end;
       ++it) {
    codes.push_back(std::stoi((*it)[1]));
  }
  return codes;
}

}  // namespace orders::testing
