// The gate on phantoms (src/synth): every artefact fails with its own reason, clean phantoms across the
// parameter ranges pass. The LV-based checks get their evidence from the phantom's ground-truth masks,
// as the analyzer gets it from the model's masks.
//
// The confusion table of docs/quality.md comes from the sweep test with more cases:
//   ECHO_PHANTOM_SWEEP=40 ECHO_PHANTOM_SWEEP_ARTEFACTS=6 ECHO_WRITE_DOCS=docs
//       build-qual/tests/quality/test_quality_phantoms --gtest_filter='PhantomGate.Sweep'
// (clean cases, cases per artefact; 6 and 2 by default.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "echo/quality.hpp"
#include "echo/synth.hpp"
#include "test_support.hpp"

namespace {

using echo::Artifact;
using echo::QualityCode;

// The evidence the analyzer would give: view, LV shape at end-diastole, edge contact at ED and ES, period.
echo::LvEvidence evidence_from_truth(const echo::SynthCase& phantom, const echo::Preprocessed& pre) {
  const auto& truth = phantom.truth;
  int ed = 0, es = 0;
  if (!truth.beats.empty()) {
    ed = truth.beats.front().ed_frame;
    es = truth.beats.front().es_frame;
  } else {
    for (std::size_t i = 0; i < truth.frames.size(); ++i) {
      if (truth.frames[i].lv_area_mm2 > truth.frames[ed].lv_area_mm2) ed = static_cast<int>(i);
      if (truth.frames[i].lv_area_mm2 < truth.frames[es].lv_area_mm2) es = static_cast<int>(i);
    }
  }
  echo::LvEvidence lv = echo::measure_lv_shape(truth.frames[ed].lv_mask, pre.sector, truth.mm_per_px, truth.mm_per_px);
  const echo::LvEvidence at_es = echo::measure_lv_shape(truth.frames[es].lv_mask, pre.sector, truth.mm_per_px, truth.mm_per_px);
  if (lv.lv_touching_sector_edge_fraction && at_es.lv_touching_sector_edge_fraction) {
    lv.lv_touching_sector_edge_fraction = std::max(*lv.lv_touching_sector_edge_fraction, *at_es.lv_touching_sector_edge_fraction);
  }
  lv.view = echo::synth_view_name(truth.params.view);
  lv.view_confidence = 1.0;
  lv.estimated_period_ms = 60000.0 / truth.heart_rate_bpm;
  return lv;
}

struct Outcome {
  echo::SynthParams params;
  echo::QualityReport report;
  cv::Mat picture;  // a middle frame (colour when the phantom has it), for the docs montage
};

Outcome run_case(const echo::SynthParams& params) {
  auto phantom = echo::generate_phantom(params);
  EXPECT_TRUE(phantom.has_value()) << (phantom ? "" : phantom.error().message);
  if (!phantom) return {params, {}, {}};
  const auto pre = echo::preprocess(phantom->cine);
  EXPECT_TRUE(pre.has_value());
  if (!pre) return {params, {}, {}};
  Outcome outcome{params, echo::assess_quality(phantom->cine, *pre, {}, evidence_from_truth(*phantom, *pre)), {}};
  const echo::Cine& cine = phantom->cine;
  const int middle = cine.frame_count() / 2;
  const cv::Mat grey(cine.rows, cine.cols, CV_8U, const_cast<std::uint8_t*>(cine.frame(middle)));
  cv::cvtColor(grey, outcome.picture, cv::COLOR_GRAY2BGR);
  for (const auto& colour : cine.color) {
    if (colour.frame_index == middle && colour.rgb.width == cine.cols) {
      const cv::Mat rgb(cine.rows, cine.cols, CV_8UC3, const_cast<std::uint8_t*>(colour.rgb.pixels.data()));
      cv::cvtColor(rgb, outcome.picture, cv::COLOR_RGB2BGR);
    }
  }
  return outcome;
}

// One tile per case: the frame and what the gate said.
cv::Mat tile(const Outcome& outcome, const std::string& title) {
  cv::Mat small;
  cv::resize(outcome.picture, small, cv::Size(240, 180), 0, 0, cv::INTER_AREA);
  std::string verdict = outcome.report.pass ? "pass" : "";
  for (const auto& reason : outcome.report.reasons) {
    if (reason.severity == echo::Severity::reject) verdict += (verdict.empty() ? "" : ", ") + std::string(reason.code_name);
  }
  cv::rectangle(small, cv::Rect(0, 0, 240, 18), cv::Scalar(0, 0, 0), cv::FILLED);
  cv::putText(small, title, cv::Point(3, 13), cv::FONT_HERSHEY_SIMPLEX, 0.42, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  cv::rectangle(small, cv::Rect(0, 162, 240, 18), cv::Scalar(0, 0, 0), cv::FILLED);
  cv::putText(small, "gate: " + verdict, cv::Point(3, 175), cv::FONT_HERSHEY_SIMPLEX, 0.42,
              outcome.report.pass ? cv::Scalar(80, 255, 80) : cv::Scalar(80, 80, 255), 1, cv::LINE_AA);
  return small;
}

// Parameters spread over the generator's ranges, deterministic in `index`.
echo::SynthParams varied_params(int index, std::vector<Artifact> artifacts) {
  static const std::pair<int, int> sizes[] = {{256, 192}, {320, 240}, {400, 300}, {640, 480}, {800, 600}, {300, 300}};
  echo::SynthParams params;
  params.seed = 1000 + static_cast<std::uint64_t>(index) * 7;
  params.view = index % 2 == 0 ? echo::SynthView::a4c : echo::SynthView::a2c;
  params.ef_percent = 15.0 + (index * 37 % 61);           // 15..75
  params.heart_rate_bpm = 45.0 + (index * 53 % 96);       // 45..140
  params.fps = 25.0 + (index * 29 % 76);                  // 25..100
  const auto size = sizes[index % 6];
  params.width = size.first;
  params.height = size.second;
  params.beats = 2;
  params.irregular_rhythm = index % 7 == 3;
  params.overlays = index % 5 != 4;
  params.artifacts = std::move(artifacts);
  return params;
}

// What each artefact must be refused for.
QualityCode expected_code(Artifact artifact) {
  switch (artifact) {
    case Artifact::blur: return QualityCode::blurred;
    case Artifact::overgain: return QualityCode::overgain;
    case Artifact::undergain: return QualityCode::undergain;
    case Artifact::lowcontrast: return QualityCode::low_contrast;
    case Artifact::motion: return QualityCode::probe_motion;
    case Artifact::foreshortened: return QualityCode::foreshortened;
    case Artifact::outside: return QualityCode::lv_cut_off;
    case Artifact::partial: return QualityCode::no_full_beat;
    case Artifact::doppler: return QualityCode::color_doppler;
    case Artifact::offaxis: return QualityCode::non_apical_view;  // not required: reported only
  }
  return QualityCode::no_sector;
}

std::string describe(const Outcome& outcome) {
  std::ostringstream text;
  const auto& p = outcome.params;
  const auto& m = outcome.report.metrics;
  text << echo::synth_view_name(p.view) << " " << p.width << "x" << p.height << " ef " << p.ef_percent << " hr "
       << p.heart_rate_bpm << " fps " << p.fps << " seed " << p.seed << ": rel_sharp " << m.relative_sharpness
       << " sharp " << m.sharpness << " mean " << m.mean_level << " sat " << m.saturated_fraction << " dark "
       << m.dark_fraction << " contrast " << m.contrast_ratio << " motion " << m.motion_fraction << " beats "
       << m.beats << " ->";
  for (const auto& reason : outcome.report.reasons) text << " " << reason.code_name << "=" << reason.value;
  return text.str();
}

// Each reject code once per case (a check can fail on two measures).
std::set<std::string> reject_codes(const echo::QualityReport& report) {
  std::set<std::string> codes;
  for (const auto& reason : report.reasons) {
    if (reason.severity == echo::Severity::reject) codes.insert(reason.code_name);
  }
  return codes;
}

int sweep_size(const char* variable, int fallback) {
  const char* text = std::getenv(variable);
  return text != nullptr ? std::max(1, std::atoi(text)) : fallback;
}

}  // namespace

// Each artefact on two different phantoms fails, and for its own reason.
TEST(PhantomGate, EachArtefactFailsWithItsReason) {
  std::vector<cv::Mat> tiles;
  {
    echo::SynthParams params = varied_params(1, {});
    params.width = 320;
    params.height = 240;
    params.fps = 40;
    const Outcome clean = run_case(params);
    EXPECT_TRUE(clean.report.pass) << describe(clean);
    tiles.push_back(tile(clean, "clean"));
  }
  for (Artifact artifact : echo::all_artifacts()) {
    if (artifact == Artifact::offaxis) continue;  // not a gate requirement (see docs/quality.md)
    for (int index : {1, 2}) {
      echo::SynthParams params = varied_params(index, {artifact});
      params.width = 320;
      params.height = 240;
      params.fps = 40;
      const Outcome outcome = run_case(params);
      EXPECT_FALSE(outcome.report.pass) << echo::artifact_name(artifact) << ": " << describe(outcome);
      EXPECT_TRUE(outcome.report.has(expected_code(artifact)))
          << echo::artifact_name(artifact) << " should give " << echo::quality_code_name(expected_code(artifact))
          << ": " << describe(outcome);
      if (index == 1) tiles.push_back(tile(outcome, echo::artifact_name(artifact)));
    }
  }
  // Montage (docs/quality_artefacts.png with ECHO_WRITE_DOCS=docs).
  while (tiles.size() % 5 != 0) tiles.push_back(cv::Mat::zeros(180, 240, CV_8UC3));
  std::vector<cv::Mat> rows;
  for (std::size_t i = 0; i < tiles.size(); i += 5) {
    cv::Mat row;
    cv::hconcat(std::vector<cv::Mat>(tiles.begin() + static_cast<std::ptrdiff_t>(i), tiles.begin() + static_cast<std::ptrdiff_t>(i + 5)), row);
    rows.push_back(row);
  }
  cv::Mat montage;
  cv::vconcat(rows, montage);
  std::vector<std::filesystem::path> folders = {echo_test::scratch_dir()};
  if (const char* docs = std::getenv("ECHO_WRITE_DOCS")) folders.emplace_back(docs);
  for (const auto& folder : folders) cv::imwrite((folder / "quality_artefacts.png").string(), montage);
}

// Clean phantoms across views, EF, heart rate, frame rate, image size, rhythm and overlays pass (>= 95%),
// and the same phantoms with artefacts fail with the artefact's reason; writes the confusion table.
TEST(PhantomGate, Sweep) {
  const int clean_cases = sweep_size("ECHO_PHANTOM_SWEEP", 6);
  const int artefact_cases = sweep_size("ECHO_PHANTOM_SWEEP_ARTEFACTS", 2);
  std::vector<std::string> rows = {"clean"};
  for (Artifact artifact : echo::all_artifacts()) rows.push_back(echo::artifact_name(artifact));
  std::map<std::string, std::map<std::string, int>> table;  // row -> column -> count
  std::map<std::string, int> totals;
  int clean_passed = 0;
  for (int i = 0; i < clean_cases; ++i) {
    const Outcome outcome = run_case(varied_params(i, {}));
    ++totals["clean"];
    if (outcome.report.pass) {
      ++clean_passed;
      ++table["clean"]["pass"];
    } else {
      // Counted against the 95% requirement below; listed so that each one can be looked at.
      std::cout << "clean phantom refused: " << describe(outcome) << "\n";
    }
    for (const auto& code : reject_codes(outcome.report)) ++table["clean"][code];
  }
  int artefact_hits = 0, artefact_total = 0;
  for (Artifact artifact : echo::all_artifacts()) {
    const std::string row = echo::artifact_name(artifact);
    for (int i = 0; i < artefact_cases; ++i) {
      const Outcome outcome = run_case(varied_params(100 + i * 11 + static_cast<int>(artifact), {artifact}));
      ++totals[row];
      if (outcome.report.pass) ++table[row]["pass"];
      for (const auto& code : reject_codes(outcome.report)) ++table[row][code];
      if (artifact == Artifact::offaxis) continue;
      ++artefact_total;
      if (!outcome.report.pass && outcome.report.has(expected_code(artifact))) {
        ++artefact_hits;
      } else {
        ADD_FAILURE() << row << " not refused as " << echo::quality_code_name(expected_code(artifact)) << ": "
                      << describe(outcome);
      }
    }
  }
  const double clean_pass_rate = static_cast<double>(clean_passed) / clean_cases;
  EXPECT_GE(clean_pass_rate, 0.95);

  // Markdown confusion table: rows = what the phantom has, columns = what the gate said (reject reasons).
  std::vector<std::string> columns = {"pass"};
  for (int code = 0; code <= static_cast<int>(QualityCode::no_sector); ++code) {
    columns.push_back(echo::quality_code_name(static_cast<QualityCode>(code)));
  }
  std::ostringstream md;
  md << "| phantom \\ gate | cases |";
  for (const auto& column : columns) md << " " << column << " |";
  md << "\n|---|---|";
  for (std::size_t c = 0; c < columns.size(); ++c) md << "---|";
  md << "\n";
  for (const auto& row : rows) {
    md << "| " << row << " | " << totals[row] << " |";
    for (const auto& column : columns) {
      const int count = table[row][column];
      md << " " << (count ? std::to_string(count) : "") << " |";
    }
    md << "\n";
  }
  md << "\nClean phantoms passed: " << clean_passed << " / " << clean_cases << " ("
     << 100.0 * clean_pass_rate << "%). Artefact phantoms refused for their own reason: " << artefact_hits << " / "
     << artefact_total << " (offaxis not counted).\n";
  std::cout << md.str();
  std::vector<std::filesystem::path> folders = {echo_test::scratch_dir()};
  if (const char* docs = std::getenv("ECHO_WRITE_DOCS")) folders.emplace_back(docs);
  for (const auto& folder : folders) std::ofstream(folder / "quality_confusion.md") << md.str();
}

// How the classic "variance of the Laplacian < 50 on the 8-bit frame" rule relates to the gate's measures:
// the same phantom frame blurred by a Gaussian of sigma pixels at its own size, measured natively (3x3
// Laplacian inside the eroded sector) and at the metric size. Writes quality_sharpness.md with
// ECHO_WRITE_DOCS. The native measure collapses at about 1.2 px of blur at every image size, whatever
// that means physically; the metric-size measures follow the blur relative to the sector.
TEST(PhantomGate, ClassicSharpnessRuleAcrossImageSizes) {
  std::ostringstream md;
  md << "| image | blur sigma (px) | native var(Laplacian) | metric var(Laplacian) | relative sharpness |\n"
     << "|---|---|---|---|---|\n";
  for (auto [width, height] : {std::pair{320, 240}, std::pair{640, 480}, std::pair{800, 600}}) {
    echo::SynthParams params;
    params.seed = 3;
    params.width = width;
    params.height = height;
    params.frame_count = 4;
    const auto phantom = echo::generate_phantom(params);
    ASSERT_TRUE(phantom.has_value());
    double previous_relative = 1e9;
    for (double sigma : {0.0, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0}) {
      echo::Cine cine = phantom->cine;
      const auto clean_pre = echo::preprocess(cine);
      ASSERT_TRUE(clean_pre.has_value());
      const cv::Mat mask(cine.rows, cine.cols, CV_8U, const_cast<std::uint8_t*>(clean_pre->sector.mask.pixels.data()));
      cv::Mat inner;
      cv::erode(mask, inner, cv::Mat(), cv::Point(-1, -1), 3);
      double native = 0.0;
      for (int f = 0; f < cine.frame_count(); ++f) {
        cv::Mat frame(cine.rows, cine.cols, CV_8U, cine.frame(f));
        if (sigma > 0) {
          cv::Mat blurred;
          cv::GaussianBlur(frame, blurred, cv::Size(0, 0), sigma);
          blurred.copyTo(frame, mask);
        }
        if (f == 0) {
          cv::Mat laplacian;
          cv::Laplacian(frame, laplacian, CV_64F, 1);
          cv::Scalar mean, deviation;
          cv::meanStdDev(laplacian, mean, deviation, inner);
          native = deviation[0] * deviation[0];
        }
      }
      const auto pre = echo::preprocess(cine);
      ASSERT_TRUE(pre.has_value());
      const auto metrics = echo::measure_quality(cine, *pre);
      // Decreasing with blur, down to a floor of a few hundredths (what is left is quantisation noise).
      if (previous_relative > 0.1) {
        EXPECT_LT(metrics.relative_sharpness, previous_relative) << width << "x" << height << " sigma " << sigma;
      }
      previous_relative = metrics.relative_sharpness;
      if (sigma == 0.0) {
        EXPECT_GE(metrics.relative_sharpness, echo::QualityOptions{}.min_relative_sharpness);
      }
      if (sigma == 6.0) {
        EXPECT_LT(metrics.relative_sharpness, echo::QualityOptions{}.min_relative_sharpness);
      }
      if (sigma == 2.0) {
        EXPECT_LT(native, 50.0) << "the classic rule calls a 2-px blur blurred at every size";
      }
      md << "| " << width << "x" << height << " | " << sigma << " | " << native << " | " << metrics.sharpness << " | "
         << metrics.relative_sharpness << " |\n";
    }
  }
  std::cout << md.str();
  std::vector<std::filesystem::path> folders = {echo_test::scratch_dir()};
  if (const char* docs = std::getenv("ECHO_WRITE_DOCS")) folders.emplace_back(docs);
  for (const auto& folder : folders) std::ofstream(folder / "quality_sharpness.md") << md.str();
}

// The detected sector against the phantom's exact fan, with the file's ultrasound region and without it
// (image evidence only), clean and with the artefacts that make the image evidence weak.
TEST(PhantomSector, MatchesTheTrueFan) {
  struct Case {
    int index;
    std::vector<Artifact> artifacts;
  };
  const std::vector<Case> cases = {{0, {}}, {1, {}}, {2, {}}, {3, {Artifact::undergain}}, {4, {Artifact::blur}},
                                   {5, {Artifact::overgain}}};
  for (const auto& c : cases) {
    echo::SynthParams params = varied_params(c.index, c.artifacts);
    params.frame_count = 16;
    auto phantom = echo::generate_phantom(params);
    ASSERT_TRUE(phantom.has_value());
    const auto& fan = phantom->truth.sector;
    const echo::Image8 truth = echo::render_fan_mask(phantom->cine.cols, phantom->cine.rows, fan.apex_px,
                                                     fan.start_radius_px, fan.radius_px, -fan.half_angle_rad,
                                                     fan.half_angle_rad);
    auto iou = [&](const echo::Image8& mask) {
      long long both = 0, either = 0;
      for (std::size_t i = 0; i < mask.pixels.size(); ++i) {
        both += (mask.pixels[i] != 0) && (truth.pixels[i] != 0);
        either += (mask.pixels[i] != 0) || (truth.pixels[i] != 0);
      }
      return either ? static_cast<double>(both) / either : 0.0;
    };
    const echo::SectorGeometry with_region = echo::detect_sector(phantom->cine);
    EXPECT_EQ(with_region.source, "ultrasound_region");
    EXPECT_GT(iou(with_region.mask), 0.93) << "case " << c.index << " " << with_region.note;
    if (!c.artifacts.empty()) continue;  // image-only detection is asked of clean cines
    echo::Cine no_region = phantom->cine;
    no_region.metadata.regions.clear();
    const echo::SectorGeometry from_image = echo::detect_sector(no_region);
    EXPECT_EQ(from_image.source, "image");
    EXPECT_TRUE(from_image.fan) << from_image.note;
    EXPECT_GT(iou(from_image.mask), 0.90) << "case " << c.index << " " << from_image.note;
    EXPECT_NEAR(from_image.apex_px.x, fan.apex_px.x, 0.03 * phantom->cine.cols) << "case " << c.index;
    // The outer beams are dim (element directivity): the opening may come out a few degrees narrow.
    EXPECT_NEAR(from_image.right_angle_rad - from_image.left_angle_rad, 2 * fan.half_angle_rad, 0.12)
        << "case " << c.index;
  }
}
