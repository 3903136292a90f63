// echo/result.hpp: what one analysis gives back. Plain values, no model or library types.
// Every result is a second opinion that a clinician must confirm (is_second_opinion is always true).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "echo/cardiac.hpp"
#include "echo/geometry.hpp"
#include "echo/image.hpp"
#include "echo/quality.hpp"
#include "echo/vlm.hpp"

namespace echo {

struct BeatResult {
  int ed_frame = 0;
  int es_frame = 0;
  double ed_time_ms = 0.0;
  double es_time_ms = 0.0;
  std::optional<double> edv_ml;  // absent when calibration is unknown or untrusted
  std::optional<double> esv_ml;
  double ef_percent = 0.0;
  bool excluded = false;         // left out of the mean (see exclusion_reason)
  std::string exclusion_reason;
};

// Wall-clock time of each stage of one analysis, in milliseconds.
struct StageTimings {
  double decode_ms = 0.0;       // opening the file (the frames' own decoding streams with preprocessing)
  double preprocess_ms = 0.0;   // decoding and resampling of the frames, sector and colour findings
  double quality_ms = 0.0;
  double inference_ms = 0.0;
  double geometry_ms = 0.0;
  double cardiac_ms = 0.0;
  double vlm_ms = 0.0;
  double total_ms = 0.0;
};

struct ModelInfo {
  std::string name;
  std::string version;
  std::string weights_sha256;
  std::string precision;  // "fp32", "int8", "fp16"
  std::string device;     // "cpu", "cuda"
  // The manifest's claim: false for every bundled model (phantoms only); a site sets it after its own
  // validation (`echoa validate`). The reports disclose a model that is not validated on patients.
  bool validated_on_real_patients = false;
};

// The LV as measured on one keyframe, in original image pixels.
struct KeyframeGeometry {
  int frame = -1;
  LvGeometry geometry;    // contour, apex, annulus, discs, volumes (coordinates in original pixels)
};

struct AnalysisResult {
  // Quality gate. When quality.pass is false the EF fields are withheld (ef_percent empty) and the
  // reasons say why; this is a result, not an error.
  QualityReport quality;

  std::string view;                 // "a4c", "a2c", "other" (from the model), "unknown" without one
  double view_confidence = 0.0;
  bool biplane = false;

  // EF over complete beats. ef_percent is the mean over used beats (empty when withheld).
  std::optional<double> ef_percent;
  std::optional<double> ef_sd;
  std::optional<double> ef_median;
  std::vector<double> ef_per_beat;
  std::string ef_withheld_reason;   // non-empty when ef_percent is empty
  // "beats": ED and ES of complete beats (ED to next ED). "loop_extremes": no complete beat could be delimited
  // although the loop covers at least one heart period (the gate passed it), so the EF is from the largest
  // and smallest LV of the loop, as a reader measures such a loop: a rougher estimate, without per-beat SD.
  std::string ef_basis = "beats";
  std::optional<EfClassification> classification;

  // Volumes (mL) are means over used beats; absent when calibration is unknown or not trusted.
  std::optional<double> edv_ml;
  std::optional<double> esv_ml;
  std::string volumes_unavailable_reason;

  std::vector<BeatResult> beats;
  double heart_rate_bpm = 0.0;
  std::string heart_rate_source;    // "r_wave", "autocorrelation", "dicom"

  // Per-frame curves (size = frame count).
  std::vector<double> frame_times_ms;
  std::vector<double> lv_area_mm2;   // px² when calibration is unknown (see volumes_unavailable_reason)
  std::vector<double> lv_volume_ml;  // method of discs; relative units when calibration is unknown

  // The ED and ES frames of the first used beat, for overlays.
  KeyframeGeometry ed;
  KeyframeGeometry es;

  // Every frame's LV contour in original pixels (empty where no LV was measurable); filled only with
  // AnalyzerOptions::keep_frame_contours, for the review page (docs/review.md).
  std::vector<Contour> frame_contours_px;

  // Optional vision-language answer and its cross-check with the measured EF.
  std::optional<VlmAnswer> vlm;
  std::optional<VlmCrossCheck> vlm_check;
  std::string ef_source = "measured";  // "measured" or "vlm" (AnalyzerOptions::lead_with_vlm)

  StageTimings timings;
  ModelInfo model;
  std::string sdk_version;
  int frame_count = 0;
  int rows = 0;
  int cols = 0;
  bool is_second_opinion = true;  // always: a clinician must confirm
};

}  // namespace echo
