#include "common/ids.hpp"

#include <gtest/gtest.h>

#include <set>

namespace orders {
namespace {

TEST(Ids, RandomUuidsAreVersion4LowerCaseAndDistinct) {
  RandomIdGenerator ids;
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = ids.uuid();
    ASSERT_TRUE(isUuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
    for (char c : id) EXPECT_FALSE(c >= 'A' && c <= 'F');
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(Ids, RecognizesUuidText) {
  EXPECT_TRUE(isUuid("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
  EXPECT_TRUE(isUuid("3FA85F64-5717-4562-B3FC-2C963F66AFA6"));
  EXPECT_FALSE(isUuid("3fa85f64-5717-4562-b3fc-2c963f66afa"));
  EXPECT_FALSE(isUuid("3fa85f64_5717-4562-b3fc-2c963f66afa6"));
  EXPECT_FALSE(isUuid("zfa85f64-5717-4562-b3fc-2c963f66afa6"));
  EXPECT_FALSE(isUuid(""));
}

}  // namespace
}  // namespace orders
