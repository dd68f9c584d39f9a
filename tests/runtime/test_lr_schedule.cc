#include <gtest/gtest.h>

#include "runtime/lr_schedule.h"

using mlcp::runtime::LrSchedule;

TEST(LrSchedule, ConstantWithWarmup) {
  LrSchedule s{"constant", 0.1, 4, 100, 0.1};
  EXPECT_DOUBLE_EQ(s.at(0), 0.025);
  EXPECT_DOUBLE_EQ(s.at(3), 0.1);
  EXPECT_DOUBLE_EQ(s.at(50), 0.1);
}

TEST(LrSchedule, CosineEndsAtTheFloor) {
  LrSchedule s{"cosine", 1.0, 10, 110, 0.1};
  EXPECT_DOUBLE_EQ(s.at(10), 1.0);
  EXPECT_NEAR(s.at(60), 0.55, 1e-12);  // half way: the mean of 1.0 and the floor 0.1
  EXPECT_NEAR(s.at(110), 0.1, 1e-12);
  for (int64_t i = 11; i < 110; ++i) EXPECT_LE(s.at(i), s.at(i - 1));
}

TEST(LrSchedule, LinearDecay) {
  LrSchedule s{"linear", 2.0, 0, 100, 0.0};
  EXPECT_DOUBLE_EQ(s.at(0), 2.0);
  EXPECT_DOUBLE_EQ(s.at(50), 1.0);
  EXPECT_DOUBLE_EQ(s.at(100), 0.0);
}
