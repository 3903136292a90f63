#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "echo/report.hpp"
#include "test_support.hpp"

namespace {

echo::QualityReason blurred_reason() {
  echo::QualityReason reason;
  reason.code = echo::QualityCode::blurred;
  reason.code_name = "blurred";
  reason.severity = echo::Severity::reject;
  reason.value = 12.0;
  reason.threshold = 50.0;
  reason.message_en = "image blurred";
  reason.message_zh = "图像模糊";
  return reason;
}

echo::AnalysisResult measured_result(double ef) {
  echo::AnalysisResult result;
  result.quality.pass = true;
  result.quality.score = 0.9;
  result.view = "a4c";
  result.ef_percent = ef;
  result.ef_per_beat = {ef - 1.0, ef + 1.0};
  result.classification = echo::classify_ef(ef);
  result.edv_ml = 120.0;
  result.esv_ml = 120.0 * (1.0 - ef / 100.0);
  echo::BeatResult beat;
  beat.ed_frame = 3;
  beat.es_frame = 17;
  beat.ef_percent = ef;
  result.beats = {beat};
  result.frame_times_ms = {0, 20, 40, 60};
  result.lv_volume_ml = {120, 90, 60, 110};
  return result;
}

echo::AnalysisResult refused_result() {
  echo::AnalysisResult result;
  result.quality.pass = false;
  result.quality.reasons = {blurred_reason()};
  result.ef_withheld_reason = "the image did not pass the quality gate";
  return result;
}

}  // namespace

TEST(ReportText, MeasuredEfInBothLanguages) {
  const auto result = measured_result(52.4);
  const std::string en = echo::report_text(result, echo::ReportLanguage::en);
  const std::string zh = echo::report_text(result, echo::ReportLanguage::zh);
  EXPECT_EQ(en.rfind("LVEF approximately 52% (normal)", 0), 0u) << en;
  EXPECT_EQ(zh.rfind("LVEF约为52%(正常)", 0), 0u) << zh;
  EXPECT_NE(en.find("second opinion"), std::string::npos);
}

TEST(ReportText, ReducedEfNamesTheCategory) {
  const std::string en = echo::report_text(measured_result(25.0), echo::ReportLanguage::en);
  EXPECT_NE(en.find("severely reduced"), std::string::npos) << en;
}

TEST(ReportText, RefusalGivesTheReasons) {
  const auto result = refused_result();
  EXPECT_EQ(echo::report_text(result, echo::ReportLanguage::en), "image not acceptable, reason: image blurred");
  EXPECT_EQ(echo::report_text(result, echo::ReportLanguage::zh), "图像不合格,原因:图像模糊");
}

// A model whose manifest does not claim validation on patients (every bundled one) is disclosed wherever a
// number is given; a site's validated model is not; a refusal gives no number and needs no disclosure.
TEST(ReportText, DisclosesAModelNotValidatedOnPatients) {
  auto result = measured_result(52.4);
  result.model.validated_on_real_patients = false;
  const std::string en = echo::report_text(result, echo::ReportLanguage::en);
  const std::string zh = echo::report_text(result, echo::ReportLanguage::zh);
  EXPECT_NE(en.find("not validated on patient images"), std::string::npos) << en;
  EXPECT_NE(zh.find("尚未经患者图像验证"), std::string::npos) << zh;
  result.model.validated_on_real_patients = true;
  EXPECT_EQ(echo::report_text(result, echo::ReportLanguage::en).find("validated"), std::string::npos);
  EXPECT_EQ(echo::report_text(result, echo::ReportLanguage::zh).find("验证"), std::string::npos);
  EXPECT_EQ(echo::report_text(refused_result(), echo::ReportLanguage::en).find("validated"), std::string::npos);
}

