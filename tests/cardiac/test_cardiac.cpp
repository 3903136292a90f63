// Volume curves with known beats: regular and irregular rhythms, partial beats at both ends, R waves,
// invalid frames, outliers, clinician edits; and the EF categories.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "echo/cardiac.hpp"

namespace {

// One beat starting at end-diastole: ejection to ESV over 35% of the beat (half cosine), rapid filling
// to 80% of the refill over the next 25%, slow filling (diastasis) to 88%, then the atrial kick up to
// the next beat's EDV (so the curve is continuous from beat to beat).
double beat_volume(double t, double period, double edv, double esv, double next_edv) {
  const double stroke = edv - esv, refill = next_edv - esv, x = t / period;
  auto ease = [](double f) { return 0.5 - 0.5 * std::cos(3.14159265358979323846 * f); };
  if (x < 0.35) return edv - stroke * ease(x / 0.35);
  if (x < 0.60) return esv + 0.80 * refill * ease((x - 0.35) / 0.25);
  if (x < 0.85) return esv + refill * (0.80 + 0.08 * (x - 0.60) / 0.25);
  return esv + refill * (0.88 + 0.12 * ease((x - 0.85) / 0.15));
}

struct BeatSpec {
  double period_ms, edv, ef_percent;
};

struct Clip {
  std::vector<double> volume, times;
  std::vector<double> ed_times;  // the ED time of every beat spec (the clip may not contain them all)
};

// Samples the beats at `fps`, from `start_ms` to `end_ms` (times relative to the first beat's ED).
Clip make_clip(const std::vector<BeatSpec>& beats, double fps, double start_ms, double end_ms) {
  Clip clip;
  double t = 0;
  for (const BeatSpec& b : beats) clip.ed_times.push_back(t), t += b.period_ms;
  for (double time = start_ms; time <= end_ms + 1e-9; time += 1000.0 / fps) {
    std::size_t k = 0;
    while (k + 1 < beats.size() && clip.ed_times[k + 1] <= time) ++k;
    const BeatSpec& b = beats[k];
    const double next_edv = k + 1 < beats.size() ? beats[k + 1].edv : b.edv;
    clip.volume.push_back(beat_volume(time - clip.ed_times[k], b.period_ms, b.edv, b.edv * (1 - b.ef_percent / 100), next_edv));
    clip.times.push_back(time - start_ms);
  }
  return clip;
}

// The frame of the sampled maximum near an ED time, and of the minimum between two such frames.
int frame_max_near(const Clip& clip, double ed_time_ms, double start_ms, double half_window_ms) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(clip.times.size()); ++i)
    if (std::abs(clip.times[i] + start_ms - ed_time_ms) <= half_window_ms && (best < 0 || clip.volume[i] > clip.volume[best])) best = i;
  return best;
}
int frame_min_between(const Clip& clip, int a, int b) {
  int best = a + 1;
  for (int i = a + 1; i < b; ++i)
    if (clip.volume[i] < clip.volume[best]) best = i;
  return best;
}

struct ExpectedBeat {
  int ed, es;
  double ef;
};

// The beats of specs [first, last] (both EDs inside the clip), from the sampled curve itself.
std::vector<ExpectedBeat> expected_beats(const Clip& clip, const std::vector<BeatSpec>& specs, std::size_t first, std::size_t last,
                                         double start_ms, double fps) {
  std::vector<ExpectedBeat> out;
  for (std::size_t k = first; k <= last; ++k) {
    const int ed = frame_max_near(clip, clip.ed_times[k], start_ms, 600 / fps);
    const int next = frame_max_near(clip, clip.ed_times[k + 1], start_ms, 600 / fps);
    const int es = frame_min_between(clip, ed, next);
    out.push_back({ed, es, 100 * (clip.volume[ed] - clip.volume[es]) / clip.volume[ed]});
  }
  return out;
}

void expect_beats(const echo::CardiacResult& result, const std::vector<ExpectedBeat>& expected) {
  ASSERT_TRUE(result.ok) << result.reason;
  ASSERT_EQ(result.beats.size(), expected.size());
  for (std::size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(result.beats[k].ed_frame, expected[k].ed) << "beat " << k;
    EXPECT_EQ(result.beats[k].es_frame, expected[k].es) << "beat " << k;
    EXPECT_NEAR(result.beats[k].ef_percent, expected[k].ef, 1e-9) << "beat " << k;
    EXPECT_FALSE(result.beats[k].excluded) << result.beats[k].exclusion_reason;
  }
}

