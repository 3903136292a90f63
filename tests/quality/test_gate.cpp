// The gate on cines built by the test: a clean one passes, each degradation fails with its own reason.
#include <gtest/gtest.h>

#include <sstream>

#include "echo/quality.hpp"
#include "quality_cines.hpp"

namespace {

using echo::QualityCode;
using quality_test::CineSpec;

std::string describe(const echo::QualityReport& report) {
  std::ostringstream text;
  const auto& m = report.metrics;
  text << "pass=" << report.pass << " score=" << report.score << " sharpness=" << m.sharpness
       << " relative_sharpness=" << m.relative_sharpness
       << " mean=" << m.mean_level << " sat=" << m.saturated_fraction << " dark=" << m.dark_fraction
       << " p5=" << m.p5_level << " p95=" << m.p95_level << " contrast=" << m.contrast_ratio
       << " noise=" << m.relative_noise << " motion=" << m.motion_fraction << " beats=" << m.beats
       << " fps=" << m.fps << " reasons:";
  for (const auto& reason : report.reasons) text << " " << reason.code_name << "(" << reason.value << ")";
  return text.str();
}

echo::QualityReport gate(const echo::Cine& cine, const echo::LvEvidence& lv = {}) {
  const auto pre = echo::preprocess(cine);
  EXPECT_TRUE(pre.has_value());
  return echo::assess_quality(cine, *pre, {}, lv);
}

bool only_rejects(const echo::QualityReport& report, std::initializer_list<QualityCode> allowed) {
  for (const auto& reason : report.reasons) {
    if (reason.severity != echo::Severity::reject) continue;
    if (std::find(allowed.begin(), allowed.end(), reason.code) == allowed.end()) return false;
  }
  return true;
}

}  // namespace

TEST(Gate, CleanCinePassesAndListsWhatItCouldNotAssess) {
  for (unsigned seed : {1u, 2u, 3u}) {
    CineSpec spec;
    spec.seed = seed;
    const auto report = gate(quality_test::echo_like_cine(spec));
    EXPECT_TRUE(report.pass) << describe(report);
    EXPECT_GE(report.score, 0.5);
    EXPECT_LE(report.score, 1.0);
    for (const char* code : {"non_apical_view", "lv_cut_off", "foreshortened"}) {
      EXPECT_NE(std::find(report.not_assessed.begin(), report.not_assessed.end(), code), report.not_assessed.end())
          << code;
    }
    EXPECT_EQ(report.metrics.frames_measured, 40);
    EXPECT_NEAR(report.metrics.beats, 40 / 50.0 / (60.0 / 75.0), 1e-9);
  }
}

TEST(Gate, SameSizeIndependence) {
  // The same scene at two sizes gives a similar sharpness: it is measured at the metric size.
  CineSpec small, large;
  large.width = 640;
  large.height = 480;
  const auto a = gate(quality_test::echo_like_cine(small));
  const auto b = gate(quality_test::echo_like_cine(large));
  EXPECT_NEAR(a.metrics.relative_sharpness / b.metrics.relative_sharpness, 1.0, 0.35) << describe(a) << "\n" << describe(b);
  EXPECT_TRUE(b.pass) << describe(b);
}

TEST(Gate, BlurIsRejectedAsBlurred) {
  CineSpec spec;
  echo::Cine cine = quality_test::echo_like_cine(spec);
  quality_test::apply_blur(cine, spec, 4.0);
  const auto report = gate(cine);
  EXPECT_FALSE(report.pass);
  EXPECT_TRUE(report.has(QualityCode::blurred)) << describe(report);
  EXPECT_LT(report.score, 0.5);
}

TEST(Gate, OvergainIsRejected) {
  CineSpec spec;
  echo::Cine cine = quality_test::echo_like_cine(spec);
  quality_test::apply_levels(cine, spec, 2.8, 50);
  const auto report = gate(cine);
  EXPECT_FALSE(report.pass);
  EXPECT_TRUE(report.has(QualityCode::overgain)) << describe(report);
}

TEST(Gate, BrightWallsWithBlackBloodAreNotOvergain) {
  // Real apical loops: bright septum and pericardium (p95 > 180) over black blood pools. Over-gain needs the
  // blood lifted off black too; the same brightness with the darkest 5 % lifted is rejected.
  CineSpec spec;
  echo::Cine bright = quality_test::echo_like_cine(spec);
  quality_test::apply_levels(bright, spec, 1.3, -3);
  const auto bright_report = gate(bright);
  ASSERT_GT(bright_report.metrics.p95_level, 180.0) << describe(bright_report);
  ASSERT_LT(bright_report.metrics.p5_level, 12.0) << describe(bright_report);
  ASSERT_LT(bright_report.metrics.mean_level, 110.0) << describe(bright_report);
  EXPECT_FALSE(bright_report.has(QualityCode::overgain)) << describe(bright_report);

  echo::Cine lifted = quality_test::echo_like_cine(spec);
  quality_test::apply_levels(lifted, spec, 1.3, 16);
  const auto lifted_report = gate(lifted);
  ASSERT_GE(lifted_report.metrics.p5_level, 12.0) << describe(lifted_report);
  EXPECT_TRUE(lifted_report.has(QualityCode::overgain)) << describe(lifted_report);
}

