// The phantom generator's ground truth must be exact and consistent, its output deterministic, and
// each artefact visible in the pixels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "echo/synth.hpp"
#include "test_support.hpp"

namespace {

echo::SynthParams small_params(std::uint64_t seed = 7, echo::SynthView view = echo::SynthView::a4c) {
  echo::SynthParams p;
  p.seed = seed;
  p.view = view;
  p.width = 320;
  p.height = 240;
  p.fps = 30;
  p.beats = 1;
  return p;
}

echo::SynthCase make(const echo::SynthParams& p) {
  auto c = echo::generate_phantom(p);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  return c ? std::move(*c) : echo::SynthCase{};
}

double mask_area_px(const echo::Image8& m) {
  return static_cast<double>(std::count_if(m.pixels.begin(), m.pixels.end(), [](std::uint8_t v) { return v != 0; }));
}

double contour_area_px(const echo::Contour& c) {
  double a = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const auto& p = c[i];
    const auto& q = c[(i + 1) % c.size()];
    a += p.x * q.y - q.x * p.y;
  }
  return std::abs(0.5 * a);
}

// Mean and standard deviation of the grey values inside the sector.
void sector_stats(const echo::SynthCase& c, int frame, double& mean, double& sd) {
  const auto& s = c.truth.sector;
  double sum = 0, sum2 = 0;
  int n = 0;
  const std::uint8_t* f = c.cine.frame(frame);
  for (int y = 0; y < c.cine.rows; ++y) {
    for (int x = 0; x < c.cine.cols; ++x) {
      const double dx = x - s.apex_px.x, dy = y - s.apex_px.y;
      const double r = std::hypot(dx, dy);
      if (r < s.start_radius_px + 3 || r > s.radius_px - 3 || std::abs(std::atan2(dx, dy)) > s.half_angle_rad - 0.03) continue;
      const double v = f[y * c.cine.cols + x];
      sum += v;
      sum2 += v * v;
      ++n;
    }
  }
  mean = sum / n;
  sd = std::sqrt(std::max(0.0, sum2 / n - mean * mean));
}

// Variance of the 4-neighbour Laplacian inside the sector (the quality gate's blur measure).
double laplacian_variance(const echo::SynthCase& c, int frame) {
  const auto& s = c.truth.sector;
  const std::uint8_t* f = c.cine.frame(frame);
  const int W = c.cine.cols;
  double sum = 0, sum2 = 0;
  int n = 0;
  for (int y = 1; y + 1 < c.cine.rows; ++y) {
    for (int x = 1; x + 1 < W; ++x) {
      const double dx = x - s.apex_px.x, dy = y - s.apex_px.y;
      const double r = std::hypot(dx, dy);
      if (r < s.start_radius_px + 4 || r > s.radius_px - 4 || std::abs(std::atan2(dx, dy)) > s.half_angle_rad - 0.05) continue;
      const double l = f[(y - 1) * W + x] + f[(y + 1) * W + x] + f[y * W + x - 1] + f[y * W + x + 1] - 4.0 * f[y * W + x];
      sum += l;
      sum2 += l * l;
      ++n;
    }
  }
  const double m = sum / n;
  return sum2 / n - m * m;
}

TEST(SynthParams, InvalidValuesAreRefusedWithTheirName) {
  struct Case {
    void (*edit)(echo::SynthParams&);
    const char* word;
  };
  const Case cases[] = {
      {[](echo::SynthParams& p) { p.ef_percent = 5; }, "ef_percent"},
      {[](echo::SynthParams& p) { p.ef_percent = std::nan(""); }, "ef_percent"},
      {[](echo::SynthParams& p) { p.heart_rate_bpm = 200; }, "heart_rate_bpm"},
      {[](echo::SynthParams& p) { p.width = 1024; }, "image size"},
      {[](echo::SynthParams& p) { p.fps = 10; }, "fps"},
      {[](echo::SynthParams& p) { p.beats = 0; }, "beats"},
      {[](echo::SynthParams& p) { p.depth_mm = 20; }, "depth_mm"},
      {[](echo::SynthParams& p) { p.frame_count = -3; }, "frame_count"},
  };
  for (const Case& c : cases) {
    echo::SynthParams p = small_params();
    c.edit(p);
    const auto r = echo::generate_phantom(p);
    ASSERT_FALSE(r.has_value()) << c.word;
    EXPECT_EQ(r.error().code, echo::ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find(c.word), std::string::npos) << r.error().message;
  }
}