const std::vector<BeatSpec> kIrregular = {{800, 120, 55}, {620, 108, 50}, {1050, 131, 59}, {700, 112, 52}, {930, 126, 57},
                                          {560, 104, 47}, {1100, 133, 60}, {760, 118, 54}, {900, 122, 56}};

TEST(Cardiac, RegularRhythmWithPartialBeatsAtBothEnds) {
  for (double bpm : {45.0, 75.0, 140.0}) {
    const double period = 60000 / bpm;
    const std::vector<BeatSpec> specs(6, BeatSpec{period, 120, 55});
    const double start = 0.42 * period, end = 4.55 * period;  // mid-systole to mid-diastole: both ends partial
    const Clip clip = make_clip(specs, 50, start, end);
    const echo::CardiacResult result = echo::analyze_volume_curve(clip.volume, clip.times, {});
    expect_beats(result, expected_beats(clip, specs, 1, 3, start, 50));
    EXPECT_EQ(result.period_source, "autocorrelation");
    EXPECT_NEAR(result.period_ms, period, 0.02 * period) << bpm;
    EXPECT_NEAR(result.heart_rate_bpm, bpm, 0.03 * bpm);
    EXPECT_NEAR(result.ef_mean, 55, 1.0);
  }
}

TEST(Cardiac, IrregularRhythmBeatByBeat) {
  for (double fps : {30.0, 50.0, 80.0}) {
    const double start = 300, end = 6520 + 450;  // inside beat 0 (systole) to inside beat 8 (rapid filling)
    const Clip clip = make_clip(kIrregular, fps, start, end);
    const echo::CardiacResult result = echo::analyze_volume_curve(clip.volume, clip.times, {});
    SCOPED_TRACE(fps);
    expect_beats(result, expected_beats(clip, kIrregular, 1, 7, start, fps));
    EXPECT_GT(result.ef_sd, 2.0);  // the rhythm changes the EF from beat to beat
  }
}

TEST(Cardiac, ClipThatStartsAndEndsAtEndDiastoleKeepsItsBoundaryBeats) {
  const std::vector<BeatSpec> specs(4, BeatSpec{800, 120, 40});
  const Clip clip = make_clip(specs, 50, 0, 2400);  // frame 0 and the last frame are EDs
  const echo::CardiacResult result = echo::analyze_volume_curve(clip.volume, clip.times, {});
  ASSERT_TRUE(result.ok) << result.reason;
  ASSERT_EQ(result.beats.size(), 3u);
  EXPECT_EQ(result.beats.front().ed_frame, 0);
  EXPECT_EQ(result.beats.back().end_frame, static_cast<int>(clip.times.size()) - 1);
  for (const echo::Beat& beat : result.beats) EXPECT_NEAR(beat.ef_percent, 40, 0.5);
}

TEST(Cardiac, PartialBeatsAreLeftOutWhateverThePhase) {
  const std::vector<BeatSpec> specs(5, BeatSpec{900, 110, 60});
  // Start in early systole (frame 0 is a falling maximum, well below ED) and stop in rapid filling.
  const double start = 0.12 * 900, end = 3 * 900 + 0.5 * 900;
  const Clip clip = make_clip(specs, 40, start, end);
  const echo::CardiacResult result = echo::analyze_volume_curve(clip.volume, clip.times, {});
  expect_beats(result, expected_beats(clip, specs, 1, 2, start, 40));
  // Less than one full beat: no complete beat, and the reason says so.
  const Clip short_clip = make_clip(specs, 40, 0.2 * 900, 1.1 * 900);
  const echo::CardiacResult none = echo::analyze_volume_curve(short_clip.volume, short_clip.times, {});
  EXPECT_FALSE(none.ok);
  EXPECT_TRUE(none.beats.empty());
  EXPECT_NE(none.reason.find("no complete heartbeat"), std::string::npos) << none.reason;
}

