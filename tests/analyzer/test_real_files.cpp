// Real files (../shared/data/dicom) go through without crashing and give sensible answers.
#include <gtest/gtest.h>

#include <filesystem>

#include "analyzer_fixture.hpp"
#include "echo/report.hpp"
#include "test_support.hpp"

namespace {

bool has_reason(const echo::AnalysisResult& result, const std::string& code) {
  for (const auto& reason : result.quality.reasons) {
    if (code == reason.code_name) return true;
  }
  return false;
}

}  // namespace

// The apical cine's calibration cannot be trusted (regions not rescaled): never volumes in mL, but an EF
// from relative volumes (issue 7). Its 967 ms loop covers a heart period without a delimitable ED-to-ED beat,
// so the EF comes from the loop's largest and smallest LV, and says so.
TEST(RealFiles, ApicalCineGivesContoursAndEfWithoutVolumes) {
  ECHO_REQUIRE_SHARED_DATA();
  const auto path = echo_test::shared_data_dir() / "examples_ybr_color.dcm";
  auto cine = echo::read_file(path.string());
  ASSERT_TRUE(cine) << cine.error().message;
  auto result = echo_test::shared_analyzer().analyze(*cine);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_FALSE(result->edv_ml.has_value());
  EXPECT_FALSE(result->esv_ml.has_value());
  EXPECT_FALSE(result->volumes_unavailable_reason.empty());
  EXPECT_TRUE(result->quality.pass) << echo::report_text(*result, echo::ReportLanguage::en);
  ASSERT_TRUE(result->ef_percent.has_value()) << result->ef_withheld_reason;
  EXPECT_GT(*result->ef_percent, 15.0);
  EXPECT_LT(*result->ef_percent, 85.0);
  EXPECT_EQ(result->ef_basis, "loop_extremes");
  EXPECT_NE(echo::report_text(*result, echo::ReportLanguage::en).find("largest and smallest LV"), std::string::npos);
  const auto dir = echo_test::scratch_dir() / "overlay";
  ASSERT_GE(result->ed.frame, 0) << "no LV contour to show";
  EXPECT_TRUE(result->ed.geometry.valid) << result->ed.geometry.invalid_reason;
  ASSERT_TRUE(echo::write_overlays(*cine, *result, dir.string()));
  EXPECT_TRUE(std::filesystem::exists(dir / "ed.png"));
  std::printf("examples_ybr_color.dcm: %s\n", echo::report_text(*result, echo::ReportLanguage::en).c_str());
}

TEST(RealFiles, ParasternalCineIsRefusedAsNonApical) {
  ECHO_REQUIRE_SHARED_DATA();
  auto result = echo_test::shared_analyzer().analyze_file(
      (echo_test::shared_data_dir() / "US-MONO2-8-8x-execho.dcm").string());
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_FALSE(result->quality.pass);
  EXPECT_FALSE(result->ef_percent.has_value());
  EXPECT_TRUE(has_reason(*result, "non_apical_view")) << echo::report_text(*result, echo::ReportLanguage::en);
}

// Every readable real file goes through the analysis without an exception or a crash.
TEST(RealFiles, EveryReadableFileIsAnalysedOrRefusedCleanly) {
  ECHO_REQUIRE_SHARED_DATA();
  int analysed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(echo_test::shared_data_dir())) {
    if (entry.path().extension() != ".dcm") continue;
    auto result = echo_test::shared_analyzer().analyze_file(entry.path().string());
    if (!result) {
      EXPECT_FALSE(result.error().message.empty()) << entry.path();
      continue;
    }
    ++analysed;
    if (!result->ef_percent) {
      EXPECT_FALSE(result->ef_withheld_reason.empty()) << entry.path();
    }
  }
  EXPECT_GT(analysed, 10);
}