TEST(SynthParams, ArtifactNamesRoundTrip) {
  EXPECT_EQ(echo::all_artifacts().size(), 10u);
  for (echo::Artifact a : echo::all_artifacts()) {
    const auto back = echo::artifact_from_name(echo::artifact_name(a));
    ASSERT_TRUE(back.has_value()) << echo::artifact_name(a);
    EXPECT_EQ(*back, a);
  }
  EXPECT_FALSE(echo::artifact_from_name("sparkles").has_value());
  EXPECT_STREQ(echo::artifact_name(echo::Artifact::foreshortened), "foreshortened");
}

TEST(SynthTruth, MaskAreaEqualsContourAreaWithinOnePercent) {
  for (echo::SynthView view : {echo::SynthView::a4c, echo::SynthView::a2c}) {
    for (std::uint64_t seed : {3u, 21u}) {
      const echo::SynthCase c = make(small_params(seed, view));
      ASSERT_FALSE(c.truth.frames.empty());
      for (const auto& f : c.truth.frames) {
        const double contour = contour_area_px(f.lv_contour);
        ASSERT_GT(contour, 500.0);
        EXPECT_NEAR(mask_area_px(f.lv_mask) / contour, 1.0, 0.01) << "seed " << seed;
        EXPECT_NEAR(f.lv_area_mm2, contour * c.truth.mm_per_px * c.truth.mm_per_px, 1e-6 * f.lv_area_mm2);
      }
    }
  }
}

TEST(SynthTruth, RequestedEfIsTheTruthWithinHalfAPoint) {
  const double efs[] = {12, 30, 45, 62, 78};
  const double hrs[] = {45, 70, 95, 120, 148};
  for (int i = 0; i < 5; ++i) {
    echo::SynthParams p = small_params(100 + i);
    p.ef_percent = efs[i];
    p.heart_rate_bpm = hrs[i];
    p.beats = 2;
    p.fps = 25 + 15 * i;
    p.irregular_rhythm = i == 3;
    const echo::SynthCase c = make(p);
    ASSERT_EQ(c.truth.beats.size(), 2u) << "EF " << efs[i];
    EXPECT_NEAR(c.truth.ef_percent, efs[i], 0.5);
    EXPECT_NEAR(c.truth.heart_rate_bpm, hrs[i], 0.01 * hrs[i]);
    for (const auto& b : c.truth.beats) {
      // ED and ES are the largest and smallest volumes of their beat.
      const double next_r = b.r_wave_time_ms + 60000.0 / hrs[i] * 1.5;
      for (std::size_t k = 0; k < c.truth.frames.size(); ++k) {
        const double t = c.truth.frames[k].time_ms;
        if (t < b.r_wave_time_ms || t > next_r) continue;
        if (t < b.r_wave_time_ms + 0.6 * 60000.0 / hrs[i]) {
          EXPECT_LE(c.truth.frames[k].lv_volume_ml, b.edv_ml + 1e-9);
          EXPECT_GE(c.truth.frames[k].lv_volume_ml, b.esv_ml - 1e-9);
        }
      }
      EXPECT_DOUBLE_EQ(c.truth.frames[b.ed_frame].lv_volume_ml, b.edv_ml);
      EXPECT_DOUBLE_EQ(c.truth.frames[b.es_frame].lv_volume_ml, b.esv_ml);
      EXPECT_LT(b.ed_frame, b.es_frame);
      EXPECT_NEAR(b.ef_percent, 100 * (b.edv_ml - b.esv_ml) / b.edv_ml, 1e-9);
    }
  }
}

