// Three 1.0 schemas were rewritten so that Ajv compiles them in strict mode (the platform's
// NestJS services use `new Ajv({strict: true})`): OrderDeliveredEvent (`then` requires
// shipmentId without defining it), OrderUpdatedEvent (`contains` without `type: array`, `then`
// requiring undefined properties) and ShipmentDeliveredEvent (`required` inside `not`). The
// rewrite must not change what they accept: valijson gives the same verdict before and after on
// instances of every rewritten rule (tests/contracts/strict_mode/instances.json). The Node test
// (tests/contracts/ajv/contracts.js) checks Ajv's verdicts on the same instances.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "events/schema_registry.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kStrictModeDir = fs::path(ORDER_SERVICE_SOURCE_DIR) / "tests/contracts/strict_mode";

json readJson(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

json envelope(const json& testCase) {
  return {{"messageId", "msg-5b0d6f8e-8a43-4c5e-9a55-2f1c3f1d9e05"},
          {"messageType", testCase.at("messageType")},
          {"messageVersion", "1.0"},
          {"timestamp", "2023-11-25T10:20:00.000Z"},
          {"source", "ContractTest"},
          {"partitionKey", "f47ac10b-58cc-4372-a567-0e02b2c3d479"},
          {"payload", testCase.at("payload")}};
}

TEST(SchemaStrictModeRewrite, AcceptsAndRefusesTheSameInstancesAsBefore) {
  // The schemas as they were: the project's schemas with the three files of before/ over them.
  testing::TempDir before;
  fs::copy(ORDER_SERVICE_SCHEMA_DIR, before.path(), fs::copy_options::recursive);
  fs::copy(kStrictModeDir / "before", before.path(),
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  auto oldRegistry = SchemaRegistry::load(before.path().string());
  ASSERT_TRUE(oldRegistry.ok()) << oldRegistry.error().message;
  auto newRegistry = SchemaRegistry::load(ORDER_SERVICE_SCHEMA_DIR);
  ASSERT_TRUE(newRegistry.ok()) << newRegistry.error().message;

  const json cases = readJson(kStrictModeDir / "instances.json").at("cases");
  std::map<std::string, int> perType;
  for (const auto& testCase : cases) {
    const json message = envelope(testCase);
    const bool expected = testCase.at("valid").get<bool>();
    const auto oldVerdict = oldRegistry->validateMessage(message);
    const auto newVerdict = newRegistry->validateMessage(message);
    const std::string name = testCase.at("messageType").get<std::string>() + ": " +
                             testCase.at("name").get<std::string>();
    EXPECT_EQ(oldVerdict.ok(), expected)
        << name << " (before the rewrite)"
        << (oldVerdict.ok() ? std::string() : ": " + oldVerdict.error().message);
    EXPECT_EQ(newVerdict.ok(), expected)
        << name << " (after the rewrite)"
        << (newVerdict.ok() ? std::string() : ": " + newVerdict.error().message);
    ++perType[testCase.at("messageType").get<std::string>()];
  }
  // Every rewritten schema is exercised, with valid and invalid instances.
  for (const char* type : {"OrderDeliveredEvent", "OrderUpdatedEvent", "ShipmentDeliveredEvent"}) {
    EXPECT_GE(perType[type], 6) << type;
    EXPECT_TRUE(fs::exists(kStrictModeDir / "before/events" / type / "1.0.json")) << type;
  }
}

}  // namespace
}  // namespace orders
