#include "publishing/schema_catalogue.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace orders {
namespace {

SchemaCatalogue load(const std::vector<std::string>& versions = {}) {
  auto catalogue =
      SchemaCatalogue::load(ORDER_SERVICE_SCHEMA_DIR, PublishedVersions::parse(versions).value());
  EXPECT_TRUE(catalogue.ok()) << catalogue.error().message;
  return std::move(catalogue).value();
}

TEST(SchemaCatalogue, ListsEverySchemaFileWithItsDirection) {
  const auto catalogue = load();
  std::size_t files = 0;
  for (const auto& entry : catalogue.entries()) files += entry.versions.size();
  EXPECT_EQ(files, 20u) << "13 published types (OrderCreatedEvent twice), 5 inbound, envelope";
  ASSERT_NE(catalogue.find("StandardMessage"), nullptr);
  EXPECT_EQ(catalogue.find("StandardMessage")->direction, "envelope");
  EXPECT_EQ(catalogue.find("PaymentCompletedEvent")->direction, "consumed");
  EXPECT_EQ(catalogue.find("PaymentCompletedEvent", "1.0")->status, "active");
  EXPECT_EQ(catalogue.find("OrderShippedEvent")->direction, "published");
  EXPECT_EQ(catalogue.find("OrderShippedEvent", "1.0")->routingKey, "OrderShippedEvent");
}

TEST(SchemaCatalogue, ServesTheFileExactlyAsPublished) {
  const auto catalogue = load();
  const auto* v2 = catalogue.find("OrderCreatedEvent", "2.0");
  ASSERT_NE(v2, nullptr);
  std::ifstream in(std::string(ORDER_SERVICE_SCHEMA_DIR) + "/events/OrderCreatedEvent/2.0.json");
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_EQ(v2->schema, text.str());
  EXPECT_EQ(v2->file, "events/OrderCreatedEvent/2.0.json");
  EXPECT_EQ(v2->routingKey, "OrderCreatedEvent.v2");
  EXPECT_EQ(catalogue.find("OrderCreatedEvent", "3.0"), nullptr);
  EXPECT_EQ(catalogue.find("NoSuchEvent", "1.0"), nullptr);
}

TEST(SchemaCatalogue, ByDefaultTwoPointZeroIsAvailableAndOnePointZeroActive) {
  const auto catalogue = load();
  const auto* v1 = catalogue.find("OrderCreatedEvent", "1.0");
  const auto* v2 = catalogue.find("OrderCreatedEvent", "2.0");
  EXPECT_EQ(v1->status, "active");
  EXPECT_TRUE(v1->published);
  EXPECT_EQ(v2->status, "available");
  EXPECT_FALSE(v2->published);
}

TEST(SchemaCatalogue, DuringAMigrationTheOlderMajorIsDeprecated) {
  const auto catalogue = load({"OrderCreatedEvent=1.0,2.0"});
  EXPECT_EQ(catalogue.find("OrderCreatedEvent", "1.0")->status, "deprecated");
  EXPECT_TRUE(catalogue.find("OrderCreatedEvent", "1.0")->published);
  EXPECT_EQ(catalogue.find("OrderCreatedEvent", "2.0")->status, "active");
  EXPECT_TRUE(catalogue.find("OrderCreatedEvent", "2.0")->published);
}

TEST(SchemaCatalogue, AfterTheMigrationTheOlderMajorIsOnlyAvailable) {
  const auto catalogue = load({"OrderCreatedEvent=2.0"});
  EXPECT_EQ(catalogue.find("OrderCreatedEvent", "1.0")->status, "available");
  EXPECT_FALSE(catalogue.find("OrderCreatedEvent", "1.0")->published);
  EXPECT_EQ(catalogue.find("OrderCreatedEvent", "2.0")->status, "active");
}

TEST(SchemaCatalogue, AMissingDirectoryIsAClearError) {
  auto catalogue = SchemaCatalogue::load("/nonexistent/schemas", PublishedVersions());
  ASSERT_FALSE(catalogue.ok());
  EXPECT_EQ(catalogue.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace orders
