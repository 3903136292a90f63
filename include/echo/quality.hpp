// echo/quality.hpp: the quality gate. Decides whether a cine can support an EF and says why not, with
// stable reason codes, the measured value, the threshold, and messages in English and Chinese.
// A failed gate is a result (QualityReport::pass == false), not an error. See docs/quality.md.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "echo/cine.hpp"
#include "echo/image.hpp"
#include "echo/preprocess.hpp"

namespace echo {

// Stable: the numbers and the string codes (quality_code_name) never change meaning.
enum class QualityCode : int {
  blurred = 0,
  overgain = 1,
  undergain = 2,
  low_contrast = 3,
  noisy = 4,
  too_few_frames = 5,
  low_frame_rate = 6,
  no_full_beat = 7,
  probe_motion = 8,
  color_doppler = 9,
  non_apical_view = 10,
  lv_cut_off = 11,
  foreshortened = 12,
  no_sector = 13,
};

enum class Severity : int { info = 0, warning = 1, reject = 2 };

// "blurred", "overgain", ... (static strings).
const char* quality_code_name(QualityCode code) noexcept;
const char* quality_severity_name(Severity severity) noexcept;  // "info", "warning", "reject"
// The code of a name, for parsing stored results; nullopt when unknown.
std::optional<QualityCode> quality_code_from_name(const std::string& name) noexcept;

struct QualityReason {
  QualityCode code = QualityCode::no_sector;
  const char* code_name = "";  // quality_code_name(code)
  Severity severity = Severity::reject;
  double value = 0.0;          // the measured value (unit in message_en)
  double threshold = 0.0;      // the threshold it crossed
  std::string message_en;      // e.g. "image blurred (sharpness 12.3 < 30.0)"
  std::string message_zh;      // e.g. "图像模糊 (清晰度 12.3 < 30.0)"
};

// Every threshold of the gate, with its unit. Defaults are calibrated on the phantom set and the real
// files (docs/quality.md gives the calibration and the confusion table).
struct QualityOptions {
  // Image metrics are measured on frames resampled to metric_size x metric_size over the sector's square
  // crop (the model input itself when its size is the same), so the thresholds do not depend on the
  // image size. Per-frame values are summarised by their median over the measured frames.
  int metric_size = 112;
  int max_frames_measured = 64;         // frames spread evenly over the cine; the rest add no information

  // Sharpness: variance of the 3x3 Laplacian (0 1 0 / 1 -4 1 / 0 1 0) of grey levels (0..255) at
  // metric_size, over pixels whose 3x3 neighbourhood lies inside the sector. Blurred when the relative
  // sharpness (that variance / the variance of the grey levels: gain independent) is below
  // min_relative_sharpness, or the sharpness itself is below min_sharpness (the classic "variance of the
  // Laplacian < 50" rule, applied at this fixed scale instead of the native one: docs/quality.md shows why
  // the native rule cannot be used across image sizes and what it corresponds to here).
  double min_relative_sharpness = 0.30;
  double min_sharpness = 50.0;

  // Gain, from the original pixels inside the sector (grey levels 0..255).
  double max_mean_level = 110.0;        // over-gain: mean level above this ...
  double max_saturated_fraction = 0.02; // ... or more than this fraction of pixels >= saturated_level ...
  int saturated_level = 250;
  double max_p95_level = 180.0;         // ... or a 95th percentile grey level above this while even the
  double min_p5_level_for_overgain = 12.0;  // darkest 5 % (blood) are lifted off black to at least this:
  // bright walls and pericardium alone are normal in real apical loops (p95 up to ~220 with black blood);
  // over-gain is tissue AND blood pushed up.
  double min_mean_level = 6.0;          // under-gain: mean level below this ...
  double max_dark_fraction = 0.92;      // ... or more than this fraction of pixels <= dark_level ...
  int dark_level = 10;
  double min_p95_level = 30.0;          // ... or even the brightest tissue (95th percentile) below this
  // Contrast ratio (p95 - p5) / (p95 + p5) of the sector's grey levels, 0..1; below this = low contrast.
  double min_contrast_ratio = 0.5;
  // Noise: Immerkaer's estimate of the noise standard deviation (grey levels, at metric_size) divided by
  // the p95 - p5 range; above this = noisy (a warning: speckle is part of ultrasound).
  double max_relative_noise = 0.35;