TEST(SynthTruth, BiplaneDiscsMatchThe3DVolumeOnSmoothShapes) {
  for (std::uint64_t seed : {5u, 17u, 40u}) {
    echo::SynthParams p = small_params(seed, echo::SynthView::a4c);
    p.shape_irregularity = 0;
    p.respiration = false;
    p.width = 640;
    p.height = 480;
    p.frame_count = 1;
    const echo::SynthCase a4c = make(p);
    p.view = echo::SynthView::a2c;
    const echo::SynthCase a2c = make(p);
    ASSERT_EQ(a4c.truth.mm_per_px, a2c.truth.mm_per_px);
    const auto& f4 = a4c.truth.frames[0];
    const auto& f2 = a2c.truth.frames[0];
    EXPECT_DOUBLE_EQ(f4.lv_volume_ml, f2.lv_volume_ml) << "same seed, same heart";
    const double biplane = echo::biplane_discs_volume_ml(f4, f2, a4c.truth.mm_per_px);
    EXPECT_NEAR(biplane / f4.lv_volume_ml, 1.0, 0.03) << "seed " << seed << ": " << biplane << " vs " << f4.lv_volume_ml;
    // Single-plane discs only see one diameter: they differ more, but stay in range.
    EXPECT_NEAR(f4.lv_volume_discs_ml / f4.lv_volume_ml, 1.0, 0.25);
  }
}

TEST(SynthTruth, SameSeedOtherViewIsTheSameHeartThroughTheCycle) {
  const echo::SynthCase a4c = make(small_params(9, echo::SynthView::a4c));
  const echo::SynthCase a2c = make(small_params(9, echo::SynthView::a2c));
  ASSERT_EQ(a4c.truth.frames.size(), a2c.truth.frames.size());
  for (std::size_t i = 0; i < a4c.truth.frames.size(); ++i) {
    EXPECT_DOUBLE_EQ(a4c.truth.frames[i].lv_volume_ml, a2c.truth.frames[i].lv_volume_ml);
  }
  EXPECT_NE(a4c.cine.gray, a2c.cine.gray);
}

TEST(SynthTruth, BaseDescendsTowardTheApexInSystole) {
  echo::SynthParams p = small_params(12);
  p.respiration = false;
  const echo::SynthCase c = make(p);
  ASSERT_FALSE(c.truth.beats.empty());
  const auto& ed = c.truth.frames[c.truth.beats[0].ed_frame];
  const auto& es = c.truth.frames[c.truth.beats[0].es_frame];
  auto long_axis = [](const echo::SynthFrameTruth& f) {
    const double mx = 0.5 * (f.annulus_left_px.x + f.annulus_right_px.x);
    const double my = 0.5 * (f.annulus_left_px.y + f.annulus_right_px.y);
    return std::hypot(f.apex_px.x - mx, f.apex_px.y - my);
  };
  EXPECT_LT(long_axis(es), 0.95 * long_axis(ed));
  // The apex barely moves; the annulus does.
  EXPECT_LT(std::hypot(es.apex_px.x - ed.apex_px.x, es.apex_px.y - ed.apex_px.y), 4.0);
  EXPECT_GT(ed.annulus_left_px.y - es.annulus_left_px.y + ed.annulus_right_px.y - es.annulus_right_px.y, 8.0);
}

TEST(SynthImage, BloodIsDarkAndMyocardiumBright) {
  echo::SynthParams p = small_params(4);
  p.width = 640;
  p.height = 480;
  p.frame_count = 3;
  const echo::SynthCase c = make(p);
  const auto& f = c.truth.frames[0];
  // Inside the cavity (mask eroded) versus a ring just outside the contour (the wall).
  double blood = 0, wall = 0;
  int nb = 0, nw = 0;
  const int W = c.cine.cols;
  const std::uint8_t* g = c.cine.frame(0);
  for (int y = 6; y + 6 < c.cine.rows; ++y) {
    for (int x = 6; x + 6 < W; ++x) {
      const bool in = f.lv_mask.at(x, y) != 0;
      const bool deep = in && f.lv_mask.at(x - 6, y) && f.lv_mask.at(x + 6, y) && f.lv_mask.at(x, y - 6) && f.lv_mask.at(x, y + 6);
      const bool ring = !in && (f.lv_mask.at(x - 6, y) || f.lv_mask.at(x + 6, y)) && y < f.annulus_left_px.y - 10;
      if (deep) blood += g[y * W + x], ++nb;
      if (ring) wall += g[y * W + x], ++nw;
    }
  }
  ASSERT_GT(nb, 1000);
  ASSERT_GT(nw, 200);
  blood /= nb;
  wall /= nw;
  // The real apical frame of docs/phantom.md: cavity about 5, walls 40..100 grey levels.
  EXPECT_LT(blood, 25.0);
  EXPECT_GT(wall, 2.5 * blood);
  EXPECT_GT(wall, blood + 30.0);
}

