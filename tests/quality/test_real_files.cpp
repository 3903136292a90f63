// The gate on real files: colour Doppler loops are refused for that reason.
#include <gtest/gtest.h>

#include "echo/io.hpp"
#include "echo/quality.hpp"
#include "test_support.hpp"

namespace {

echo::QualityReport gate_file(const std::string& name) {
  auto cine = echo::read_dicom_file((echo_test::shared_data_dir() / name).string());
  EXPECT_TRUE(cine.has_value()) << name;
  if (!cine) return {};
  const auto pre = echo::preprocess(*cine);
  EXPECT_TRUE(pre.has_value()) << name;
  return echo::assess_quality(*cine, *pre);
}

}  // namespace

TEST(GateRealFiles, ColourDopplerFilesAreRefusedAsColourDoppler) {
  ECHO_REQUIRE_SHARED_DATA();
  for (const char* name : {"IM00001.implicit_little_endian.dcm", "US-RGB-8-esopecho.dcm"}) {
    const auto report = gate_file(name);
    EXPECT_FALSE(report.pass) << name;
    EXPECT_TRUE(report.has(echo::QualityCode::color_doppler)) << name;
  }
}

TEST(GateRealFiles, SonositeApicalLoopIsNotColourDopplerAndHasASector) {
  ECHO_REQUIRE_SHARED_DATA();
  const auto report = gate_file("examples_ybr_color.dcm");
  EXPECT_FALSE(report.has(echo::QualityCode::color_doppler));
  EXPECT_FALSE(report.has(echo::QualityCode::no_sector));
  // 30 frames at 30 fps and "HeartRate 0": the heart period is unknown without the LV curve.
  EXPECT_NE(std::find(report.not_assessed.begin(), report.not_assessed.end(), "no_full_beat"), report.not_assessed.end());
  EXPECT_GT(report.metrics.sharpness, 0.0);
}
