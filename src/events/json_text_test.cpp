#include "events/json_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
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

TEST(JsonWriter, WritesMembersInTheOrderTheyAreWritten) {
  const std::string text = writeJson([](JsonWriter& w) {
    w.beginObject();
    w.key("b").string("x\"y\n");
    w.key("a").integer(-7);
    w.key("list").beginArray();
    w.integer(1).boolean(true).null().beginObject().endObject().beginArray().endArray();
    w.string("");
    w.endArray();
    w.key("nested").beginObject().key("k").boolean(false).endObject();
    w.key("dom").json(json{{"z", 1}, {"y", "two"}});
    w.key("price").decimal(14999, 2);
    w.endObject();
  });
  EXPECT_EQ(text, R"({"b":"x\"y\n","a":-7,"list":[1,true,null,{},[],""],"nested":{"k":false},)"
                  R"("dom":{"y":"two","z":1},"price":149.99})");
  EXPECT_EQ(writeJson([](JsonWriter& w) { w.beginArray().endArray(); }), "[]");
}

TEST(JsonWriter, EscapesStringsAndKeysAsDumpDoes) {
  std::string every;
  for (int b = 1; b < 0x80; ++b) every.push_back(static_cast<char>(b));
  for (const std::string& text :
       {every, std::string("caf\xc3\xa9 \xe2\x82\xac"), std::string("a\0b", 3)}) {
    const auto written =
        writeJson([&](JsonWriter& w) { w.beginObject().key(text).string(text).endObject(); });
    EXPECT_EQ(written, "{" + json(text).dump() + ":" + json(text).dump() + "}");
  }
  const std::string invalid = "bad \xff byte";
  EXPECT_THROW(writeJson([&](JsonWriter& w) { w.string(invalid); }), json::type_error);
  EXPECT_EQ(writeJson([&](JsonWriter& w) { w.string(invalid); }, InvalidUtf8::kReplace),
            nlohmannDump(json(invalid), InvalidUtf8::kReplace));
}

TEST(JsonWriter, WritesADecimalAsDumpWritesTheNearestDouble) {
  const auto viaDouble = [](std::int64_t minor, int decimals) {
    return json(static_cast<double>(minor) / std::pow(10.0, decimals)).dump();
  };
  const auto written = [](std::int64_t minor, int decimals) {
    return writeJson([&](JsonWriter& w) { w.decimal(minor, decimals); });
  };
  EXPECT_EQ(written(14999, 2), "149.99");
  EXPECT_EQ(written(1500, 0), "1500.0");
  EXPECT_EQ(written(0, 2), "0.0");
  EXPECT_EQ(written(1, 3), "0.001");
  EXPECT_EQ(written(-250, 2), "-2.5");
  const std::int64_t edges[] = {0,
                                1,
                                -1,
                                9,
                                10,
                                100,
                                999'999'999'999'999,
                                -999'999'999'999'999,
                                1'000'000'000'000'000,
                                123'456'789'012'345'678,
                                std::numeric_limits<std::int64_t>::max(),
                                std::numeric_limits<std::int64_t>::min() + 1};
  for (int decimals = 0; decimals <= 9; ++decimals) {
    for (const auto minor : edges) {
      EXPECT_EQ(written(minor, decimals), viaDouble(minor, decimals)) << minor << " " << decimals;
    }
  }
  std::mt19937_64 random(7);
  for (int i = 0; i < 50'000; ++i) {
    const int decimals = static_cast<int>(random() % 4);
    // Every magnitude, from 1 digit to 16.
    const auto digits = static_cast<int>(random() % 16) + 1;
    const auto minor =
        static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(std::pow(10.0, digits)));
    ASSERT_EQ(written(minor, decimals), viaDouble(minor, decimals)) << minor << " " << decimals;
  }
}

}  // namespace
}  // namespace orders
