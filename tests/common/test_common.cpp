#include <gtest/gtest.h>

#include "echo/cine.hpp"
#include "echo/error.hpp"
#include "echo/version.hpp"

TEST(Cine, TimingFromFrameTimes) {
  echo::Cine cine;
  cine.rows = 2;
  cine.cols = 3;
  cine.gray.assign(4 * 6, 0);
  cine.frame_times_ms = {0.0, 20.0, 40.0, 60.0};
  EXPECT_EQ(cine.frame_count(), 4);
  EXPECT_DOUBLE_EQ(cine.mean_frame_interval_ms(), 20.0);
  EXPECT_DOUBLE_EQ(cine.fps(), 50.0);
  EXPECT_DOUBLE_EQ(cine.duration_ms(), 80.0);
}

TEST(Cine, EmptyHasNoFramesAndNoRate) {
  echo::Cine cine;
  EXPECT_EQ(cine.frame_count(), 0);
  EXPECT_DOUBLE_EQ(cine.fps(), 0.0);
}

TEST(Error, CodesHaveStableNames) {
  EXPECT_STREQ(echo::error_code_name(echo::ErrorCode::malformed), "malformed");
  EXPECT_EQ(static_cast<int>(echo::ErrorCode::too_large), -6);
  echo::Expected<int> failed = echo::make_error(echo::ErrorCode::not_found, "x");
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, echo::ErrorCode::not_found);
}

TEST(Version, MatchesProject) {
  EXPECT_STRNE(echo::sdk_version(), "");
  EXPECT_EQ(echo::abi_version(), 1);
}
