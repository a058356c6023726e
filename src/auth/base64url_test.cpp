#include "auth/base64url.hpp"

#include <gtest/gtest.h>

namespace orders::auth {
namespace {

TEST(Base64UrlTest, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    bytes.push_back(static_cast<char>(i * 37));
    const std::string encoded = base64UrlEncode(bytes);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    ASSERT_EQ(base64UrlDecode(encoded), bytes) << encoded;
  }
}

TEST(Base64UrlTest, KnownVectorsOfRfc4648) {
  EXPECT_EQ(base64UrlEncode("f"), "Zg");
  EXPECT_EQ(base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64UrlDecode(""), std::string());
}

TEST(Base64UrlTest, RefusesPaddingForeignCharactersBadLengthAndNonCanonicalBits) {
  EXPECT_FALSE(base64UrlDecode("Zg=="));    // padding
  EXPECT_FALSE(base64UrlDecode("Zm9v+A"));  // '+' is base64, not base64url
  EXPECT_FALSE(base64UrlDecode("Zm9v/A"));
  EXPECT_FALSE(base64UrlDecode("Zm 9v"));
  EXPECT_FALSE(base64UrlDecode("Zm9vY"));  // 4k+1 characters cannot be
  EXPECT_FALSE(base64UrlDecode("Zh"));     // "f" with non-zero unused bits
  EXPECT_FALSE(base64UrlDecode(std::string("Zg\0", 3)));
}

}  // namespace
}  // namespace orders::auth
