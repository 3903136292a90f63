// Phantoms the model never saw through the whole analysis: EF, keyframes, refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>

#include "analyzer_fixture.hpp"
#include "echo/report.hpp"

namespace {

int case_count() {
  const char* env = std::getenv("ECHO_E2E_CASES");
  return env != nullptr ? std::max(1, std::atoi(env)) : 10;
}

// Distance in frames from `frame` to the nearest ground-truth keyframe. The phantom holds ED and ES
// volumes flat for a few frames (isovolumic phases) and names the first; every frame of such a plateau
// (3D volume within 0.1% of the stroke volume of the keyframe's) is an equally true keyframe.
int nearest_distance(int frame, const echo::SynthTruth& truth, bool ed) {
  int best = 1 << 20;
  for (const auto& beat : truth.beats) {
    const double keyframe_volume = ed ? beat.edv_ml : beat.esv_ml;
    const double tolerance = 0.001 * (beat.edv_ml - beat.esv_ml);
    const int key = ed ? beat.ed_frame : beat.es_frame;
    for (int f = key; f < static_cast<int>(truth.frames.size()); ++f) {
      if (std::abs(truth.frames[f].lv_volume_ml - keyframe_volume) > tolerance) break;
      best = std::min(best, std::abs(frame - f));
    }
  }
  return best;
}

}  // namespace

// Issue 7: EF mean absolute error <= 3 points over EF 15-75% and HR 45-140 bpm, ED/ES within 2 frames.
// Issue 5 allows the gate to refuse up to 5% of clean phantoms; the error is over the measured ones.
TEST(EndToEnd, PhantomEfWithinThreePointsMeanAbsoluteError) {
  const int cases = case_count();
  double abs_error_sum = 0.0;
  int measured = 0, refused = 0;
  for (int i = 0; i < cases; ++i) {
    const double ef = 15.0 + 60.0 * (i + 0.5) / cases;
    const double hr = 45.0 + 95.0 * std::fmod(i * 0.618034, 1.0);
    const auto phantom = echo_test::phantom(ef, hr, 90000 + i);
    auto result = echo_test::shared_analyzer().analyze(phantom.cine);
    ASSERT_TRUE(result) << result.error().message;
    if (!result->ef_percent) {
      ++refused;
      std::printf("clean phantom %d (EF %.1f, HR %.0f) refused: %s\n", i, ef, hr,
                  echo::report_text(*result, echo::ReportLanguage::en).c_str());
      continue;
    }
    abs_error_sum += std::abs(*result->ef_percent - phantom.truth.ef_percent);
    ++measured;
    for (const auto& beat : result->beats) {
      EXPECT_LE(nearest_distance(beat.ed_frame, phantom.truth, true), 2) << "phantom " << i;
      EXPECT_LE(nearest_distance(beat.es_frame, phantom.truth, false), 2) << "phantom " << i;
    }
    EXPECT_EQ(result->view, "a4c");
    EXPECT_TRUE(result->edv_ml.has_value()) << "phantom calibration is exact: volumes expected";
  }
  ASSERT_GT(measured, 0);
  const double mae = abs_error_sum / measured;
  RecordProperty("ef_mae_points", std::to_string(mae));
  std::printf("EF mean absolute error over %d measured phantoms: %.2f points (%d of %d refused by the gate)\n",
              measured, mae, refused, cases);
  EXPECT_LE(mae, 3.0);
  EXPECT_LE(refused, cases / 20);
}