TEST(Cardiac, RWavesBoundTheBeats) {
  const double start = 300, end = 6520 + 450;
  const Clip clip = make_clip(kIrregular, 50, start, end);
  std::vector<double> r_waves;
  for (double t : clip.ed_times) r_waves.push_back(t - start);  // two of them fall before/after the clip
  r_waves.push_back(-5000);
  const echo::CardiacResult result = echo::analyze_volume_curve(clip.volume, clip.times, r_waves);
  EXPECT_EQ(result.period_source, "r_wave");
  expect_beats(result, expected_beats(clip, kIrregular, 1, 7, start, 50));
}

TEST(Cardiac, NoisyCurveKeyframesWithinOneFrame) {
  const double start = 300, end = 6520 + 450;
  Clip clip = make_clip(kIrregular, 50, start, end);
  const std::vector<ExpectedBeat> clean = expected_beats(clip, kIrregular, 1, 7, start, 50);
  for (std::size_t i = 0; i < clip.volume.size(); ++i) clip.volume[i] *= 1 + 0.006 * std::sin(2.3 * i * i + 0.7);  // +-0.6%
  const echo::CardiacResult result = echo::analyze_volume_curve(clip.volume, clip.times, {});
  ASSERT_TRUE(result.ok);
  ASSERT_EQ(result.beats.size(), clean.size());
  for (std::size_t k = 0; k < clean.size(); ++k) {
    EXPECT_LE(std::abs(result.beats[k].ed_frame - clean[k].ed), 1);
    EXPECT_LE(std::abs(result.beats[k].es_frame - clean[k].es), 1);
    EXPECT_NEAR(result.beats[k].ef_percent, clean[k].ef, 1.0);
  }
}

// A segmentation that leaks for one frame (through the opening mitral valve at the atrial kick) makes a
// one-frame spike well above the EDV; it must not become the ED frame (seen on phantoms: ED 3-4 frames early).
TEST(Cardiac, OneFrameSpikeAtTheAtrialKickIsNotEndDiastole) {
  const std::vector<BeatSpec> specs(4, BeatSpec{900, 150, 20});
  const double start = 300, end = 3 * 900 + 450;
  Clip clip = make_clip(specs, 50, start, end);
  const std::vector<ExpectedBeat> clean = expected_beats(clip, specs, 1, 2, start, 50);
  ASSERT_EQ(clean.size(), 2u);
  for (const ExpectedBeat& beat : clean) clip.volume[static_cast<std::size_t>(beat.ed - 4)] += 12;  // 40 % of the stroke
  const echo::CardiacResult result = echo::analyze_volume_curve(clip.volume, clip.times, {});
  ASSERT_TRUE(result.ok) << result.reason;
  ASSERT_EQ(result.beats.size(), clean.size());
  for (std::size_t k = 0; k < clean.size(); ++k) {
    EXPECT_LE(std::abs(result.beats[k].ed_frame - clean[k].ed), 1) << "beat " << k;
    EXPECT_NEAR(result.beats[k].ef_percent, clean[k].ef, 0.5) << "beat " << k;
  }
}

// A low EF at a slow rate leaves a long, flat end-systole in which segmentation noise moves the minimum to
// either end (phantoms: 3 frames off). Here the 200 ms plateau sinks by 0.1 mL per frame, so its minimum is
// its last frame; the options for segmented curves take its middle instead.
TEST(Cardiac, SegmentedCurveOptionsTakeTheMiddleOfAFlatEndSystole) {
  const std::vector<BeatSpec> specs(5, BeatSpec{1330, 140, 18});
  const double start = 200, end = 4 * 1330 + 300;
  Clip clip = make_clip(specs, 50, start, end);
  const std::vector<ExpectedBeat> clean = expected_beats(clip, specs, 1, 3, start, 50);
  for (const ExpectedBeat& beat : clean) {
    const double esv = clip.volume[static_cast<std::size_t>(beat.es)];
    for (int i = beat.es; i <= beat.es + 10; ++i) clip.volume[static_cast<std::size_t>(i)] = esv - 0.1 * (i - beat.es);
  }
  const echo::CardiacResult result =
      echo::analyze_volume_curve(clip.volume, clip.times, {}, echo::cardiac_options_for_segmented_curves());
  ASSERT_TRUE(result.ok) << result.reason;
  ASSERT_EQ(result.beats.size(), clean.size());
  for (std::size_t k = 0; k < clean.size(); ++k) {
    EXPECT_LE(std::abs(result.beats[k].es_frame - (clean[k].es + 5)), 2) << "beat " << k;
    EXPECT_LE(std::abs(result.beats[k].ed_frame - clean[k].ed), 1) << "beat " << k;
  }
}

