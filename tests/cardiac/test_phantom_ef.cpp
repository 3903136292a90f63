// On the phantom's ground-truth masks (no model involved): EF per beat, single plane and biplane,
// against the phantom's truth, over 50 cases covering EF 15-75% and heart rate 45-140 bpm (every fifth
// with an irregular, AF-like rhythm). The keyframes come from the volume curve alone (no R waves).
//
// What is compared, per truth beat (docs/measurement.md, "Phantom validation"):
//   single plane: our EF vs the EF of the phantom's own single-plane discs volumes (lv_volume_discs_ml,
//                 from its exact contour) at its ED/ES frames, and vs the 3D truth EF (reported);
//   biplane:      our EF vs the 3D truth EF, and vs the phantom's biplane discs EF (reported);
//   keyframes:    our ED (ES) frame is at most one frame from the truth's ED (ES) plateau: the phantom
//                 holds the volume constant through isovolumic contraction (relaxation), 2-4 frames in
//                 which every frame is equally the largest (smallest); its truth names the first.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "echo/cardiac.hpp"
#include "echo/geometry.hpp"
#include "echo/synth.hpp"

namespace {

constexpr int kCases = 50;
constexpr double kEfTolerancePoints = 0.5;

echo::SynthParams params_for(int index, echo::SynthView view) {
  echo::SynthParams p;
  p.view = view;
  p.ef_percent = 15 + 60.0 * ((index * 37) % kCases) / (kCases - 1);      // 15..75, shuffled against the rate
  p.heart_rate_bpm = 45 + 95.0 * ((index * 13) % kCases) / (kCases - 1);  // 45..140
  p.irregular_rhythm = index % 5 == 4;
  p.seed = 1000 + static_cast<std::uint64_t>(index);
  p.width = 320, p.height = 240;  // LV about 110 px long
  p.fps = 30;
  p.beats = 2;
  p.overlays = false;
  return p;
}

struct Worst {
  double single_vs_discs = 0, single_vs_3d = 0, biplane_vs_3d = 0, biplane_vs_biplane_truth = 0;
  int keyframe_plateau_distance = 0, keyframe_exact_distance = 0, beats = 0;
  double sum_single_vs_discs = 0, sum_single_vs_3d = 0, sum_biplane_vs_3d = 0, sum_biplane_vs_biplane_truth = 0;  // for means
};
Worst g_worst;

double ef(double edv, double esv) { return 100 * (edv - esv) / edv; }

// Frames from `frame` to the nearest frame of the plateau [first, last] of `extreme` volume.
int distance_to_plateau(const std::vector<double>& truth_volume, int truth_frame, int frame) {
  const double extreme = truth_volume[static_cast<std::size_t>(truth_frame)];
  int first = truth_frame, last = truth_frame;
  const auto same = [&](int k) { return std::abs(truth_volume[static_cast<std::size_t>(k)] - extreme) <= 1e-9 * extreme; };
  while (first > 0 && same(first - 1)) --first;
  while (last + 1 < static_cast<int>(truth_volume.size()) && same(last + 1)) ++last;
  return frame < first ? first - frame : frame > last ? frame - last : 0;
}

void check_case(int index) {
  SCOPED_TRACE("phantom case " + std::to_string(index));
  const auto a4c = echo::generate_phantom(params_for(index, echo::SynthView::a4c));
  const auto a2c = echo::generate_phantom(params_for(index, echo::SynthView::a2c));
  ASSERT_TRUE(a4c.has_value()) << a4c.error().message;
  ASSERT_TRUE(a2c.has_value()) << a2c.error().message;
  const echo::SynthTruth& truth = a4c->truth;
  ASSERT_EQ(truth.frames.size(), a2c->truth.frames.size());
  ASSERT_FALSE(truth.beats.empty());
  const echo::PixelSpacing spacing{truth.mm_per_px, truth.mm_per_px};

  std::vector<double> single, biplane, times, truth_discs, truth_biplane, truth_3d;
  for (std::size_t i = 0; i < truth.frames.size(); ++i) {
    const echo::LvGeometry four = echo::measure_lv(truth.frames[i].lv_mask, spacing);
    const echo::LvGeometry two = echo::measure_lv(a2c->truth.frames[i].lv_mask, spacing);
    ASSERT_TRUE(four.valid && two.valid) << "frame " << i << ": " << four.invalid_reason << two.invalid_reason;
    single.push_back(four.volume_discs_ml);
    biplane.push_back(echo::biplane_volume_ml(four, two));
    times.push_back(truth.frames[i].time_ms);
    truth_discs.push_back(truth.frames[i].lv_volume_discs_ml);
    truth_biplane.push_back(echo::biplane_discs_volume_ml(truth.frames[i], a2c->truth.frames[i], truth.mm_per_px));
    truth_3d.push_back(truth.frames[i].lv_volume_ml);
  }
  const echo::CardiacResult single_result = echo::analyze_volume_curve(single, times, {});
  const echo::CardiacResult biplane_result = echo::analyze_volume_curve(biplane, times, {});
  ASSERT_TRUE(single_result.ok) << single_result.reason;
  ASSERT_TRUE(biplane_result.ok) << biplane_result.reason;

  // Each truth beat must be found (our ED within a quarter period of its ED) and no beat invented.
  const double frame_ms = times[1] - times[0];
  const int match_frames = static_cast<int>(0.25 * 60000 / truth.heart_rate_bpm / frame_ms);
  for (const echo::CardiacResult* result : {&single_result, &biplane_result}) {
    const bool is_single = result == &single_result;
    EXPECT_EQ(result->beats.size(), truth.beats.size()) << (is_single ? "single plane" : "biplane");
    for (const echo::SynthBeatTruth& tb : truth.beats) {
      const auto found = std::find_if(result->beats.begin(), result->beats.end(),
                                      [&](const echo::Beat& b) { return std::abs(b.ed_frame - tb.ed_frame) <= match_frames; });
      ASSERT_NE(found, result->beats.end()) << "truth beat with ED " << tb.ed_frame << " not found";
      EXPECT_FALSE(found->excluded) << found->exclusion_reason;
      const int ed_plateau = distance_to_plateau(truth_3d, tb.ed_frame, found->ed_frame);
      const int es_plateau = distance_to_plateau(truth_3d, tb.es_frame, found->es_frame);
      EXPECT_LE(ed_plateau, 1) << "ED " << found->ed_frame << " vs truth " << tb.ed_frame;
      EXPECT_LE(es_plateau, 1) << "ES " << found->es_frame << " vs truth " << tb.es_frame;
      g_worst.keyframe_plateau_distance = std::max({g_worst.keyframe_plateau_distance, ed_plateau, es_plateau});
      g_worst.keyframe_exact_distance =
          std::max({g_worst.keyframe_exact_distance, std::abs(found->ed_frame - tb.ed_frame), std::abs(found->es_frame - tb.es_frame)});
      const auto ed = static_cast<std::size_t>(tb.ed_frame), es = static_cast<std::size_t>(tb.es_frame);
      if (std::getenv("ECHO_PHANTOM_VERBOSE") != nullptr) {
        std::printf("case %d %s: truth ED %d ES %d EF3d %.2f discs %.2f biplane %.2f | ours ED %d ES %d EF %.2f\n", index,
                    is_single ? "single" : "biplane", tb.ed_frame, tb.es_frame, tb.ef_percent, ef(truth_discs[ed], truth_discs[es]),
                    ef(truth_biplane[ed], truth_biplane[es]), found->ed_frame, found->es_frame, found->ef_percent);
        const std::vector<double>& ours = is_single ? single : biplane;
        const std::vector<double>& reference = is_single ? truth_discs : truth_biplane;
        for (int k = std::max(0, tb.ed_frame - 2); k <= tb.es_frame + 2 && k < static_cast<int>(ours.size()); ++k)
          std::printf("   %d: truth3d %.2f ref %.2f ours %.2f\n", k, truth_3d[static_cast<std::size_t>(k)], reference[static_cast<std::size_t>(k)],
                      ours[static_cast<std::size_t>(k)]);
      }
      if (is_single) {
        const double vs_discs = std::abs(found->ef_percent - ef(truth_discs[ed], truth_discs[es]));
        EXPECT_LE(vs_discs, kEfTolerancePoints) << "single plane EF " << found->ef_percent << " vs its discs truth";
        g_worst.single_vs_discs = std::max(g_worst.single_vs_discs, vs_discs);
        g_worst.single_vs_3d = std::max(g_worst.single_vs_3d, std::abs(found->ef_percent - tb.ef_percent));
        g_worst.sum_single_vs_discs += vs_discs;
        g_worst.sum_single_vs_3d += std::abs(found->ef_percent - tb.ef_percent);
        ++g_worst.beats;
      } else {
        const double vs_3d = std::abs(found->ef_percent - tb.ef_percent);
        EXPECT_LE(vs_3d, kEfTolerancePoints) << "biplane EF " << found->ef_percent << " vs 3D truth " << tb.ef_percent;
        g_worst.biplane_vs_3d = std::max(g_worst.biplane_vs_3d, vs_3d);
        const double vs_biplane_truth = std::abs(found->ef_percent - ef(truth_biplane[ed], truth_biplane[es]));
        g_worst.biplane_vs_biplane_truth = std::max(g_worst.biplane_vs_biplane_truth, vs_biplane_truth);
        g_worst.sum_biplane_vs_3d += vs_3d;
        g_worst.sum_biplane_vs_biplane_truth += vs_biplane_truth;
      }
    }
  }
}

void report(const char* group) {
  const double n = std::max(1, g_worst.beats);
  std::printf("[%s] so far %d truth beats: |EF error| worst (mean) single vs its discs truth %.2f (%.2f), single vs 3D %.2f (%.2f), "
              "biplane vs 3D %.2f (%.2f), biplane vs biplane truth %.2f (%.2f) points; keyframes: worst distance to the truth "
              "plateau %d, to the truth frame %d\n",
              group, g_worst.beats, g_worst.single_vs_discs, g_worst.sum_single_vs_discs / n, g_worst.single_vs_3d,
              g_worst.sum_single_vs_3d / n, g_worst.biplane_vs_3d, g_worst.sum_biplane_vs_3d / n, g_worst.biplane_vs_biplane_truth,
              g_worst.sum_biplane_vs_biplane_truth / n, g_worst.keyframe_plateau_distance, g_worst.keyframe_exact_distance);
}

// Five groups of ten, so that ctest can run them side by side. ECHO_PHANTOM_VERBOSE=1 prints every beat
// and the volumes around its keyframes.
TEST(PhantomEf, Cases00to09) { for (int i = 0; i < 10; ++i) check_case(i); report("00-09"); }
TEST(PhantomEf, Cases10to19) { for (int i = 10; i < 20; ++i) check_case(i); report("10-19"); }
TEST(PhantomEf, Cases20to29) { for (int i = 20; i < 30; ++i) check_case(i); report("20-29"); }
TEST(PhantomEf, Cases30to39) { for (int i = 30; i < 40; ++i) check_case(i); report("30-39"); }
TEST(PhantomEf, Cases40to49) { for (int i = 40; i < 50; ++i) check_case(i); report("40-49"); }

}  // namespace