// Every artefact is refused with its own reason code: ECHO_E2E_CASES / 10 phantoms per artefact (one in CI,
// five in the documented 50-case run), each another seed, heart and image size. Off-axis planes are not a gate
// requirement (docs/quality.md).
TEST(EndToEnd, ArtefactPhantomsAreRefusedWithTheirReason) {
  const std::map<echo::Artifact, std::string> expected = {
      {echo::Artifact::blur, "blurred"},          {echo::Artifact::overgain, "overgain"},
      {echo::Artifact::undergain, "undergain"},   {echo::Artifact::lowcontrast, "low_contrast"},
      {echo::Artifact::motion, "probe_motion"},   {echo::Artifact::partial, "no_full_beat"},
      {echo::Artifact::doppler, "color_doppler"}, {echo::Artifact::foreshortened, "foreshortened"},
      {echo::Artifact::outside, "lv_cut_off"},
  };
  const int per_artifact = std::max(1, case_count() / 10);
  const int sizes[][2] = {{480, 360}, {640, 480}, {800, 600}};
  int refused = 0, total = 0;
  for (int k = 0; k < per_artifact; ++k) {
    std::uint64_t seed = 91000 + 100 * k;
    for (const auto& [artifact, code] : expected) {
      echo::SynthParams params;
      params.ef_percent = 25.0 + 40.0 * std::fmod(0.37 * (k + 1) + 0.11 * total, 1.0);
      params.heart_rate_bpm = 50.0 + 60.0 * std::fmod(0.618034 * (total + 1), 1.0);
      params.seed = seed++;
      params.width = sizes[k % 3][0];
      params.height = sizes[k % 3][1];
      params.artifacts = {artifact};
      auto phantom = echo::generate_phantom(params);
      ASSERT_TRUE(phantom) << phantom.error().message;
      auto result = echo_test::shared_analyzer().analyze(phantom->cine);
      ASSERT_TRUE(result) << result.error().message;
      ++total;
      const std::string name = std::string(echo::artifact_name(artifact)) + " (seed " + std::to_string(params.seed) + ")";
      EXPECT_FALSE(result->quality.pass) << name << " passed the gate";
      EXPECT_FALSE(result->ef_percent.has_value()) << name << ": EF not withheld";
      bool found = false;
      for (const auto& reason : result->quality.reasons) found = found || (code == reason.code_name);
      EXPECT_TRUE(found) << name << ": no '" << code << "' reason in "
                         << echo::report_text(*result, echo::ReportLanguage::en);
      refused += found && !result->ef_percent ? 1 : 0;
    }
  }
  std::printf("artefact phantoms refused with their own reason: %d of %d\n", refused, total);
}

TEST(EndToEnd, SameInputSameReport) {
  const auto phantom = echo_test::phantom(45, 80, 92000);
  auto first = echo_test::shared_analyzer().analyze(phantom.cine);
  auto second = echo_test::shared_analyzer().analyze(phantom.cine);
  ASSERT_TRUE(first && second);
  first->timings = {};
  second->timings = {};
  EXPECT_EQ(echo::report_json(*first), echo::report_json(*second));
}

TEST(EndToEnd, BiplaneUsesBothViews) {
  const auto a4c = echo_test::phantom(50, 70, 93000, echo::SynthView::a4c);
  const auto a2c = echo_test::phantom(50, 70, 93000, echo::SynthView::a2c);
  auto result = echo_test::shared_analyzer().analyze_biplane(a4c.cine, a2c.cine);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(result->biplane);
  ASSERT_TRUE(result->ef_percent) << result->ef_withheld_reason;
  EXPECT_NEAR(*result->ef_percent, a4c.truth.ef_percent, 6.0);
  ASSERT_TRUE(result->edv_ml);
  EXPECT_GT(*result->edv_ml, *result->esv_ml);
}

TEST(EndToEnd, EmptyCineIsAnError) {
  echo::Cine empty;
  auto result = echo_test::shared_analyzer().analyze(empty);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, echo::ErrorCode::invalid_argument);
}

// The VLM path through the analyzer: an EF answer cross-checked against the measured EF on a clean
// phantom, a rejection on an artefact, and the answer text in the report.
TEST(EndToEnd, VlmAnswerIsParsedAndCrossChecked) {
  echo::AnalyzerOptions options;
  options.engine.threads = 1;
  options.enable_vlm = true;
  options.vlm.language = echo::AnswerLanguage::en;
  auto analyzer = echo::EchoAnalyzer::create(options);
  ASSERT_TRUE(analyzer) << analyzer.error().message;

  const auto clean = echo_test::phantom(60, 70, 95000);
  auto result = (*analyzer)->analyze(clean.cine);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_TRUE(result->vlm.has_value());
  EXPECT_EQ(result->vlm->kind, echo::VlmAnswer::Kind::ef) << result->vlm->text;
  ASSERT_TRUE(result->vlm_check.has_value());
  EXPECT_TRUE(result->vlm_check->compared);
  EXPECT_EQ(result->ef_source, "measured");
  EXPECT_NE(echo::report_json(*result).find(result->vlm->text), std::string::npos);

  echo::SynthParams params;
  params.seed = 95001;
  params.width = 480;
  params.height = 360;
  params.artifacts = {echo::Artifact::blur};
  auto blurred = echo::generate_phantom(params);
  ASSERT_TRUE(blurred);
  auto refused = (*analyzer)->analyze(blurred->cine);
  ASSERT_TRUE(refused) << refused.error().message;
  ASSERT_TRUE(refused->vlm.has_value());
  EXPECT_EQ(refused->vlm->kind, echo::VlmAnswer::Kind::rejection) << refused->vlm->text;
  ASSERT_TRUE(refused->vlm_check.has_value());
  EXPECT_FALSE(refused->vlm_check->compared);
}