TEST(Gate, UndergainIsRejected) {
  CineSpec spec;
  echo::Cine cine = quality_test::echo_like_cine(spec);
  quality_test::apply_levels(cine, spec, 0.12, 0);  // mean level about 9, like the undergain phantom
  const auto report = gate(cine);
  EXPECT_FALSE(report.pass);
  EXPECT_TRUE(report.has(QualityCode::undergain)) << describe(report);
}

TEST(Gate, LowContrastIsRejected) {
  CineSpec spec;
  echo::Cine cine = quality_test::echo_like_cine(spec);
  quality_test::apply_levels(cine, spec, 0.25, 70);
  const auto report = gate(cine);
  EXPECT_FALSE(report.pass);
  EXPECT_TRUE(report.has(QualityCode::low_contrast)) << describe(report);
  EXPECT_TRUE(only_rejects(report, {QualityCode::low_contrast, QualityCode::blurred})) << describe(report);
}

TEST(Gate, ProbeMotionIsRejected) {
  CineSpec spec;
  spec.jitter_px = 12;  // jumps of up to 12 px (5% of the sector) between frames
  const auto report = gate(quality_test::echo_like_cine(spec));
  EXPECT_FALSE(report.pass);
  EXPECT_TRUE(report.has(QualityCode::probe_motion)) << describe(report);
  EXPECT_TRUE(only_rejects(report, {QualityCode::probe_motion})) << describe(report);
}

TEST(Gate, TimingChecks) {
  CineSpec few;
  few.frames = 6;
  auto report = gate(quality_test::echo_like_cine(few));
  EXPECT_TRUE(report.has(QualityCode::too_few_frames)) << describe(report);

  CineSpec slow;
  slow.fps = 10;
  slow.frames = 20;
  report = gate(quality_test::echo_like_cine(slow));
  EXPECT_TRUE(report.has(QualityCode::low_frame_rate)) << describe(report);
  EXPECT_FALSE(report.has(QualityCode::no_full_beat));  // 2 s at 75 bpm

  CineSpec short_loop;
  short_loop.frames = 30;  // 0.6 s, a beat is 0.8 s
  report = gate(quality_test::echo_like_cine(short_loop));
  EXPECT_TRUE(report.has(QualityCode::no_full_beat)) << describe(report);
  EXPECT_TRUE(only_rejects(report, {QualityCode::no_full_beat})) << describe(report);

  // The period from the LV curve wins over the file's heart rate.
  echo::LvEvidence lv;
  lv.estimated_period_ms = 500;
  report = gate(quality_test::echo_like_cine(short_loop), lv);
  EXPECT_FALSE(report.has(QualityCode::no_full_beat)) << describe(report);
  EXPECT_EQ(report.metrics.period_source, "lv_curve");

  CineSpec no_rate;
  no_rate.heart_rate_bpm = 0;
  report = gate(quality_test::echo_like_cine(no_rate));
  EXPECT_NE(std::find(report.not_assessed.begin(), report.not_assessed.end(), "no_full_beat"), report.not_assessed.end());
}

TEST(Gate, ColourDopplerIsRejected) {
  CineSpec spec;
  echo::Cine cine = quality_test::echo_like_cine(spec);
  echo::ColorFrame colour;
  colour.rgb.width = cine.cols;
  colour.rgb.height = cine.rows;
  colour.rgb.pixels.resize(cine.frame_bytes() * 3);
  for (std::size_t i = 0; i < cine.frame_bytes(); ++i) {
    for (int c = 0; c < 3; ++c) colour.rgb.pixels[3 * i + c] = cine.frame(0)[i];
  }
  cine.color.push_back(colour);
  EXPECT_FALSE(gate(cine).has(QualityCode::color_doppler));  // grey colour frames are B-mode
  for (int y = 80; y < 140; ++y) {
    for (int x = 130; x < 190; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * cine.cols + x;
      cine.color[0].rgb.pixels[3 * i] = 220;
      cine.color[0].rgb.pixels[3 * i + 1] = 30;
      cine.color[0].rgb.pixels[3 * i + 2] = 30;
    }
  }
  const auto report = gate(cine);
  EXPECT_FALSE(report.pass);
  ASSERT_TRUE(report.has(QualityCode::color_doppler)) << describe(report);
  const auto& reason = report.reasons.front();
  EXPECT_EQ(reason.code, QualityCode::color_doppler);
  EXPECT_STREQ(reason.code_name, "color_doppler");
  EXPECT_NE(reason.message_en.find("B-mode"), std::string::npos);
  EXPECT_NE(reason.message_zh.find("彩色多普勒"), std::string::npos);
}