TEST(ReportJson, CarriesTheModelsValidationClaim) {
  auto result = measured_result(60.0);
  const auto unvalidated = nlohmann::json::parse(echo::report_json(result));
  EXPECT_FALSE(unvalidated["model"]["validated_on_real_patients"].get<bool>());
  EXPECT_NE(unvalidated["notice"].get<std::string>().find("not validated on patient images"), std::string::npos);
  result.model.validated_on_real_patients = true;
  const auto validated = nlohmann::json::parse(echo::report_json(result));
  EXPECT_TRUE(validated["model"]["validated_on_real_patients"].get<bool>());
  EXPECT_EQ(validated["notice"].get<std::string>().find("validated"), std::string::npos);
}

TEST(ReportJson, StableKeysAndNullWhenWithheld) {
  const auto measured = nlohmann::json::parse(echo::report_json(measured_result(60.0)));
  EXPECT_DOUBLE_EQ(measured["ef_percent"].get<double>(), 60.0);
  EXPECT_EQ(measured["ef_per_beat"].size(), 2u);
  EXPECT_DOUBLE_EQ(measured["edv_ml"].get<double>(), 120.0);
  EXPECT_TRUE(measured["quality"]["pass"].get<bool>());
  EXPECT_EQ(measured["view"], "a4c");
  EXPECT_EQ(measured["beats"][0]["ed_frame"], 3);
  EXPECT_EQ(measured["beats"][0]["es_frame"], 17);
  EXPECT_TRUE(measured["second_opinion"].get<bool>());

  const auto refused = nlohmann::json::parse(echo::report_json(refused_result()));
  EXPECT_TRUE(refused["ef_percent"].is_null());
  EXPECT_TRUE(refused["edv_ml"].is_null());
  EXPECT_FALSE(refused["quality"]["pass"].get<bool>());
  EXPECT_EQ(refused["quality"]["reasons"][0]["code"], "blurred");
  EXPECT_DOUBLE_EQ(refused["quality"]["reasons"][0]["threshold"].get<double>(), 50.0);
}

TEST(ReportRender, OverlayDrawsOnTheKeyframe) {
  echo::Cine cine;
  cine.rows = 120;
  cine.cols = 160;
  cine.gray.assign(2 * 120 * 160, 40);
  cine.frame_times_ms = {0, 20};
  echo::Image8 mask(160, 120);
  for (int y = 20; y < 100; ++y) {
    for (int x = 50; x < 110; ++x) {
      const double dx = (x - 80) / 30.0, dy = (y - 60) / 40.0;
      if (dx * dx + dy * dy <= 1.0) mask.at(x, y) = 255;
    }
  }
  echo::KeyframeGeometry keyframe{1, echo::measure_lv(mask, {0.5, 0.5})};
  ASSERT_TRUE(keyframe.geometry.valid) << keyframe.geometry.invalid_reason;
  auto image = echo::render_keyframe_overlay(cine, keyframe, "ED");
  ASSERT_TRUE(image) << image.error().message;
  ASSERT_EQ(image->width, 160);
  ASSERT_EQ(image->height, 120);
  int coloured = 0;
  for (std::size_t i = 0; i < image->pixels.size(); i += 3) {
    coloured += (image->pixels[i] != image->pixels[i + 1] || image->pixels[i + 1] != image->pixels[i + 2]) ? 1 : 0;
  }
  EXPECT_GT(coloured, 100);  // contour, axis and discs are drawn in colour on a grey frame

  echo::KeyframeGeometry missing{5, keyframe.geometry};
  EXPECT_FALSE(echo::render_keyframe_overlay(cine, missing, "ES"));
}

TEST(ReportRender, WritesOverlayFiles) {
  echo::Cine cine;
  cine.rows = 64;
  cine.cols = 64;
  cine.gray.assign(4 * 64 * 64, 90);
  cine.frame_times_ms = {0, 20, 40, 60};
  auto result = measured_result(55.0);
  result.ed.frame = 0;
  result.es.frame = 2;
  const auto dir = echo_test::scratch_dir() / "overlay";
  auto written = echo::write_overlays(cine, result, dir.string());
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_TRUE(std::filesystem::exists(dir / "ed.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "es.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "volume_curve.png"));
}