  // Timing.
  int min_frames = 10;                  // fewer frames cannot hold ED and ES of a beat
  double min_fps = 15.0;                // frames per second; below this ED/ES are missed
  double min_beats = 1.0;               // cine duration / heart period

  // Probe motion: largest global displacement of the image content between consecutive measured frames
  // (phase correlation, 3-tap median over time), as a fraction of the sector crop side (resolution
  // independent); also reported in mm when calibrated. Slow drift (breathing) is not probe motion.
  double max_motion_fraction = 0.03;

  // Colour Doppler: coloured fraction of the sector (ColorFindings) at or above this = reject.
  double max_doppler_fraction = 0.01;

  // View (from the model): anything but a4c / a2c with at least this confidence = reject; an apical view
  // below it = warning.
  double min_view_confidence = 0.5;

  // LV cut off: fraction of the LV border within 2 px of the sector edge or the image edge.
  double max_lv_edge_fraction = 0.03;

  // Foreshortening: LV long axis / LV width below this (dilated, failing hearts are rounder: kept low) ...
  double min_lv_length_width_ratio = 1.30;
  // ... or LV long axis / sector depth below this (assessed when both are known) ...
  double min_lv_length_depth_fraction = 0.40;
  // ... or an LV long axis shorter than this many mm at end-diastole (when calibrated; 0 = not used) ...
  double min_lv_length_mm = 72.0;
  // ... or apex roundness (LV width at 20% of the long axis from the apex / maximal width) above this;
  // 0 = not used (the default: on the phantoms it did not separate foreshortened from normal LVs).
  double max_apex_roundness = 0.0;
};

// The per-frame numbers of one measured frame.
struct FrameQualityMetrics {
  int frame = 0;
  double sharpness = 0.0;          // variance of the Laplacian at metric_size
  double relative_sharpness = 0.0; // sharpness / variance of the grey levels (gain independent)
  double mean_level = 0.0;         // grey levels at metric_size inside the sector
  double noise_sigma = 0.0;        // grey levels at metric_size
  double motion_px = 0.0;          // displacement from the previous measured frame, metric_size pixels
};

struct QualityMetrics {
  std::vector<FrameQualityMetrics> frames;   // the measured frames
  int frames_measured = 0;
  double sharpness = 0.0;                     // medians over the measured frames
  double relative_sharpness = 0.0;
  double noise_sigma = 0.0;
  double relative_noise = 0.0;                // noise_sigma / (p95 - p5)
  double mean_level = 0.0;                    // original pixels inside the sector, sampled frames
  double saturated_fraction = 0.0;
  double dark_fraction = 0.0;
  double p5_level = 0.0, p95_level = 0.0;
  double contrast_ratio = 0.0;                // (p95 - p5) / (p95 + p5)
  double motion_px = 0.0;                     // largest frame-to-frame displacement (3-tap median), metric px
  double motion_fraction = 0.0;               // motion_px / metric_size
  double motion_mm = 0.0;                     // 0 when calibration unknown
  int frame_count = 0;
  double fps = 0.0;                           // 0 when timing unknown
  double duration_ms = 0.0;
  double period_ms = 0.0;                     // 0 when unknown
  std::string period_source;                  // "lv_curve", "dicom_heart_rate", "r_waves", ""
  double beats = 0.0;                         // duration / period, 0 when unknown
  double doppler_fraction = 0.0;
  double sector_fraction = 0.0;               // sector pixels / image pixels
};

// What the model and the geometry say about the LV. Absent fields = "not assessed".
struct LvEvidence {
  std::optional<std::string> view;                        // "a4c", "a2c", "other"
  std::optional<double> view_confidence;                  // 0..1
  std::optional<double> lv_long_axis_mm, lv_width_mm;     // at end-diastole (or the largest LV)
  std::optional<double> lv_long_axis_px, lv_width_px;     // the same in original pixels
  std::optional<double> lv_touching_sector_edge_fraction; // worst over the frames looked at
  std::optional<double> apex_roundness;                   // width at 20% of the axis from the apex / max width
  std::optional<double> estimated_period_ms;              // from the LV curve, to decide "full beat"
};

// Shape evidence from one LV mask in original pixels (255 inside), e.g. the model's ED mask mapped back,
// or a phantom's ground truth. Sets the long axis (the principal axis, from the end nearer the sector apex),
// the width perpendicular to it, the apex roundness and the edge-touching fraction; mm fields only when
// mm_per_px_x/y > 0. Returns an empty evidence when the mask is empty or its size differs from the sector
// mask's; with an empty sector mask only the image border counts as the edge.
LvEvidence measure_lv_shape(const Image8& lv_mask, const SectorGeometry& sector, double mm_per_px_x = 0.0,
                            double mm_per_px_y = 0.0);

struct QualityReport {
  bool pass = false;                       // no reason of severity reject
  double score = 0.0;                      // 0..1: 1 comfortably inside every threshold, < 0.5 = rejected
  std::vector<QualityReason> reasons;      // rejects first, then warnings, then info
  QualityMetrics metrics;
  std::vector<std::string> not_assessed;   // codes of checks that had no evidence ("non_apical_view", ...)