TEST(SynthImage, SpeckleMovesWithTheTissueInsteadOfBeingRedrawn) {
  echo::SynthParams p = small_params(8);
  p.width = 640;
  p.height = 480;
  p.respiration = false;
  p.overlays = false;
  const echo::SynthCase c = make(p);
  // Consecutive frames in diastasis (little motion) are strongly correlated over the image; a frame of
  // another seed is not.
  const auto& b = c.truth.beats.at(0);
  const int i = b.es_frame + (b.ed_frame > b.es_frame ? (b.ed_frame - b.es_frame) : 12);
  ASSERT_LT(i + 1, c.cine.frame_count());
  auto corr = [&](const std::uint8_t* a, const std::uint8_t* bb) {
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    const std::size_t n = c.cine.frame_bytes();
    for (std::size_t k = 0; k < n; ++k) {
      sa += a[k];
      sb += bb[k];
      saa += double(a[k]) * a[k];
      sbb += double(bb[k]) * bb[k];
      sab += double(a[k]) * bb[k];
    }
    const double ma = sa / n, mb = sb / n;
    return (sab / n - ma * mb) / std::sqrt((saa / n - ma * ma) * (sbb / n - mb * mb));
  };
  // High-pass: remove the anatomy by subtracting a 5x5 box mean, so only speckle is compared.
  auto speckle = [&](const std::uint8_t* f) {
    const int W = c.cine.cols, H = c.cine.rows;
    std::vector<std::uint8_t> out(c.cine.frame_bytes(), 128);
    for (int y = 2; y + 2 < H; ++y) {
      for (int x = 2; x + 2 < W; ++x) {
        int s = 0;
        for (int dy = -2; dy <= 2; ++dy) {
          for (int dx = -2; dx <= 2; ++dx) s += f[(y + dy) * W + x + dx];
        }
        out[y * W + x] = static_cast<std::uint8_t>(std::clamp(128 + f[y * W + x] - s / 25, 0, 255));
      }
    }
    return out;
  };
  const auto s0 = speckle(c.cine.frame(i)), s1 = speckle(c.cine.frame(i + 1));
  echo::SynthParams q = p;
  q.seed = 9;
  const echo::SynthCase other = make(q);
  const auto so = speckle(other.cine.frame(i));
  EXPECT_GT(corr(s0.data(), s1.data()), 0.5);
  EXPECT_LT(std::abs(corr(s0.data(), so.data())), 0.15);
}

TEST(SynthDeterminism, SameSeedSameBytesWhateverTheThreadCount) {
  echo::SynthParams p = small_params(33);
  p.threads = 1;
  const echo::SynthCase a = make(p);
  p.threads = 3;
  const echo::SynthCase b = make(p);
  EXPECT_EQ(a.cine.gray, b.cine.gray);
  ASSERT_EQ(a.cine.color.size(), b.cine.color.size());
  for (std::size_t i = 0; i < a.cine.color.size(); ++i) EXPECT_EQ(a.cine.color[i].rgb.pixels, b.cine.color[i].rgb.pixels);
  ASSERT_EQ(a.truth.frames.size(), b.truth.frames.size());
  for (std::size_t i = 0; i < a.truth.frames.size(); ++i) {
    EXPECT_EQ(a.truth.frames[i].lv_mask.pixels, b.truth.frames[i].lv_mask.pixels);
    EXPECT_EQ(a.truth.frames[i].lv_volume_ml, b.truth.frames[i].lv_volume_ml);
  }
  p.seed = 34;
  const echo::SynthCase c = make(p);
  EXPECT_NE(a.cine.gray, c.cine.gray);
}