// A loop of 1.5 periods that starts in mid-systole and ends in mid-diastole holds no ED-to-ED beat, but its
// largest and smallest LV are one cycle's ED and ES.
TEST(Cardiac, LoopExtremesOfALoopWithoutACompleteBeat) {
  const std::vector<BeatSpec> specs(3, BeatSpec{800, 130, 50});
  const double start = 150, end = start + 1.5 * 800;
  const Clip clip = make_clip(specs, 50, start, end);
  const echo::CardiacResult result = echo::analyze_volume_curve(clip.volume, clip.times, {});
  ASSERT_TRUE(result.beats.empty()) << result.beats.size() << " beats";
  ASSERT_GT(result.period_ms, 0.0) << result.reason;
  const auto extremes = echo::loop_extremes(result, clip.times);
  ASSERT_TRUE(extremes.has_value());
  EXPECT_NEAR(extremes->ef_percent, 50.0, 3.0);
  EXPECT_EQ(extremes->ed_frame, frame_max_near(clip, 800, start, 100));
  EXPECT_LE(std::abs(extremes->es_frame - frame_min_between(clip, extremes->ed_frame, static_cast<int>(clip.volume.size()))), 1);
  // A loop shorter than the heart period holds no whole cycle: nothing.
  echo::CardiacResult slower = result;
  slower.period_ms = 1.1 * (clip.times.back() - clip.times.front());
  EXPECT_FALSE(echo::loop_extremes(slower, clip.times).has_value());
}

TEST(Cardiac, ExcludesAnOutlierBeatAndSaysWhy) {
  std::vector<BeatSpec> specs(7, BeatSpec{850, 120, 55});
  specs[3].ef_percent = 25;  // e.g. a failed segmentation on that beat
  const Clip clip = make_clip(specs, 50, 400, 6 * 850 + 400);
  const echo::CardiacResult result = echo::analyze_volume_curve(clip.volume, clip.times, {});
  ASSERT_TRUE(result.ok);
  ASSERT_EQ(result.beats.size(), 5u);
  int excluded = 0;
  for (const echo::Beat& beat : result.beats) {
    if (!beat.excluded) continue;
    ++excluded;
    EXPECT_NEAR(beat.ef_percent, 25, 1);
    EXPECT_NE(beat.exclusion_reason.find("median"), std::string::npos) << beat.exclusion_reason;
  }
  EXPECT_EQ(excluded, 1);
  EXPECT_EQ(result.beats_used, 4);
  EXPECT_NEAR(result.ef_mean, 55, 0.5);
  EXPECT_NEAR(result.ef_median, 55, 0.5);
  EXPECT_LT(result.ef_sd, 0.5);
}

TEST(Cardiac, InvalidFramesAreBridgedAndABeatWithoutVolumeIsExcluded) {
  const std::vector<BeatSpec> specs(5, BeatSpec{800, 120, 50});
  const double start = 400;
  Clip clip = make_clip(specs, 50, start, 4 * 800 + 500);
  const std::vector<ExpectedBeat> expected = expected_beats(clip, specs, 1, 3, start, 50);
  clip.volume[static_cast<std::size_t>(expected[0].es + 10)] = NAN;  // in diastole: harmless
  clip.volume[static_cast<std::size_t>(expected[2].es)] = NAN;       // beat 2's ES: its neighbours are valid
  clip.volume[static_cast<std::size_t>(expected[1].es + 1)] = NAN;   // beat 1: next to its ES
  const echo::CardiacResult result = echo::analyze_volume_curve(clip.volume, clip.times, {});
  ASSERT_TRUE(result.ok) << result.reason;
  ASSERT_EQ(result.beats.size(), 3u);
  EXPECT_EQ(result.invalid_frames.size(), 3u);
  EXPECT_FALSE(result.beats[0].excluded);
  EXPECT_EQ(result.beats[0].es_frame, expected[0].es);
  EXPECT_NEAR(result.beats[0].ef_percent, expected[0].ef, 1e-9);
  // The true ES may hide in a frame without volume: such beats are left out, never measured off-peak.
  for (int k : {1, 2}) {
    EXPECT_TRUE(result.beats[k].excluded) << k;
    EXPECT_NE(result.beats[k].exclusion_reason.find("no valid LV volume"), std::string::npos) << result.beats[k].exclusion_reason;
  }
  EXPECT_EQ(result.beats_used, 1);
  EXPECT_NEAR(result.ef_mean, expected[0].ef, 1e-9);
}

