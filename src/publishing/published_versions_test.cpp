#include "publishing/published_versions.hpp"

#include <gtest/gtest.h>

#include "events/order_event_types.hpp"

namespace orders {
namespace {

TEST(PublishedVersions, ByDefaultEveryTypeIsPublishedAtItsCurrentMajorOnly) {
  const PublishedVersions defaults;
  for (const auto type : kOrderEventTypes) {
    EXPECT_EQ(defaults.of(type), std::vector<std::string>{"1.0"}) << type;
    EXPECT_FALSE(defaults.supersedes(type, 1)) << type;
  }
  EXPECT_TRUE(defaults.of("PaymentCompletedEvent").empty()) << "not published by us";
  EXPECT_EQ(defaults.describeChanges(), "");
}

TEST(PublishedVersions, ATypeCanBePublishedAtTwoMajorsSideBySide) {
  auto parsed = PublishedVersions::parse({"OrderCreatedEvent=2.0,1.0"});
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->of("OrderCreatedEvent"), (std::vector<std::string>{"1.0", "2.0"}))
      << "ascending, whatever the order given";
  EXPECT_TRUE(parsed->supersedes("OrderCreatedEvent", 1));
  EXPECT_FALSE(parsed->supersedes("OrderCreatedEvent", 2));
  EXPECT_EQ(parsed->of("OrderShippedEvent"), std::vector<std::string>{"1.0"}) << "untouched";
  EXPECT_EQ(parsed->describeChanges(), "OrderCreatedEvent=1.0,2.0");
}

TEST(PublishedVersions, AfterTheMigrationOnlyTheNewMajorIsPublished) {
  auto parsed = PublishedVersions::parse({" OrderCreatedEvent = 2.0 ;"});
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->of("OrderCreatedEvent"), std::vector<std::string>{"2.0"});
  EXPECT_EQ(parsed->describeChanges(), "OrderCreatedEvent=2.0");
}

TEST(PublishedVersions, SemicolonsSeparateEntriesAsInTheEnvironmentVariable) {
  auto parsed = PublishedVersions::parse({"OrderCreatedEvent=1.0,2.0;OrderShippedEvent=1.0"});
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->of("OrderCreatedEvent").size(), 2u);
}

struct BadEntry {
  const char* entry;
  const char* says;
};

class PublishedVersionsErrors : public ::testing::TestWithParam<BadEntry> {};

TEST_P(PublishedVersionsErrors, NameTheEntryAndWhatIsWrong) {
  auto parsed = PublishedVersions::parse({GetParam().entry}, "--publish-versions");
  ASSERT_FALSE(parsed.ok()) << GetParam().entry;
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().field, "--publish-versions");
  EXPECT_NE(parsed.error().message.find(std::string("'") + GetParam().entry + "'"),
            std::string::npos)
      << parsed.error().message;
  EXPECT_NE(parsed.error().message.find(GetParam().says), std::string::npos)
      << parsed.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Entries, PublishedVersionsErrors,
    ::testing::Values(BadEntry{"OrderCreatedEvent", "no '='"},
                      BadEntry{"OrderCreatedEvnt=1.0", "unknown message type 'OrderCreatedEvnt'"},
                      BadEntry{"OrderCreatedEvent=", "an empty version"},
                      BadEntry{"OrderCreatedEvent=1.0,,2.0", "an empty version"},
                      BadEntry{"OrderCreatedEvent=v2", "'v2' is not MAJOR.MINOR"},
                      BadEntry{"OrderCreatedEvent=3.0", "it renders 1.0, 2.0"},
                      BadEntry{"OrderShippedEvent=2.0",
                               "OrderShippedEvent 2.0 is not a version this build "
                               "renders (it renders 1.0)"},
                      BadEntry{"OrderCreatedEvent=1.0,1.0", "two versions of major 1"}));

TEST(PublishedVersions, ATypeListedTwiceIsRefused) {
  auto parsed = PublishedVersions::parse({"OrderCreatedEvent=1.0", "OrderCreatedEvent=2.0"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("OrderCreatedEvent is listed twice"), std::string::npos)
      << parsed.error().message;
}

TEST(PublishedVersions, EveryNewerMajorIsRenderable) {
  const auto& renderable = renderableVersions();
  EXPECT_EQ(renderable.size(), kOrderEventTypes.size() + kOrderEventNewerMajors.size());
  for (const auto& newer : kOrderEventNewerMajors) {
    std::string entry = std::string(newer.messageType) + "=" + std::string(newer.version);
    EXPECT_TRUE(PublishedVersions::parse({entry}).ok()) << entry;
  }
}

}  // namespace
}  // namespace orders