TEST(SynthCine, CarriesExactCalibrationTimingAndMetadata) {
  echo::SynthParams p = small_params(2);
  p.fps = 40;
  p.heart_rate_bpm = 75;
  const echo::SynthCase c = make(p);
  const echo::Cine& cine = c.cine;
  EXPECT_EQ(cine.rows, 240);
  EXPECT_EQ(cine.cols, 320);
  EXPECT_EQ(cine.frame_count(), static_cast<int>(c.truth.frames.size()));
  ASSERT_EQ(cine.frame_times_ms.size(), static_cast<std::size_t>(cine.frame_count()));
  for (std::size_t i = 0; i < cine.frame_times_ms.size(); ++i) EXPECT_DOUBLE_EQ(cine.frame_times_ms[i], 25.0 * i);
  EXPECT_EQ(cine.calibration.source, echo::CalibrationSource::synthetic);
  EXPECT_TRUE(cine.calibration.trusted);
  EXPECT_DOUBLE_EQ(cine.calibration.mm_per_px_x, c.truth.mm_per_px);
  EXPECT_DOUBLE_EQ(cine.calibration.mm_per_px_y, c.truth.mm_per_px);
  // The sector is depth_mm deep.
  EXPECT_NEAR(c.truth.sector.radius_px * c.truth.mm_per_px, c.truth.params.depth_mm, 1e-9);
  EXPECT_EQ(cine.metadata.source_kind, "synthetic");
  EXPECT_EQ(cine.metadata.manufacturer, "EchoAnalyzer phantom");
  EXPECT_EQ(cine.metadata.view_hint, "a4c");
  EXPECT_NEAR(cine.metadata.heart_rate_bpm, 75, 1.0);
  ASSERT_EQ(cine.metadata.regions.size(), 1u);
  const echo::UltrasoundRegion& r = cine.metadata.regions[0];
  EXPECT_EQ(r.spatial_format, 1);
  EXPECT_EQ(r.data_type, 1);
  EXPECT_EQ(r.units_x, 3);
  EXPECT_DOUBLE_EQ(r.physical_delta_x, c.truth.mm_per_px / 10.0);
  EXPECT_LE(r.x0, c.truth.sector.apex_px.x - c.truth.sector.radius_px * std::sin(c.truth.sector.half_angle_rad) + 1);
  ASSERT_FALSE(cine.metadata.r_wave_times_ms.empty());
  for (std::size_t i = 0; i < c.truth.beats.size(); ++i) {
    EXPECT_NE(std::find(cine.metadata.r_wave_times_ms.begin(), cine.metadata.r_wave_times_ms.end(),
                        c.truth.beats[i].r_wave_time_ms),
              cine.metadata.r_wave_times_ms.end());
  }
}

// ---------------------------------------------------------------------------------------- artefacts

class SynthArtifacts : public ::testing::Test {
 protected:
  static echo::SynthParams base() {
    echo::SynthParams p = small_params(77);
    p.width = 400;
    p.height = 300;
    p.frame_count = 12;
    return p;
  }
  static echo::SynthCase with(echo::Artifact a) {
    echo::SynthParams p = base();
    p.artifacts = {a};
    echo::SynthCase c = make(p);
    EXPECT_EQ(c.truth.artifacts, std::vector<echo::Artifact>{a});
    return c;
  }
  static void SetUpTestSuite() { clean_ = new echo::SynthCase(make(base())); }
  static void TearDownTestSuite() {
    delete clean_;
    clean_ = nullptr;
  }
  static echo::SynthCase* clean_;
};
echo::SynthCase* SynthArtifacts::clean_ = nullptr;

