// GET /v1/schemas and GET /v1/schemas/{messageType}/{version} against the built binary, started
// with OrderCreatedEvent published at 1.0 and 2.0 side by side: the catalogue says what this
// instance publishes, each schema is served byte for byte as published, and the events the
// instance really committed validate against the schemas it serves.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "blackbox/order_request.hpp"
#include "blackbox/outbox_events.hpp"
#include "events/schema_registry.hpp"
#include "support/http_client.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"

namespace orders {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::ServiceProcess;
using testing::TempDir;

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class SchemaEndpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("schema-endpoint");
    service_ = new ServiceProcess(
        ORDER_SERVICE_BINARY,
        {"--database", "sqlite:" + dir_->file("orders.db"), "--no-relay", "--no-consumers",
         "--publish-versions", "OrderCreatedEvent=1.0,2.0", "--log-level", "warn"});
  }
  static void TearDownTestSuite() {
    delete service_;
    delete dir_;
  }
  static HttpClient client() { return HttpClient("127.0.0.1", service_->port()); }

  /// The catalogue entry of `type`.
  static json entryOf(const json& catalogue, const std::string& type) {
    for (const auto& entry : catalogue.at("schemas")) {
      if (entry.at("messageType") == type) return entry;
    }
    ADD_FAILURE() << "no " << type << " in " << catalogue.dump();
    return json::object();
  }
  static json versionOf(const json& entry, const std::string& version) {
    for (const auto& v : entry.at("versions")) {
      if (v.at("version") == version) return v;
    }
    ADD_FAILURE() << "no " << version << " in " << entry.dump();
    return json::object();
  }

  static inline TempDir* dir_ = nullptr;
  static inline ServiceProcess* service_ = nullptr;
};

TEST_F(SchemaEndpointTest, TheCatalogueListsEveryTypeVersionAndItsStatusHere) {
  auto http = client();
  const auto response = http.get("/v1/schemas");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("content-type"), "application/json");
  const json catalogue = json::parse(response.body);
  std::size_t versions = 0;
  for (const auto& entry : catalogue.at("schemas")) versions += entry.at("versions").size();
  std::size_t files = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(ORDER_SERVICE_SCHEMA_DIR))
    files += f.path().extension() == ".json" ? 1 : 0;
  EXPECT_EQ(versions, files) << "every schema file is in the catalogue";

  const json created = entryOf(catalogue, "OrderCreatedEvent");
  EXPECT_EQ(created.at("direction"), "published");
  EXPECT_EQ(versionOf(created, "1.0"),
            json::parse(R"({"version": "1.0", "status": "deprecated", "published": true,
                            "routingKey": "OrderCreatedEvent",
                            "href": "/v1/schemas/OrderCreatedEvent/1.0",
                            "file": "events/OrderCreatedEvent/1.0.json"})"));
  EXPECT_EQ(versionOf(created, "2.0"),
            json::parse(R"({"version": "2.0", "status": "active", "published": true,
                            "routingKey": "OrderCreatedEvent.v2",
                            "href": "/v1/schemas/OrderCreatedEvent/2.0",
                            "file": "events/OrderCreatedEvent/2.0.json"})"));
  EXPECT_EQ(versionOf(entryOf(catalogue, "OrderShippedEvent"), "1.0").at("status"), "active");
  EXPECT_EQ(entryOf(catalogue, "PaymentCompletedEvent").at("direction"), "consumed");
  EXPECT_EQ(entryOf(catalogue, "StandardMessage").at("direction"), "envelope");
}

TEST_F(SchemaEndpointTest, EachSchemaIsServedExactlyAsPublished) {
  auto http = client();
  const json catalogue = json::parse(http.get("/v1/schemas").body);
  for (const auto& entry : catalogue.at("schemas")) {
    for (const auto& v : entry.at("versions")) {
      const auto response = http.get(v.at("href").get<std::string>());
      ASSERT_EQ(response.status, 200) << v.dump();
      EXPECT_EQ(response.header("content-type"), "application/schema+json");
      EXPECT_EQ(response.header("cache-control"), "public, max-age=86400");
      const std::string file = v.at("file");
      const auto path = std::filesystem::path(ORDER_SERVICE_SCHEMA_DIR) / file;
      ASSERT_TRUE(std::filesystem::exists(path)) << file;
      EXPECT_EQ(response.body, readFile(path)) << file;
    }
  }
}

TEST_F(SchemaEndpointTest, UnknownTypesAndVersionsAre404ProblemsThatSayWhatExists) {
  auto http = client();
  const auto type = http.get("/v1/schemas/NoSuchEvent/1.0");
  EXPECT_EQ(type.status, 404);
  EXPECT_EQ(type.header("content-type"), "application/problem+json");
  EXPECT_EQ(json::parse(type.body).at("field"), "messageType");
  const auto version = http.get("/v1/schemas/OrderCreatedEvent/3.0");
  EXPECT_EQ(version.status, 404);
  const json problem = json::parse(version.body);
  EXPECT_EQ(problem.at("field"), "version");
  EXPECT_NE(problem.at("detail").get<std::string>().find("versions: 1.0, 2.0"), std::string::npos)
      << version.body;
  EXPECT_EQ(http.get("/v1/schemas/OrderCreatedEvent/latest").status, 404);
  EXPECT_EQ(http.post("/v1/schemas", "{}").status, 405);
}

TEST_F(SchemaEndpointTest, TheEventsOfARealRunValidateAgainstTheServedSchemas) {
  auto http = client();
  const auto created = http.post("/v1/orders", testing::orderRequest().dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string orderId = json::parse(created.body).at("orderId");

  // A consumer's view: a schema directory rebuilt from nothing but what the endpoint serves.
  TempDir fetched("fetched-schemas");
  const json catalogue = json::parse(http.get("/v1/schemas").body);
  for (const auto& entry : catalogue.at("schemas")) {
    for (const auto& v : entry.at("versions")) {
      const auto file = fetched.path() / v.at("file").get<std::string>();
      std::filesystem::create_directories(file.parent_path());
      std::ofstream(file) << http.get(v.at("href").get<std::string>()).body;
    }
  }
  const auto registry = SchemaRegistry::load(fetched.path().string());
  ASSERT_TRUE(registry.ok()) << registry.error().message;

  const auto events = testing::outboxEvents(dir_->file("orders.db"), orderId);
  std::vector<std::string> versions;
  for (const auto& event : events) {
    const auto valid = registry->validateMessage(event.at("envelope"));
    EXPECT_TRUE(valid.ok()) << (valid.ok() ? "" : valid.error().message) << event.dump();
    if (event.at("messageType") == "OrderCreatedEvent")
      versions.push_back(event.at("messageVersion"));
  }
  EXPECT_EQ(versions, (std::vector<std::string>{"1.0", "2.0"}));
}

}  // namespace
}  // namespace orders
