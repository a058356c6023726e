// Connection settings without a server: which URLs are accepted, where the password comes from,
// and that no message shows it.

#include "postgres/connection_settings.hpp"

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace orders::postgres {
namespace {

constexpr const char* kSecret = "s3cr3t-MARKER";

TEST(PostgresConnectionSettings, RedactsThePasswordOfTheUserInfoAndOfTheParameter) {
  EXPECT_EQ(redactDatabaseUrl("postgresql://app:s3cr3t-MARKER@db.example:5432/orders"),
            "postgresql://app:***@db.example:5432/orders");
  EXPECT_EQ(redactDatabaseUrl("postgresql://app@db/orders?password=s3cr3t-MARKER&sslmode=require"),
            "postgresql://app@db/orders?password=***&sslmode=require");
  EXPECT_EQ(redactDatabaseUrl("postgresql://app@/orders?host=/tmp&port=5"),
            "postgresql://app@/orders?host=/tmp&port=5");
}

TEST(PostgresConnectionSettings, RefusesWhatIsNotAPostgresUrlWithoutShowingThePassword) {
  auto notPostgres = ConnectionSettings::fromUrl(std::string("mysql://app:") + kSecret + "@db/x");
  ASSERT_FALSE(notPostgres.ok());
  EXPECT_EQ(notPostgres.error().field, "--database");
  EXPECT_EQ(notPostgres.error().message.find(kSecret), std::string::npos)
      << notPostgres.error().message;

  auto badParameter =
      ConnectionSettings::fromUrl(std::string("postgresql://app:") + kSecret + "@db/x?nosuch=1");
  ASSERT_FALSE(badParameter.ok());
  EXPECT_NE(badParameter.error().message.find("nosuch"), std::string::npos)
      << badParameter.error().message;
  EXPECT_EQ(badParameter.error().message.find(kSecret), std::string::npos)
      << badParameter.error().message;
}

TEST(PostgresConnectionSettings, ReadsThePasswordFileFirstLine) {
  testing::TempDir dir;
  dir.write("password", std::string(kSecret) + "\nignored\n");
  auto settings = ConnectionSettings::fromUrl("postgres://app@db/orders", dir.file("password"));
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->filePassword(), kSecret);
  EXPECT_EQ(settings->redacted(), "postgres://app@db/orders");

  auto missing = ConnectionSettings::fromUrl("postgres://app@db/orders", dir.file("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(dir.file("nope")), std::string::npos);
}

}  // namespace
}  // namespace orders::postgres