TEST_F(SynthArtifacts, GainAndContrastChangeTheGreyLevels) {
  double m0, s0, m, s;
  sector_stats(*clean_, 0, m0, s0);
  const echo::SynthCase over = with(echo::Artifact::overgain);
  sector_stats(over, 0, m, s);
  EXPECT_GT(m, m0 + 40) << "overgain";
  const echo::SynthCase under = with(echo::Artifact::undergain);
  sector_stats(under, 0, m, s);
  EXPECT_LT(m, 0.45 * m0) << "undergain";
  const echo::SynthCase low = with(echo::Artifact::lowcontrast);
  sector_stats(low, 0, m, s);
  EXPECT_LT(s, 0.5 * s0) << "lowcontrast";
  EXPECT_GT(m, 40.0) << "lowcontrast is grey, not dark";
}

TEST_F(SynthArtifacts, BlurLowersTheLaplacianVarianceBelowTheRuleOfThumb) {
  const double sharp = laplacian_variance(*clean_, 0);
  const double blurred = laplacian_variance(with(echo::Artifact::blur), 0);
  EXPECT_GT(sharp, 150.0);
  EXPECT_LT(blurred, 50.0);
}

TEST_F(SynthArtifacts, ProbeMotionMovesTheHeartBetweenFrames) {
  auto centroid_jumps = [](const echo::SynthCase& c) {
    double largest = 0;
    for (std::size_t i = 1; i < c.truth.frames.size(); ++i) {
      auto centre = [](const echo::SynthFrameTruth& f) {
        double x = 0, y = 0;
        for (const auto& p : f.lv_contour) x += p.x, y += p.y;
        return std::make_pair(x / f.lv_contour.size(), y / f.lv_contour.size());
      };
      const auto a = centre(c.truth.frames[i - 1]), b = centre(c.truth.frames[i]);
      largest = std::max(largest, std::hypot(a.first - b.first, a.second - b.second) * c.truth.mm_per_px);
    }
    return largest;
  };
  EXPECT_LT(centroid_jumps(*clean_), 2.0);
  EXPECT_GT(centroid_jumps(with(echo::Artifact::motion)), 5.0);
}

TEST_F(SynthArtifacts, ForeshortenedAndOffAxisCutAShorterLv) {
  auto long_axis_mm = [](const echo::SynthCase& c) {
    const auto& f = c.truth.frames[0];
    const double mx = 0.5 * (f.annulus_left_px.x + f.annulus_right_px.x);
    const double my = 0.5 * (f.annulus_left_px.y + f.annulus_right_px.y);
    return std::hypot(f.apex_px.x - mx, f.apex_px.y - my) * c.truth.mm_per_px;
  };
  const double normal = long_axis_mm(*clean_);
  const echo::SynthCase fore = with(echo::Artifact::foreshortened);
  EXPECT_LT(long_axis_mm(fore), 0.8 * normal);
  // The 3D heart is the same: only the plane changed.
  EXPECT_DOUBLE_EQ(fore.truth.frames[0].lv_volume_ml, clean_->truth.frames[0].lv_volume_ml);
  const echo::SynthCase off = with(echo::Artifact::offaxis);
  EXPECT_LT(off.truth.frames[0].lv_area_mm2, 0.9 * clean_->truth.frames[0].lv_area_mm2);
}

TEST_F(SynthArtifacts, OutsidePutsPartOfTheLvOutsideTheSector) {
  auto outside_share = [](const echo::SynthCase& c) {
    const auto& s = c.truth.sector;
    const auto& f = c.truth.frames[0];
    double in = 0, out = 0;
    for (const auto& p : f.lv_contour) {
      const double dx = p.x - s.apex_px.x, dy = p.y - s.apex_px.y;
      (std::abs(std::atan2(dx, dy)) > s.half_angle_rad ? out : in) += 1;
    }
    return out / (in + out);
  };
  EXPECT_EQ(outside_share(*clean_), 0.0);
  EXPECT_GT(outside_share(with(echo::Artifact::outside)), 0.15);
}

TEST_F(SynthArtifacts, PartialHasLessThanOneBeat) {
  const echo::SynthCase c = with(echo::Artifact::partial);
  EXPECT_TRUE(c.truth.beats.empty());
  EXPECT_TRUE(std::isnan(c.truth.ef_percent));
  const double beat_ms = 60000.0 / c.truth.params.heart_rate_bpm;
  EXPECT_LT(c.cine.duration_ms(), beat_ms);
  EXPECT_GE(c.cine.frame_count(), 4);
}