TEST(Cardiac, WhenEveryBeatIsExcludedTheReasonNamesEachBeatsReason) {
  const std::vector<BeatSpec> specs(4, BeatSpec{800, 120, 50});
  const double start = 400;
  Clip clip = make_clip(specs, 50, start, 3 * 800 + 500);
  const std::vector<ExpectedBeat> expected = expected_beats(clip, specs, 1, 2, start, 50);
  for (const ExpectedBeat& beat : expected) clip.volume[static_cast<std::size_t>(beat.es)] = NAN;
  const echo::CardiacResult result = echo::analyze_volume_curve(clip.volume, clip.times, {});
  ASSERT_FALSE(result.ok);
  ASSERT_EQ(result.beats.size(), 2u);
  EXPECT_EQ(result.beats_used, 0);
  EXPECT_EQ(result.reason.rfind("all 2 complete beats were excluded: beat 1, ", 0), 0u) << result.reason;
  EXPECT_NE(result.reason.find("; beat 2, " + result.beats[1].exclusion_reason), std::string::npos) << result.reason;
  EXPECT_NE(result.beats[0].exclusion_reason.find("no valid LV volume"), std::string::npos);
  // Beats were delimited, so their exclusions stand: no EF from the loop's extremes around them.
  EXPECT_FALSE(echo::loop_extremes(result, clip.times).has_value());
}

TEST(Cardiac, BadInputGivesAReasonNotACrash) {
  EXPECT_FALSE(echo::analyze_volume_curve({1, 2, 3}, {0, 20}, {}).ok);
  EXPECT_NE(echo::analyze_volume_curve({1, 2, 3}, {0, 20}, {}).reason.find("invalid input"), std::string::npos);
  EXPECT_FALSE(echo::analyze_volume_curve({1, 2, 3}, {0, 20, 10}, {}).ok);
  EXPECT_FALSE(echo::analyze_volume_curve({}, {}, {}).ok);
  const std::vector<double> flat(100, 50.0);
  std::vector<double> times(100);
  for (int i = 0; i < 100; ++i) times[i] = 20.0 * i;
  const echo::CardiacResult result = echo::analyze_volume_curve(flat, times, {});
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.reason.find("does not change"), std::string::npos);
  const std::vector<double> all_nan(100, NAN);
  EXPECT_FALSE(echo::analyze_volume_curve(all_nan, times, {}).ok);
  echo::CardiacOptions bad;
  bad.min_period_ms = 3000;
  EXPECT_NE(echo::analyze_volume_curve(flat, times, {}, bad).reason.find("invalid options"), std::string::npos);
}

TEST(Cardiac, ClinicianEditsAreRecomputedAndRecorded) {
  const std::vector<BeatSpec> specs(6, BeatSpec{850, 120, 55});
  const Clip clip = make_clip(specs, 50, 400, 5 * 850 + 300);
  const echo::CardiacResult automatic = echo::analyze_volume_curve(clip.volume, clip.times, {});
  ASSERT_TRUE(automatic.ok);
  ASSERT_GE(automatic.beats.size(), 3u);
  const int new_es = automatic.beats[1].es_frame + 3;
  const echo::CardiacResult edited = echo::apply_keyframe_edits(automatic, clip.volume, {{1, std::nullopt, new_es}});
  ASSERT_TRUE(edited.ok);
  EXPECT_TRUE(edited.beats[1].edited);
  EXPECT_FALSE(edited.beats[0].edited);
  EXPECT_EQ(edited.beats[1].es_frame, new_es);
  const double edv = clip.volume[edited.beats[1].ed_frame], esv = clip.volume[new_es];
  EXPECT_NEAR(edited.beats[1].ef_percent, 100 * (edv - esv) / edv, 1e-9);
  EXPECT_LT(edited.beats[1].ef_percent, automatic.beats[1].ef_percent);
  EXPECT_NE(edited.ef_mean, automatic.ef_mean);
  ASSERT_EQ(edited.edit_log.size(), 1u);
  EXPECT_NE(edited.edit_log[0].find("ES " + std::to_string(automatic.beats[1].es_frame) + " -> " + std::to_string(new_es)),
            std::string::npos)
      << edited.edit_log[0];

  // An edit naming no beat, or a frame outside the clip, is rejected and logged; the rest stands.
  const echo::CardiacResult partly = echo::apply_keyframe_edits(automatic, clip.volume, {{9, 3, std::nullopt}, {0, -4, std::nullopt}});
  ASSERT_EQ(partly.edit_log.size(), 2u);
  EXPECT_EQ(partly.edit_log[0].rfind("rejected", 0), 0u);
  EXPECT_EQ(partly.edit_log[1].rfind("rejected", 0), 0u);
  EXPECT_EQ(partly.ef_mean, automatic.ef_mean);
  const auto checked = echo::apply_keyframe_edits_checked(automatic, clip.volume, {{9, 3, std::nullopt}});
  ASSERT_FALSE(checked.has_value());
  EXPECT_EQ(checked.error().code, echo::ErrorCode::invalid_argument);
}

