#include "common/ids.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <vector>

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

TEST(Ids, RandomHexIdsAreLowerCaseHexOfTheLengthAskedAndDistinct) {
  RandomIdGenerator ids;
  std::set<std::string> seen;
  for (const std::size_t digits : {1u, 15u, 16u, 32u, 200u}) {
    for (int i = 0; i < 2000; ++i) {
      const std::string hex = ids.randomHex(digits);
      ASSERT_EQ(hex.size(), digits);
      EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
      if (digits >= 16) {
        EXPECT_TRUE(seen.insert(hex).second) << hex;
      }
    }
  }
  // Every digit value turns up in every position of a 32-digit id (no fixed nibbles, as the
  // digits of a version 4 UUID would have).
  std::vector<std::set<char>> digitsAt(32);
  for (int i = 0; i < 2000; ++i) {
    const std::string hex = ids.randomHex(32);
    for (std::size_t k = 0; k < hex.size(); ++k) digitsAt[k].insert(hex[k]);
  }
  for (std::size_t k = 0; k < digitsAt.size(); ++k) EXPECT_EQ(digitsAt[k].size(), 16u) << k;
}

TEST(Ids, AForkedChildDoesNotRepeatItsParentsIds) {
  RandomIdGenerator ids;
  ids.uuid();  // this thread's buffer is filled before the fork
  int pipeFds[2];
  ASSERT_EQ(::pipe(pipeFds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = ids.uuid();
    const bool written = ::write(pipeFds[1], id.data(), id.size()) == 36;
    ::_exit(written ? 0 : 1);
  }
  ::close(pipeFds[1]);
  const std::string parentId = ids.uuid();  // the same buffer position the child took
  char childId[36];
  ASSERT_EQ(::read(pipeFds[0], childId, sizeof childId), 36);
  ::close(pipeFds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(std::string(childId, sizeof childId), parentId);
}

TEST(Ids, TimeOrderedUuidsAreVersion7WithTheirMillisecondsFirstAndSortByTime) {
  RandomIdGenerator ids;
  // 2023-11-22T12:35:12.487Z = 0x018bf706fde7 ms since 1970.
  const Timestamp at(std::chrono::milliseconds(1'700'656'512'487));
  const std::string id = timeOrderedUuid(at, ids);
  ASSERT_TRUE(isUuid(id)) << id;
  EXPECT_EQ(id.substr(0, 13), "018bf706-fde7") << id;
  EXPECT_EQ(id[14], '7') << id;
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
  EXPECT_EQ(timeOrderedUuid(Timestamp(std::chrono::milliseconds(-5)), ids).substr(0, 13),
            "00000000-0000");
  // Later milliseconds sort later as text; ids of the same millisecond differ.
  std::set<std::string> sameMillisecond;
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    const Timestamp t(std::chrono::milliseconds(1'700'000'000'000 + i * 977));
    const std::string next = timeOrderedUuid(t, ids);
    EXPECT_LT(previous, next);
    previous = next;
    sameMillisecond.insert(timeOrderedUuid(at, ids));
  }
  EXPECT_EQ(sameMillisecond.size(), 1000u);
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
