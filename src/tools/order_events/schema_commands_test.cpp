// `order-events schema ...` and `order-events asyncapi` through the CLI's entry point: exit codes,
// what a breaking minor version or an edited published schema reports, the lock, and that
// docs/asyncapi.yaml is what `order-events asyncapi` prints.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_test_support.hpp"
#include "events/schema_catalog.hpp"
#include "events/schema_lock.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::TempDir;

using testing::cli;
using testing::CliRun;

std::string readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

json readJson(const fs::path& path) {
  return json::parse(readText(path));
}

void writeJson(const fs::path& path, const json& value) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << value.dump(2) << "\n";
}

/// A copy of the project's schemas (with their lock) to break.
class SchemaDir {
 public:
  SchemaDir() { fs::copy(ORDER_SERVICE_SCHEMA_DIR, dir_.path(), fs::copy_options::recursive); }
  std::string path() const { return dir_.path().string(); }
  fs::path file(const std::string& relative) const { return dir_.path() / relative; }

 private:
  TempDir dir_;
};

const std::string kCreated = "events/OrderCreatedEvent/1.0.json";

// ---- check -----------------------------------------------------------------------------------

TEST(SchemaCheckCommand, AnAdditiveChangeExitsZero) {
  SchemaDir dir;
  json next = readJson(dir.file(kCreated));
  next["properties"]["giftMessage"] = {{"type", "string"}, {"maxLength", 200}};
  writeJson(dir.file("events/OrderCreatedEvent/1.1.json"), next);
  const CliRun run = cli({"schema", "check", dir.file(kCreated).string(),
                          dir.file("events/OrderCreatedEvent/1.1.json").string()});
  EXPECT_EQ(run.code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("additive property-added /properties/giftMessage: new optional property "
                         "giftMessage"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("compatible (1 additive change): may be published as a minor version"),
            std::string::npos)
      << run.out;
}

TEST(SchemaCheckCommand, ABreakingChangeExitsOneAndNamesEachPointer) {
  SchemaDir dir;
  json next = readJson(dir.file(kCreated));
  next["definitions"]["lineItem"]["properties"]["quantity"]["maximum"] = 99;
  next["required"].push_back("channel");
  next["properties"]["channel"] = {{"type", "string"}};
  writeJson(dir.file("events/OrderCreatedEvent/1.1.json"), next);
  const CliRun run = cli({"schema", "check", dir.file(kCreated).string(),
                          dir.file("events/OrderCreatedEvent/1.1.json").string()});
  EXPECT_EQ(run.code, 1) << run.out << run.err;
  EXPECT_NE(run.out.find("breaking bound-tightened "
                         "/properties/items/items/properties/quantity/maximum: maximum 99 added "
                         "(at "),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("breaking required-added /required/10: new required property channel"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("BREAKING (2 breaking, 0 additive): needs a new major version"),
            std::string::npos)
      << run.out;

  const CliRun asJson = cli({"schema", "check", "--json", dir.file(kCreated).string(),
                             dir.file("events/OrderCreatedEvent/1.1.json").string()});
  EXPECT_EQ(asJson.code, 1);
  const json report = json::parse(asJson.out);
  EXPECT_TRUE(report.at("breaking").get<bool>());
  ASSERT_EQ(report.at("changes").size(), 2u);
  EXPECT_EQ(report["changes"][0]["pointer"], "/properties/items/items/properties/quantity/maximum");
  EXPECT_EQ(report["changes"][0]["instancePath"], "/items/*/quantity");
  EXPECT_EQ(report["changes"][0]["kind"], "bound-tightened");
}

TEST(SchemaCheckCommand, BadInputExitsTwo) {
  SchemaDir dir;
  EXPECT_EQ(cli({"schema", "check", dir.file(kCreated).string(), "/nonexistent/1.1.json"}).code, 2);
  std::ofstream(dir.file("broken.json")) << "{ \"type\": ";
  const CliRun notJson =
      cli({"schema", "check", dir.file(kCreated).string(), dir.file("broken.json").string()});
  EXPECT_EQ(notJson.code, 2);
  EXPECT_NE(notJson.err.find("is not valid JSON"), std::string::npos) << notJson.err;
  json dangling = readJson(dir.file(kCreated));
  dangling["properties"]["orderId"]["$ref"] = "#/definitions/orderId";
  writeJson(dir.file("dangling.json"), dangling);
  EXPECT_EQ(
      cli({"schema", "check", dir.file(kCreated).string(), dir.file("dangling.json").string()})
          .code,
      2);
  EXPECT_EQ(cli({"schema", "check", dir.file(kCreated).string()}).code, 2);  // NEW missing
}

// ---- check-all and lock ----------------------------------------------------------------------

TEST(SchemaCheckAllCommand, ThePublishedSchemasPass) {
  const CliRun run = cli({"schema", "check-all", ORDER_SERVICE_SCHEMA_DIR});
  EXPECT_EQ(run.code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("all good"), std::string::npos) << run.out;
}

TEST(SchemaCheckAllCommand, ABreakingMinorVersionFailsNamingFileAndPointer) {
  SchemaDir dir;
  json next = readJson(dir.file(kCreated));
  next["properties"].erase("itemCount");
  next["required"].erase(std::find(next["required"].begin(), next["required"].end(), "itemCount"));
  next["definitions"]["status"]["enum"].erase(0);
  writeJson(dir.file("events/OrderCreatedEvent/1.1.json"), next);
  ASSERT_EQ(cli({"schema", "lock", dir.path()}).code, 0);
  const CliRun run = cli({"schema", "check-all", dir.path()});
  EXPECT_EQ(run.code, 1) << run.out << run.err;
  EXPECT_NE(run.err.find("events/OrderCreatedEvent/1.1.json: breaking change from 1.0 inside "
                         "major version 1 (a breaking change needs a new major version, 2.0.json)"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("events/OrderCreatedEvent/1.1.json breaking property-removed "
                         "/properties/itemCount"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("events/OrderCreatedEvent/1.1.json breaking enum-narrowed "
                         "/properties/status/enum"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.out.find("1 failed"), std::string::npos) << run.out;
}

TEST(SchemaCheckAllCommand, AnAdditiveMinorVersionPassesOnceItIsInTheLock) {
  SchemaDir dir;
  json next = readJson(dir.file(kCreated));
  next["properties"]["giftMessage"] = {{"type", "string"}};
  writeJson(dir.file("events/OrderCreatedEvent/1.1.json"), next);

  const CliRun unlocked = cli({"schema", "check-all", dir.path()});
  EXPECT_EQ(unlocked.code, 1) << unlocked.out << unlocked.err;
  EXPECT_NE(unlocked.err.find("events/OrderCreatedEvent/1.1.json is not in schemas.lock"),
            std::string::npos)
      << unlocked.err;

  const CliRun lock = cli({"schema", "lock", dir.path()});
  EXPECT_EQ(lock.code, 0) << lock.err;
  EXPECT_NE(lock.out.find("added events/OrderCreatedEvent/1.1.json"), std::string::npos)
      << lock.out;
  const CliRun locked = cli({"schema", "check-all", dir.path()});
  EXPECT_EQ(locked.code, 0) << locked.out << locked.err;
  EXPECT_NE(locked.out.find("events/OrderCreatedEvent/1.1.json: compatible with 1.0 (1 additive "
                            "change)"),
            std::string::npos)
      << locked.out;
  EXPECT_NE(cli({"schema", "lock", dir.path()}).out.find("is up to date"), std::string::npos)
      << "second lock run";
}

TEST(SchemaCheckAllCommand, ThePublishedTwoPointZeroIsClassifiedBreakingAndAcceptedAsAMajor) {
  const CliRun run = cli({"schema", "check-all", ORDER_SERVICE_SCHEMA_DIR});
  EXPECT_EQ(run.code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("events/OrderCreatedEvent/2.0.json: new major version 2.0, breaking "
                         "from 1.0 ("),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("): accepted as a major version"), std::string::npos) << run.out;
  // The money objects: totalAmount and each unitPrice changed type, currency is gone.
  EXPECT_NE(run.out.find("breaking type-changed /properties/totalAmount/type"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("/properties/items/items/properties/unitPrice/type"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("breaking property-removed /properties/currency"), std::string::npos)
      << run.out;
}

TEST(SchemaCheckAllCommand, AnythingGoesBetweenMajorVersions) {
  SchemaDir dir;
  json next = readJson(dir.file("events/OrderCreatedEvent/2.0.json"));
  next["properties"]["totalAmount"] = {{"type", "string"}};
  next["properties"].erase("itemCount");
  writeJson(dir.file("events/OrderCreatedEvent/3.0.json"), next);
  ASSERT_EQ(cli({"schema", "lock", dir.path()}).code, 0);
  const CliRun run = cli({"schema", "check-all", dir.path()});
  EXPECT_EQ(run.code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("events/OrderCreatedEvent/3.0.json: new major version 3.0, breaking "
                         "from 2.0"),
            std::string::npos)
      << run.out;
}

TEST(SchemaCheckAllCommand, AMajorVersionWithoutABreakingChangeIsAcceptedWithANote) {
  SchemaDir dir;
  json next = readJson(dir.file("events/OrderShippedEvent/1.0.json"));
  next["description"] = "The same shape; say the meaning of a field changed.";
  writeJson(dir.file("events/OrderShippedEvent/2.0.json"), next);
  ASSERT_EQ(cli({"schema", "lock", dir.path()}).code, 0);
  const CliRun run = cli({"schema", "check-all", dir.path()});
  EXPECT_EQ(run.code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("events/OrderShippedEvent/2.0.json: new major version 2.0, no breaking "
                         "change from 1.0: accepted, but a minor version would do unless the "
                         "meaning changed"),
            std::string::npos)
      << run.out;
}

TEST(SchemaCheckAllCommand, AnEditedPublishedSchemaFailsAndCannotBeRelocked) {
  SchemaDir dir;
  json edited = readJson(dir.file(kCreated));
  edited["description"] = "Reworded, which is still an edit of a published file.";
  writeJson(dir.file(kCreated), edited);
  const std::string lockBefore = readText(dir.file("schemas.lock"));

  const CliRun run = cli({"schema", "check-all", dir.path()});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("schemas.lock: events/OrderCreatedEvent/1.0.json was changed after it "
                         "was published"),
            std::string::npos)
      << run.err;

  const CliRun lock = cli({"schema", "lock", dir.path()});
  EXPECT_EQ(lock.code, 1);
  EXPECT_NE(lock.err.find("events/OrderCreatedEvent/1.0.json"), std::string::npos) << lock.err;
  EXPECT_EQ(readText(dir.file("schemas.lock")), lockBefore);
}

TEST(SchemaCheckAllCommand, ARemovedPublishedSchemaFails) {
  SchemaDir dir;
  fs::remove(dir.file("events/OrderShippedEvent/1.0.json"));
  fs::remove(dir.file("events/OrderShippedEvent"));
  const CliRun run = cli({"schema", "check-all", dir.path()});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("events/OrderShippedEvent/1.0.json is in schemas.lock but does not exist"),
            std::string::npos)
      << run.err;
}

TEST(SchemaCheckAllCommand, AMissingOrMalformedLockAndUnloadableSchemas) {
  {
    SchemaDir dir;
    fs::remove(dir.file("schemas.lock"));
    const CliRun run = cli({"schema", "check-all", dir.path()});
    EXPECT_EQ(run.code, 1);
    EXPECT_NE(run.err.find("order-events schema lock"), std::string::npos) << run.err;
  }
  {
    SchemaDir dir;
    std::ofstream(dir.file("schemas.lock"), std::ios::app) << "not a hash  events/x.json\n";
    const CliRun run = cli({"schema", "check-all", dir.path()});
    EXPECT_EQ(run.code, 2);
    EXPECT_NE(run.err.find("schemas.lock line 21"), std::string::npos) << run.err;
  }
  {
    SchemaDir dir;
    std::ofstream(dir.file("events/OrderCreatedEvent/1.1.json")) << R"({"type": 42})";
    const CliRun run = cli({"schema", "check-all", dir.path()});
    EXPECT_EQ(run.code, 2);
    EXPECT_NE(run.err.find("events/OrderCreatedEvent/1.1.json"), std::string::npos) << run.err;
  }
  EXPECT_EQ(cli({"schema", "check-all", "/nonexistent/schemas"}).code, 2);
}

TEST(SchemaLockFile, IsExactlyWhatTheLockCommandWrites) {
  // Sorted, one "<sha256>  <file>" line per published file, as sha256sum prints them, so that
  // `cd schemas && sha256sum --check schemas.lock` works too.
  auto files = listSchemaFiles(ORDER_SERVICE_SCHEMA_DIR);
  ASSERT_TRUE(files.ok());
  std::vector<SchemaLockEntry> entries;
  for (const auto& f : *files) {
    auto hash = sha256OfFile(std::string(ORDER_SERVICE_SCHEMA_DIR) + "/" + f.file);
    ASSERT_TRUE(hash.ok());
    entries.push_back({*hash, f.file});
  }
  EXPECT_EQ(entries.size(), 20u);  // the envelope, 13 events (one also at 2.0), 5 inbound
  EXPECT_EQ(readText(fs::path(ORDER_SERVICE_SCHEMA_DIR) / "schemas.lock"),
            formatSchemaLock(entries));
}

// ---- validate --------------------------------------------------------------------------------

TEST(SchemaValidateCommand, ValidatesMessagesAsTheServiceDoes) {
  TempDir dir;
  const json message = {{"messageId", "msg-5b0d6f8e-8a43-4c5e-9a55-2f1c3f1d9e05"},
                        {"messageType", "ShipmentDeliveredEvent"},
                        {"messageVersion", "1.0"},
                        {"timestamp", "2023-11-24T14:02:00.000Z"},
                        {"source", "FulfillmentService"},
                        {"partitionKey", "f47ac10b-58cc-4372-a567-0e02b2c3d479"},
                        {"payload",
                         {{"orderId", "f47ac10b-58cc-4372-a567-0e02b2c3d479"},
                          {"pickup", true},
                          {"deliveredAt", "2023-11-24T14:02:00.000Z"}}}};
  dir.write("valid.json", message.dump());
  json invalid = message;
  invalid["payload"].erase("deliveredAt");
  dir.write("invalid.json", invalid.dump());

  const CliRun ok =
      cli({"schema", "validate", "--schemas", ORDER_SERVICE_SCHEMA_DIR, dir.file("valid.json")});
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
  EXPECT_EQ(ok.out, dir.file("valid.json") + ": valid\n");
  const CliRun bad = cli({"schema", "validate", "--json", "--schemas", ORDER_SERVICE_SCHEMA_DIR,
                          dir.file("valid.json"), dir.file("invalid.json")});
  EXPECT_EQ(bad.code, 1) << bad.out << bad.err;
  std::istringstream lines(bad.out);
  std::string first;
  std::string second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_TRUE(json::parse(first).at("valid").get<bool>());
  EXPECT_EQ(json::parse(second).at("error"), "payload/deliveredAt: is required but missing");
  EXPECT_EQ(cli({"schema", "validate", "/nonexistent.json"}).code, 2);
}

// ---- asyncapi --------------------------------------------------------------------------------

TEST(AsyncApiCommand, TheCommittedDocumentIsTheGeneratedOne) {
  const fs::path source(ORDER_SERVICE_SOURCE_DIR);
  const CliRun run = cli({"asyncapi", "--schemas", ORDER_SERVICE_SCHEMA_DIR, "--topology",
                          (source / "config/topology.json").string()});
  ASSERT_EQ(run.code, 0) << run.err;
  const fs::path committed = source / "docs/asyncapi.yaml";
  if (const char* update = std::getenv("ORDER_SERVICE_UPDATE_ASYNCAPI"); update && *update) {
    std::ofstream(committed, std::ios::binary) << run.out;
  }
  const std::string text = readText(committed);
  if (text == run.out) return;
  // Name the first line that differs rather than printing two 60 kB documents.
  std::istringstream have(text);
  std::istringstream want(run.out);
  std::string haveLine;
  std::string wantLine;
  int line = 1;
  while (std::getline(have, haveLine) && std::getline(want, wantLine) && haveLine == wantLine)
    ++line;
  ADD_FAILURE() << "docs/asyncapi.yaml is stale from line " << line
                << ":\n  committed: " << haveLine << "\n  generated: " << wantLine
                << "\nRegenerate it with `order-events asyncapi > docs/asyncapi.yaml` (or "
                   "ORDER_SERVICE_UPDATE_ASYNCAPI=1 schema_commands_test).";
}

TEST(AsyncApiCommand, DescribesEveryMessageWithItsBindings) {
  const fs::path source(ORDER_SERVICE_SOURCE_DIR);
  const CliRun run = cli({"asyncapi", "--schemas", ORDER_SERVICE_SCHEMA_DIR, "--topology",
                          (source / "config/topology.json").string()});
  ASSERT_EQ(run.code, 0) << run.err;
  for (const char* type : {"OrderCreatedEvent", "OrderShippedEvent", "OrderRefundProcessedEvent",
                           "PaymentCompletedEvent", "ShipmentDeliveredEvent"}) {
    EXPECT_NE(run.out.find(std::string("  ") + type + "_v1:\n"), std::string::npos) << type;
  }
  EXPECT_NE(run.out.find("$ref: ../schemas/events/OrderCreatedEvent/1.0.json"), std::string::npos);
  EXPECT_NE(run.out.find("deliveryMode: 2"), std::string::npos);
  EXPECT_NE(run.out.find("mandatory: true"), std::string::npos);
  EXPECT_NE(run.out.find("name: payment.events"), std::string::npos);
  EXPECT_NE(run.out.find("name: fulfillment.events"), std::string::npos);
}

TEST(AsyncApiCommand, RefusesSchemasOfTypesNobodyPublishesOrConsumes) {
  SchemaDir dir;
  writeJson(dir.file("events/WidgetEvent/1.0.json"), json{{"type", "object"}});
  const fs::path source(ORDER_SERVICE_SOURCE_DIR);
  const CliRun run = cli({"asyncapi", "--schemas", dir.path(), "--topology",
                          (source / "config/topology.json").string()});
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("events/WidgetEvent/1.0.json: WidgetEvent is neither published"),
            std::string::npos)
      << run.err;
}

}  // namespace
}  // namespace orders
