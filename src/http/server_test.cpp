// The server's reading of a connection's bytes without a socket (readRequests, the same parser,
// limits and header rules as a Session): each limit answers its own status and names itself,
// and framing conflicts are refused before a body could be read as another request.

#include "http/server.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace orders::http {
namespace {

using nlohmann::json;

ConnectionLimits smallLimits() {
  ConnectionLimits limits;
  limits.maxBodyBytes = 100;
  limits.maxHeaderBytes = 1024;
  limits.maxHeaderFields = 5;
  limits.maxTargetBytes = 64;
  return limits;
}

/// The refusal's status, and checks that it is problem+json naming `flag`.
int refusalOf(const std::string& bytes, const std::string& flag = "") {
  const auto read = readRequests(bytes, smallLimits());
  if (!read.refusal) return 0;
  EXPECT_EQ(read.refusal->contentType, "application/problem+json");
  if (!flag.empty()) {
    EXPECT_NE(json::parse(read.refusal->body)["detail"].get<std::string>().find(flag),
              std::string::npos)
        << read.refusal->body;
  }
  return read.refusal->status;
}

TEST(ReadRequests, ReadsPipelinedRequestsUntilTheConnectionWouldClose) {
  const auto read = readRequests(
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
      "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
      "GET /never HTTP/1.1\r\nHost: x\r\n\r\n",
      smallLimits());
  ASSERT_FALSE(read.refusal);
  ASSERT_EQ(read.requests.size(), 3u);
  EXPECT_EQ(read.requests[1].method, "POST");
  EXPECT_EQ(read.requests[1].body, "{}");
  EXPECT_EQ(read.requests[1].query.at("q"), "1");
  EXPECT_EQ(read.requests[2].path, "/c");
  // An incomplete request is waited for, not refused.
  EXPECT_TRUE(readRequests("GET /a HTTP/1.1\r\nHo", smallLimits()).requests.empty());
  EXPECT_FALSE(readRequests("GET /a HTTP/1.1\r\nHo", smallLimits()).refusal);
}

TEST(ReadRequests, EachLimitHasItsStatusAndSaysWhichItIs) {
  EXPECT_EQ(
      refusalOf("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", "--max-body-bytes"),
      413);
  EXPECT_EQ(refusalOf("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "65\r\n" +
                          std::string(101, 'x') + "\r\n0\r\n\r\n",
                      "--max-body-bytes"),
            413);
  EXPECT_EQ(refusalOf("GET /" + std::string(64, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
                      "--max-target-bytes"),
            414);
  EXPECT_EQ(refusalOf("GET /" + std::string(63, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  std::string fields = "GET /a HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 5; ++i) fields += "X-" + std::to_string(i) + ": y\r\n";
  EXPECT_EQ(refusalOf(fields + "\r\n", "--max-header-fields"), 431);
  EXPECT_EQ(refusalOf("GET /a HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1100, 'b') + "\r\n\r\n",
                      "--max-header-bytes"),
            431);
}

TEST(ReadRequests, SmugglingAttemptsAre400BeforeAnyBodyIsRead) {
  const std::string inner = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string& attempt : {
           // Both framings (RFC 9112 §6.3).
           "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
           "0\r\n\r\n" +
               inner,
           // Two different lengths.
           "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 38\r\n\r\n" + inner,
           "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 38\r\n\r\n" + inner,
           // chunked not last: the length is unknown.
           "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + inner,
           // Obfuscated codings.
           "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n" + inner,
           "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + inner,
           "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\n" + inner,
           "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n" + inner,
           // A bare LF inside a field line.
           "POST /a HTTP/1.1\r\nHost: x\r\nX: a\nContent-Length: 38\r\n\r\n" + inner,
       }) {
    const auto read = readRequests(attempt, smallLimits());
    ASSERT_TRUE(read.refusal) << attempt;
    EXPECT_EQ(read.refusal->status, 400) << attempt << read.refusal->body;
    for (const auto& request : read.requests) EXPECT_NE(request.path, "/smuggled") << attempt;
  }
  // A field folded onto the next line (obs-fold) is unfolded into the field it continues
  // (RFC 9112 §5.2 allows this or 400): never a Content-Length of its own.
  const auto folded = readRequests(
      "POST /a HTTP/1.1\r\nHost: x\r\nX: a\r\n Content-Length: 38\r\n\r\n" + inner, smallLimits());
  ASSERT_FALSE(folded.refusal);
  ASSERT_EQ(folded.requests.size(), 2u);
  EXPECT_EQ(folded.requests[0].body, "");
  EXPECT_EQ(folded.requests[0].headers.count("content-length"), 0u);
  EXPECT_NE(folded.requests[0].headers.at("x").find("Content-Length"), std::string::npos);
}

}  // namespace
}  // namespace orders::http
