#include "http/header_rules.hpp"

#include <gtest/gtest.h>

#include "http/message.hpp"

namespace orders::http {
namespace {

TEST(TransferEncoding, OnlyPlainChunkedIsDecoded) {
  EXPECT_EQ(judgeTransferEncoding("chunked,"), TransferCoding::kChunked);
  EXPECT_EQ(judgeTransferEncoding("Chunked ,"), TransferCoding::kChunked);
  EXPECT_EQ(judgeTransferEncoding(" , chunked"), TransferCoding::kChunked);
  for (const char* value : {"gzip,", "xchunked,", "chunked, identity,", "identity,", ",",
                            "chunked;ext=1,", "chunkedx"}) {
    EXPECT_EQ(judgeTransferEncoding(value), TransferCoding::kChunkedNotFinal) << value;
  }
  EXPECT_EQ(judgeTransferEncoding("gzip, chunked,"), TransferCoding::kUnsupportedCoding);
  EXPECT_EQ(judgeTransferEncoding("chunked,chunked,"), TransferCoding::kUnsupportedCoding);
}

TEST(Host, HostAndOptionalPort) {
  for (const char* good : {"localhost", "localhost:8080", "127.0.0.1:80", "[::1]", "[::1]:8080",
                           "order-service.example", "a_b.example", "xn--bcher-kva.example", "h:"}) {
    EXPECT_TRUE(isValidHost(good)) << good;
  }
  for (const char* bad : {"", "a b", "a/b", "a@b", "a:99999", "a:123456", "a:8x", "[::1", "[]",
                          "[::1]x", ":80", "a\tb", "a:1:2"}) {
    EXPECT_FALSE(isValidHost(bad)) << bad;
  }
}

TEST(IfMatch, StarListsWeakAndOpaqueTags) {
  EXPECT_TRUE(parseIfMatch("*")->any);
  EXPECT_TRUE(parseIfMatch(" * ")->any);
  EXPECT_EQ(parseIfMatch("\"3\"")->versions, std::vector<std::int64_t>{3});
  EXPECT_EQ(parseIfMatch("\"3\", \"12\",,\"bogus\"")->versions, (std::vector<std::int64_t>{3, 12}));
  EXPECT_EQ(parseIfMatch("\"a,b\", \"4\"")->versions, std::vector<std::int64_t>{4});
  // Weak tags never match (strong comparison); tags we never issued match nothing.
  EXPECT_TRUE(parseIfMatch("W/\"3\"")->versions.empty());
  for (const char* unknown :
       {"\"bogus\"", "\"\"", "\"03\"", "\"-1\"", "\"+1\"", "\"99999999999999999999\""}) {
    auto parsed = parseIfMatch(unknown);
    ASSERT_TRUE(parsed) << unknown;
    EXPECT_FALSE(parsed->any);
    EXPECT_TRUE(parsed->versions.empty()) << unknown;
  }
  EXPECT_TRUE(parseIfMatch("")->versions.empty());  // an empty list names nothing
  for (const char* malformed : {"3", "\"3", "3\"", "*, \"3\"", "\"3\" \"4\"", "w/\"3\"", "W/3",
                                "\"a\"b", "\"\x01\"", "\"3 \""}) {
    EXPECT_FALSE(parseIfMatch(malformed)) << malformed;
  }
}

Request target(const std::string& value) {
  Request request;
  request.target = value;
  EXPECT_TRUE(parseTarget(request)) << value;
  return request;
}

TEST(RequestTarget, SplitsBeforeDecoding) {
  EXPECT_EQ(target("/v1/orders/a%2Fcancel").segments,
            (std::vector<std::string>{"v1", "orders", "a%2Fcancel"}));
  EXPECT_EQ(target("/v1/orders/a%2Fcancel").path, "/v1/orders/a%2Fcancel");
  EXPECT_EQ(target("/v1/orders/").segments, (std::vector<std::string>{"v1", "orders"}));
  EXPECT_EQ(target("/v1//orders").segments, (std::vector<std::string>{"v1", "", "orders"}));
  EXPECT_TRUE(target("/").segments.empty());
  EXPECT_EQ(target("/a+b%20c").segments, std::vector<std::string>{"a+b%20c"});
  const auto withQuery = target("/v1/orders?userId=a%2Bb&status=X+Y&flag&=v");
  EXPECT_EQ(withQuery.path, "/v1/orders");
  EXPECT_EQ(withQuery.query.at("userId"), "a+b");
  EXPECT_EQ(withQuery.query.at("status"), "X Y");
  EXPECT_EQ(withQuery.query.at("flag"), "");
  EXPECT_EQ(withQuery.query.at(""), "v");
}

TEST(RequestTarget, RefusesWhatIsNotAPathWithValidEscapes) {
  for (const char* bad :
       {"", "*", "http://host/v1/orders", "v1/orders", "/a%2", "/a%zz", "/a?b=%"}) {
    Request request;
    request.target = bad;
    EXPECT_FALSE(parseTarget(request)) << bad;
  }
}

}  // namespace
}  // namespace orders::http