TEST(Gate, LvEvidenceChecks) {
  CineSpec spec;
  const echo::Cine cine = quality_test::echo_like_cine(spec);
  echo::LvEvidence lv;
  lv.view = "other";
  lv.view_confidence = 0.9;
  lv.lv_touching_sector_edge_fraction = 0.2;
  lv.lv_long_axis_px = 60;
  lv.lv_width_px = 50;
  auto report = gate(cine, lv);
  EXPECT_FALSE(report.pass);
  EXPECT_TRUE(report.has(QualityCode::non_apical_view)) << describe(report);
  EXPECT_TRUE(report.has(QualityCode::lv_cut_off)) << describe(report);
  EXPECT_TRUE(report.has(QualityCode::foreshortened)) << describe(report);
  EXPECT_TRUE(report.not_assessed.empty() || std::find(report.not_assessed.begin(), report.not_assessed.end(),
                                                       "foreshortened") == report.not_assessed.end());
  for (const auto& reason : report.reasons) {
    if (reason.code == QualityCode::non_apical_view) {
      EXPECT_NE(reason.message_en.find("non-standard view"), std::string::npos);
      EXPECT_NE(reason.message_zh.find("切面不标准"), std::string::npos);
    }
    if (reason.code == QualityCode::foreshortened) {
      EXPECT_NE(reason.message_zh.find("左心室缩短"), std::string::npos);
    }
  }

  // A good apical LV: long, narrow, inside the fan.
  lv = {};
  lv.view = "a4c";
  lv.view_confidence = 0.95;
  lv.lv_touching_sector_edge_fraction = 0.0;
  lv.lv_long_axis_px = 120;
  lv.lv_width_px = 60;
  lv.apex_roundness = 0.5;
  report = gate(cine, lv);
  EXPECT_TRUE(report.pass) << describe(report);
  EXPECT_TRUE(report.not_assessed.empty()) << report.not_assessed.front();

  // An apical view with low confidence is a warning, not a reject.
  lv.view_confidence = 0.3;
  report = gate(cine, lv);
  EXPECT_TRUE(report.pass);
  ASSERT_TRUE(report.has(QualityCode::non_apical_view));
  EXPECT_EQ(report.reasons.front().severity, echo::Severity::warning);
}

TEST(Gate, ReasonsCarryValueThresholdAndBothLanguages) {
  CineSpec spec;
  echo::Cine cine = quality_test::echo_like_cine(spec);
  quality_test::apply_blur(cine, spec, 4.0);
  const auto report = gate(cine);
  ASSERT_TRUE(report.has(QualityCode::blurred));
  for (const auto& reason : report.reasons) {
    if (reason.code != QualityCode::blurred) continue;
    EXPECT_EQ(reason.severity, echo::Severity::reject);
    EXPECT_LT(reason.value, reason.threshold);
    EXPECT_DOUBLE_EQ(reason.threshold, echo::QualityOptions{}.min_relative_sharpness);
    EXPECT_NE(reason.message_en.find("image blurred"), std::string::npos);
    EXPECT_NE(reason.message_zh.find("图像模糊"), std::string::npos);
  }
  // Thresholds are options: a lenient sharpness threshold lets the same cine through that check.
  echo::QualityOptions lenient;
  lenient.min_relative_sharpness = report.metrics.relative_sharpness * 0.5;
  lenient.min_sharpness = report.metrics.sharpness * 0.5;
  const auto pre = echo::preprocess(cine);
  EXPECT_FALSE(echo::assess_quality(cine, *pre, lenient).has(QualityCode::blurred));
}

TEST(Gate, MismatchedPreprocessingIsANoSectorReject) {
  CineSpec a, b;
  b.frames = 20;
  const echo::Cine cine_a = quality_test::echo_like_cine(a);
  const auto pre_b = echo::preprocess(quality_test::echo_like_cine(b));
  const auto report = echo::assess_quality(cine_a, *pre_b);
  EXPECT_FALSE(report.pass);
  EXPECT_TRUE(report.has(QualityCode::no_sector));
}

TEST(Gate, BlankCineHasNoSector) {
  echo::Cine cine;
  cine.cols = 100;
  cine.rows = 80;
  cine.gray.assign(100 * 80 * 12, 0);
  for (int f = 0; f < 12; ++f) cine.frame_times_ms.push_back(f * 20.0);
  const auto report = gate(cine);
  EXPECT_FALSE(report.pass);
  EXPECT_TRUE(report.has(QualityCode::no_sector));
}

TEST(QualityCodes, StableNames) {
  EXPECT_STREQ(echo::quality_code_name(QualityCode::blurred), "blurred");
  EXPECT_STREQ(echo::quality_code_name(QualityCode::overgain), "overgain");
  EXPECT_STREQ(echo::quality_code_name(QualityCode::no_sector), "no_sector");
  EXPECT_EQ(static_cast<int>(QualityCode::foreshortened), 12);
  EXPECT_EQ(echo::quality_code_from_name("lv_cut_off"), QualityCode::lv_cut_off);
  EXPECT_FALSE(echo::quality_code_from_name("nonsense").has_value());
  EXPECT_STREQ(echo::quality_severity_name(echo::Severity::warning), "warning");
}