  bool has(QualityCode code) const {
    for (const auto& reason : reasons) {
      if (reason.code == code) return true;
    }
    return false;
  }
};

// The pixels the gate reads, for a caller that streams the frames instead of holding the whole cine (the
// analyzer): the original luma of the gain frames and, per metric frame, either its model input (when
// pre.spec.input_size == QualityOptions::metric_size) or its original luma. Pointers are borrowed.
struct QualityFrames {
  int frame_count = 0;                             // frames of the whole cine
  std::vector<const std::uint8_t*> gain_luma;      // quality_gain_frames(frame_count), in that order
  std::vector<const float*> metric_model_input;    // quality_metric_frames(frame_count, options), in order ...
  std::vector<const std::uint8_t*> metric_luma;    // ... or these when the sizes differ (one of the two is filled)
};
std::vector<int> quality_gain_frames(int frame_count);
std::vector<int> quality_metric_frames(int frame_count, const QualityOptions& options);
// The frames of a whole cine (frame_count 0 when `pre` does not have the cine's frame count).
QualityFrames quality_frames_of(const Cine& cine, const Preprocessed& pre, const QualityOptions& options);

// The image metrics alone (what the gate measures; also for per-frame indicators).
QualityMetrics measure_quality(const Cine& cine, const Preprocessed& pre, const QualityOptions& options = {});
QualityMetrics measure_quality(const Cine& cine, const Preprocessed& pre, const QualityFrames& frames,
                               const QualityOptions& options = {});

// The gate. Never throws; inconsistent inputs (pre not from this cine) give a no_sector reject.
QualityReport assess_quality(const Cine& cine, const Preprocessed& pre, const QualityOptions& options = {},
                             const LvEvidence& lv = {});
// The same from sampled frames: `cine` gives only the geometry, times, calibration and metadata (its pixels
// may be empty); frames.frame_count stands for the frame count. Same result as the whole-cine call.
QualityReport assess_quality(const Cine& cine, const Preprocessed& pre, const QualityFrames& frames,
                             const QualityOptions& options = {}, const LvEvidence& lv = {});

}  // namespace echo
