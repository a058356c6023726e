#include "events/json_text.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>

namespace orders {
namespace {

using nlohmann::json;

std::string nlohmannDump(const json& value, InvalidUtf8 invalid) {
  return value.dump(-1, ' ', false,
                    invalid == InvalidUtf8::kReplace ? json::error_handler_t::replace
                                                     : json::error_handler_t::strict);
}

/// The same text as dump(), or the same refusal (invalid UTF-8 with kThrow).
void expectSameAsDump(const json& value) {
  for (const auto invalid : {InvalidUtf8::kThrow, InvalidUtf8::kReplace}) {
    std::string expected;
    try {
      expected = nlohmannDump(value, invalid);
    } catch (const json::type_error&) {
      EXPECT_THROW(compactJson(value, invalid), json::type_error);
      continue;
    }
    EXPECT_EQ(compactJson(value, invalid), expected);
  }
}

TEST(JsonText, EveryKindOfValueIsWrittenAsDumpWritesIt) {
  expectSameAsDump(json(nullptr));
  expectSameAsDump(json(true));
  expectSameAsDump(json(false));
  expectSameAsDump(json(0));
  expectSameAsDump(json(std::numeric_limits<std::int64_t>::min()));
  expectSameAsDump(json(std::numeric_limits<std::int64_t>::max()));
  expectSameAsDump(json(std::numeric_limits<std::uint64_t>::max()));
  for (const double d : {0.0, -0.0, 0.1, 3.0, 1e300, -2.5e-308, 12345.678})
    expectSameAsDump(json(d));
  expectSameAsDump(json::object());
  expectSameAsDump(json::array());
  expectSameAsDump(json::parse(R"({"b":[1,{"z":null,"a":[]}],"a":{"":""},"c":"x"})"));
}

TEST(JsonText, StringsAreEscapedAsDumpEscapesThem) {
  std::string everyAscii;
  for (int c = 0; c < 0x80; ++c) everyAscii.push_back(static_cast<char>(c));
  expectSameAsDump(json(everyAscii));
  expectSameAsDump(json({{everyAscii, everyAscii}}));  // keys too
  expectSameAsDump(json("Zoë Ärger 東京 \xF0\x9F\x98\x80 \"quoted\"\n"));
  expectSameAsDump(json(""));
  expectSameAsDump(json("\\/"));
}

TEST(JsonText, InvalidUtf8ThrowsOrIsReplacedAsDumpDoes) {
  const json bad = json{{"name", std::string("ab\xC3(cd\xFF")}};
  EXPECT_THROW(compactJson(bad, InvalidUtf8::kThrow), json::type_error);
  EXPECT_EQ(compactJson(bad, InvalidUtf8::kReplace), nlohmannDump(bad, InvalidUtf8::kReplace));
}

TEST(JsonText, RandomDocumentsAreWrittenAsDumpWritesThem) {
  std::mt19937_64 random(20261202);
  // NUL, other control bytes, the escaped ones, DEL, and both bytes of "é" (alone: invalid UTF-8).
  const std::string alphabet = std::string("abc \"\\\n\t\x01\x1f\x7f/é") + '\0';
  auto randomString = [&] {
    std::string text;
    const auto length = random() % 12;
    for (std::uint64_t i = 0; i < length; ++i) text += alphabet[random() % alphabet.size()];
    return text;
  };
  std::function<json(int)> randomValue = [&](int depth) -> json {
    switch (random() % (depth > 3 ? 5 : 7)) {
      case 0:
        return json(randomString());
      case 1:
        return json(static_cast<std::int64_t>(random()));
      case 2:
        return json(static_cast<double>(random() % 100000) / 64.0);
      case 3:
        return json(random() % 2 == 0);
      case 4:
        return json(nullptr);
      case 5: {
        json array = json::array();
        for (auto n = random() % 4; n > 0; --n) array.push_back(randomValue(depth + 1));
        return array;
      }
      default: {
        json object = json::object();
        for (auto n = random() % 4; n > 0; --n) object[randomString()] = randomValue(depth + 1);
        return object;
      }
    }
  };
  for (int i = 0; i < 2000; ++i) expectSameAsDump(randomValue(0));
}

}  // namespace
}  // namespace orders
