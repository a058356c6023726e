#include "events/exact_json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace orders {
namespace {

TEST(ExactJson, KeepsTheTextOfEveryNonIntegerNumber) {
  const auto doc = parseExactJson(
      R"({"items":[{"unitPrice":10.0000000000000001,"quantity":2},{"unitPrice":1e-400}],
          "a/b":{"~c":[[1.5]]},"big":123456789012345678901234567890})");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(doc->numberText.at("/items/0/unitPrice"), "10.0000000000000001");
  EXPECT_EQ(doc->numberText.at("/items/1/unitPrice"), "1e-400");
  EXPECT_EQ(doc->numberText.at("/a~1b/~0c/0/0"), "1.5");
  EXPECT_EQ(doc->numberText.at("/big"), "123456789012345678901234567890");
  EXPECT_EQ(doc->numberText.count("/items/0/quantity"), 0u);          // exact as an integer
  EXPECT_EQ(doc->value["items"][1]["unitPrice"].get<double>(), 0.0);  // what a double makes of it

  const auto& quantity = doc->value["items"][0]["quantity"];
  EXPECT_EQ(doc->writtenNumber(quantity, "/items/0/quantity"), "2");
  const auto& price = doc->value["items"][1]["unitPrice"];
  EXPECT_EQ(doc->writtenNumber(price, "/items/1/unitPrice"), "1e-400");
  EXPECT_EQ(doc->writtenNumber(doc->value["a/b"], "/a~1b"), std::nullopt);
}

TEST(ExactJson, NumbersBeyondADoubleAreErrorsNotExceptions) {
  const std::string digits401(401, '9');
  for (const std::string& text : {std::string(R"({"foo": 1e400})"), std::string(R"({"x":-1e400})"),
                                  R"({"n":)" + digits401 + "}", std::string("[1, 2, 1e309]")}) {
    const auto doc = parseExactJson(text);
    ASSERT_FALSE(doc.ok()) << text;
    EXPECT_NE(doc.error().message.find("number overflow"), std::string::npos)
        << doc.error().message;
    EXPECT_NE(doc.error().message.find("at byte"), std::string::npos) << doc.error().message;
  }
}

TEST(ExactJson, RefusesMalformedTextDuplicateKeysAndDeepNesting) {
  for (const char* text : {"", "{", R"({"a":1,})", "{\"a\":\"\xff\"}", R"({"a":1} x)",
                           R"({"a":1,"a":2})", "[NaN]", "[1] // comment"}) {
    EXPECT_FALSE(parseExactJson(text).ok()) << text;
  }
  EXPECT_NE(parseExactJson(R"({"a":1,"a":2})").error().message.find("duplicate key \"a\""),
            std::string::npos);

  const std::string deep64 = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(parseExactJson(deep64).ok());
  const std::string deep65 = std::string(65, '[') + std::string(65, ']');
  const auto tooDeep = parseExactJson(deep65);
  ASSERT_FALSE(tooDeep.ok());
  EXPECT_NE(tooDeep.error().message.find("nested deeper than 64"), std::string::npos);
  // A million brackets: refused early, no stack or memory spent on them.
  EXPECT_FALSE(parseExactJson(std::string(1'000'000, '[')).ok());
}

TEST(ExactJson, BuildsTheSameDocumentAsNlohmann) {
  const std::string text =
      R"({"s":"t\u00e9xt","n":null,"b":[true,false],"i":-5,"u":18446744073709551615,"f":0.25,
          "o":{"nested":{"deeper":[{},[]]}}})";
  const auto doc = parseExactJson(text);
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(doc->value, nlohmann::json::parse(text));
}

TEST(ExactJson, NumberAsTextAndPointers) {
  EXPECT_EQ(numberAsText(nlohmann::json(-12)), "-12");
  EXPECT_EQ(numberAsText(nlohmann::json(18446744073709551615ull)), "18446744073709551615");
  EXPECT_EQ(numberAsText(nlohmann::json(0.5)), "0.5");
  EXPECT_EQ(appendPointer("/a", "b/c~d"), "/a/b~1c~0d");
}

}  // namespace
}  // namespace orders
