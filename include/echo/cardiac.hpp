// echo/cardiac.hpp: the LV volume curve over a cine: heart period, heartbeats, end-diastole and
// end-systole, EF per beat and over beats, EF category, and clinician keyframe edits.
// Rules and their reasons: docs/measurement.md.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "echo/error.hpp"

namespace echo {

struct Beat {
  int start_frame = 0, end_frame = 0;  // this ED to the next ED (both included in the clip)
  int ed_frame = 0, es_frame = 0;
  double edv = 0, esv = 0;             // in the unit of the volume curve (mL when calibrated); for automatic
                                       // keyframes the mean over the keyframe's isovolumic plateau (docs/measurement.md)
  double ef_percent = 0;
  bool excluded = false;
  std::string exclusion_reason;
  bool edited = false;                 // keyframes set by a clinician (apply_keyframe_edits)
};

struct CardiacOptions {
  double smoothing_window_ms = 60;  // moving-average window for finding keyframes (EF uses raw volumes)
  // 0: ES is the curve's minimum. > 0: ES is the middle of the frames around the minimum within this share
  // of the stroke above it (a noisy curve's minimum wanders over a long, flat end-systole).
  double es_band_of_stroke = 0;
  double min_period_ms = 300;       // 200 bpm
  double max_period_ms = 2000;      // 30 bpm
  // A beat whose EF differs from the median EF of all complete beats by more than this is excluded
  // (only with 3 or more complete beats: with two, neither can be called the wrong one).
  double outlier_ef_points = 15;
};

// Options for a curve measured from a model's masks (what the analyzer uses). Its frame-to-frame noise
// (a few percent of the volume) moved the minimum by 3 frames inside flat end-systoles of phantoms, so the
// window spans about the isovolumic phases that hold ED and ES (100 ms) and ES is the middle of the trough
// within 10 % of the stroke; the defaults keep clean curves exact to the frame.
inline CardiacOptions cardiac_options_for_segmented_curves() {
  CardiacOptions options;
  options.smoothing_window_ms = 100;
  options.es_band_of_stroke = 0.1;
  return options;
}

struct CardiacResult {
  std::vector<double> curve_smoothed;  // the smoothed volume (or area) curve, one value per frame
  double period_ms = 0;
  std::string period_source;           // "autocorrelation", "r_wave" or "extrema"
  double heart_rate_bpm = 0;
  std::vector<Beat> beats;             // complete beats only
  double ef_mean = 0, ef_sd = 0, ef_median = 0;
  int beats_used = 0;
  bool ok = false;
  std::string reason;                  // why not ok (no complete beat, invalid input, ...)
  std::vector<int> invalid_frames;     // frames whose volume was not finite (bridged for detection only)
  std::vector<std::string> edit_log;   // clinician edits applied or rejected, in order, for audit
  double outlier_ef_points = 15;       // the exclusion rule used (CardiacOptions::outlier_ef_points)
};

// Finds the beats of a volume (or area) curve and their EF. frame_times_ms: one time per frame,
// increasing. r_wave_times_ms: may be empty; when it holds two or more R waves inside the clip, beats
// run from R wave to R wave. Never throws; bad input gives ok=false with the reason.
CardiacResult analyze_volume_curve(const std::vector<double>& volume, const std::vector<double>& frame_times_ms,
                                   const std::vector<double>& r_wave_times_ms, const CardiacOptions& options = {});

// The largest and smallest LV of a loop that covers at least one heart period but has no delimitable ED-to-ED
// beat (its ends are not at end-diastole): found on result.curve_smoothed, 15-85 % of a period apart (a
// systole or a diastole, not two beats), volumes = the smoothed values (a ~100 ms mean, as a beat's keyframe
// volume is the mean over its plateau). Empty when the loop is shorter than a period, the pair is implausible, or
// beats were delimited (all excluded: their reasons stand).
struct LoopExtremes {
  int ed_frame = 0, es_frame = 0;
  double edv = 0, esv = 0, ef_percent = 0;
};
std::optional<LoopExtremes> loop_extremes(const CardiacResult& result, const std::vector<double>& frame_times_ms);

// A clinician's choice of keyframes for one beat; a missing value keeps the automatic frame.
struct KeyframeEdit {
  int beat_index = 0;
  std::optional<int> ed_frame, es_frame;
};

// Recomputes EDV, ESV, EF and the statistics with the edited keyframes. Edited beats are marked
// `edited`, are never excluded as outliers (the clinician's choice stands) and each edit is written to
// edit_log; an edit that names no beat or a frame outside the curve is rejected and logged as such.
CardiacResult apply_keyframe_edits(const CardiacResult& result, const std::vector<double>& volume,
                                   const std::vector<KeyframeEdit>& edits);
// The same, but an invalid edit is an error (ErrorCode::invalid_argument) instead of a logged rejection.
Expected<CardiacResult> apply_keyframe_edits_checked(const CardiacResult& result, const std::vector<double>& volume,
                                                     const std::vector<KeyframeEdit>& edits);

enum class Sex { unknown, male, female };
enum class EfCategory { normal, mildly_reduced, moderately_reduced, severely_reduced, hyperdynamic };

struct EfClassification {
  EfCategory category = EfCategory::normal;
  const char* category_name = "";  // "normal", "mildly reduced", "moderately reduced", "severely reduced", "hyperdynamic"
  std::string basis;               // which ranges were used
  const char* hf_class = "";       // "HFrEF" | "HFmrEF" | "HFpEF" (the EF band, not a diagnosis)
};

// ASE/EACVI 2015 ranges (EF rounded to a whole percent first, as reported):
//   men 52-72 normal, women 54-74 normal; 41-51 (men) / 41-53 (women) mildly; 30-40 moderately;
//   < 30 severely; above the normal range hyperdynamic. Sex unknown: normal 52-74, and the basis says
//   that 52-53 is normal for men but mildly reduced for women.
// Heart-failure EF bands: HFrEF <= 40, HFmrEF 41-49, HFpEF >= 50.
EfClassification classify_ef(double ef_percent, Sex sex = Sex::unknown);

}  // namespace echo