TEST(Cardiac, EditedOutlierIsKeptBecauseTheClinicianChoseIt) {
  std::vector<BeatSpec> specs(7, BeatSpec{850, 120, 55});
  specs[3].ef_percent = 25;
  const Clip clip = make_clip(specs, 50, 400, 6 * 850 + 400);
  const echo::CardiacResult automatic = echo::analyze_volume_curve(clip.volume, clip.times, {});
  int outlier = -1;
  for (std::size_t k = 0; k < automatic.beats.size(); ++k)
    if (automatic.beats[k].excluded) outlier = static_cast<int>(k);
  ASSERT_GE(outlier, 0);
  const echo::Beat& beat = automatic.beats[static_cast<std::size_t>(outlier)];
  const echo::CardiacResult edited = echo::apply_keyframe_edits(automatic, clip.volume, {{outlier, beat.ed_frame, beat.es_frame}});
  EXPECT_FALSE(edited.beats[static_cast<std::size_t>(outlier)].excluded);
  EXPECT_EQ(edited.beats_used, automatic.beats_used + 1);
}

TEST(EfCategory, Ase2015RangesBySex) {
  using echo::EfCategory;
  using echo::Sex;
  struct Case {
    double ef;
    Sex sex;
    EfCategory category;
    const char* hf;
  };
  const Case cases[] = {
      {60, Sex::unknown, EfCategory::normal, "HFpEF"},         {52, Sex::male, EfCategory::normal, "HFpEF"},
      {52, Sex::female, EfCategory::mildly_reduced, "HFpEF"},  {53.4, Sex::female, EfCategory::mildly_reduced, "HFpEF"},
      {53.6, Sex::female, EfCategory::normal, "HFpEF"},        {51, Sex::male, EfCategory::mildly_reduced, "HFpEF"},
      {45, Sex::unknown, EfCategory::mildly_reduced, "HFmrEF"}, {41, Sex::male, EfCategory::mildly_reduced, "HFmrEF"},
      {40.4, Sex::male, EfCategory::moderately_reduced, "HFrEF"}, {30, Sex::female, EfCategory::moderately_reduced, "HFrEF"},
      {29.4, Sex::unknown, EfCategory::severely_reduced, "HFrEF"}, {73, Sex::male, EfCategory::hyperdynamic, "HFpEF"},
      {73, Sex::female, EfCategory::normal, "HFpEF"},          {75, Sex::unknown, EfCategory::hyperdynamic, "HFpEF"},
      {49.4, Sex::male, EfCategory::mildly_reduced, "HFmrEF"}, {49.6, Sex::male, EfCategory::mildly_reduced, "HFpEF"},
  };
  for (const Case& c : cases) {
    const echo::EfClassification result = echo::classify_ef(c.ef, c.sex);
    EXPECT_EQ(result.category, c.category) << c.ef << " sex " << static_cast<int>(c.sex);
    EXPECT_STREQ(result.hf_class, c.hf) << c.ef;
    EXPECT_NE(result.basis.find("ASE/EACVI 2015"), std::string::npos);
  }
  EXPECT_NE(echo::classify_ef(52.5, Sex::unknown).basis.find("mildly reduced for women"), std::string::npos);
  EXPECT_NE(echo::classify_ef(60).basis.find("sex not given"), std::string::npos);
  EXPECT_STREQ(echo::classify_ef(35).category_name, "moderately reduced");
}

}  // namespace