TEST_F(SynthArtifacts, DopplerPaintsColourInsideTheSector) {
  auto saturated_in_sector = [](const echo::SynthCase& c) {
    int n = 0;
    const auto& s = c.truth.sector;
    for (const auto& cf : c.cine.color) {
      const auto& px = cf.rgb.pixels;
      for (int y = 0; y < cf.rgb.height; ++y) {
        for (int x = 0; x < cf.rgb.width; ++x) {
          const double dx = x - s.apex_px.x, dy = y - s.apex_px.y;
          if (std::hypot(dx, dy) > s.radius_px - 2 || std::abs(std::atan2(dx, dy)) > s.half_angle_rad - 0.02) continue;
          const std::uint8_t* p = &px[3 * (static_cast<std::size_t>(y) * cf.rgb.width + x)];
          const int mx = std::max({p[0], p[1], p[2]}), mn = std::min({p[0], p[1], p[2]});
          if (mx - mn > 60) ++n;
        }
      }
    }
    return n;
  };
  const echo::SynthCase c = with(echo::Artifact::doppler);
  ASSERT_EQ(c.cine.color.size(), static_cast<std::size_t>(c.cine.frame_count()));
  EXPECT_EQ(saturated_in_sector(*clean_), 0);
  EXPECT_GT(saturated_in_sector(c), 200 * c.cine.frame_count() / 4);
}

TEST(SynthFiles, TruthJsonAndNpyFollowTheDocumentedLayout) {
  const echo::SynthCase c = make(small_params(6));
  const std::string dir = echo_test::scratch_dir().string();
  ASSERT_TRUE(echo::write_truth_json(c.truth, dir + "/t.truth.json").has_value());
  ASSERT_TRUE(echo::write_masks_npy(c.truth, dir + "/t.lv_masks.npy").has_value());
  ASSERT_TRUE(echo::write_frames_npy(c.cine, dir + "/t.frames.npy").has_value());
  std::ifstream in(dir + "/t.truth.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("format"), "echoanalyzer-phantom-truth");
  EXPECT_EQ(j.at("frames").size(), c.truth.frames.size());
  EXPECT_NEAR(j.at("ef_percent").get<double>(), c.truth.ef_percent, 1e-9);
  EXPECT_EQ(j.at("beats").size(), c.truth.beats.size());
  EXPECT_EQ(j.at("beats")[0].at("ed_frame").get<int>(), c.truth.beats[0].ed_frame);
  EXPECT_EQ(j.at("frames")[0].at("lv_contour_px").size(), c.truth.frames[0].lv_contour.size());
  EXPECT_EQ(j.at("mm_per_px").get<double>(), c.truth.mm_per_px);
  for (const char* name : {"/t.lv_masks.npy", "/t.frames.npy"}) {
    std::ifstream f(dir + name, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ASSERT_GT(bytes.size(), 128u);
    EXPECT_EQ(bytes.substr(1, 5), "NUMPY");
    const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    const std::string header = bytes.substr(10, header_len);
    EXPECT_EQ((10 + header_len) % 64, 0u);
    std::ostringstream shape;
    shape << "'shape': (" << c.truth.frames.size() << ", 240, 320)";
    EXPECT_NE(header.find(shape.str()), std::string::npos) << header;
    EXPECT_NE(header.find("'|u1'"), std::string::npos);
    EXPECT_EQ(bytes.size(), 10 + header_len + c.truth.frames.size() * 240 * 320);
  }
  // Masks are 0/255.
  std::ifstream f(dir + "/t.lv_masks.npy", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::size_t data_start = 10 + (static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8));
  EXPECT_TRUE(std::all_of(bytes.begin() + data_start, bytes.end(), [](char v) { return v == 0 || v == static_cast<char>(255); }));
  EXPECT_FALSE(echo::write_truth_json(c.truth, dir + "/no/such/dir/t.json").has_value());
}

}  // namespace
