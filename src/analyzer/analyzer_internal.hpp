// Private pieces of the analyzer shared by the whole-cine path and the streaming Session.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "echo/analyzer.hpp"
#include "echo/preprocess.hpp"

namespace echo {

struct EchoAnalyzer::Impl {
  AnalyzerOptions options;
  std::shared_ptr<const SegmentationModel> model;
  std::shared_ptr<const VlmModel> vlm;  // null unless options.enable_vlm

  ModelInputSpec input_spec() const;
};

namespace analysis {

// LV geometry of every frame, measured on the model's masks in model pixels.
struct LvSeries {
  std::vector<LvGeometry> geometry;   // model-pixel coordinates
  std::vector<double> area_mm2;       // px² (model pixels) when spacing is unknown
  std::vector<double> volume_ml;      // method of discs; relative units when spacing is unknown
  std::vector<float> view_mean;       // mean view probability over frames, per view label
};

// Physical size of one model pixel, or unknown spacing when the cine has no calibration.
PixelSpacing model_pixel_spacing(const Preprocessed& pre);

// Frames measured on `threads` threads (0 = all hardware threads); the result does not depend on it.
LvSeries measure_series(const SegmentationOutput& segmentation, const PixelSpacing& spacing, int label_count,
                        int threads = 1);

// The mean over frames of the per-frame view probabilities (frame_count x label_count, frame-major).
std::vector<float> mean_view_probabilities(const std::vector<float>& probabilities, int frame_count, int label_count);

// The same geometry with every point moved from model pixels to original pixels.
LvGeometry to_original_pixels(const LvGeometry& model_geometry, const ModelMapping& mapping);

// Evidence for the quality gate's LV-based checks (view, cut-off, foreshortening, full beat). Lengths in mm
// only with a trusted calibration: an untrusted scale must not make an LV look foreshortened.
LvEvidence lv_evidence(const LvSeries& series, const CardiacResult& cardiac, const Preprocessed& pre,
                       const std::vector<std::string>& view_labels, bool calibration_trusted);

// The label with the highest mean probability, and that probability.
std::pair<std::string, double> dominant_view(const std::vector<float>& view_mean,
                                             const std::vector<std::string>& labels);

// What the streamed pass (analyzer_stream.cpp) keeps of a cine's frames.
struct StreamedFrames {
  Preprocessed pre;                                 // model_input empty unless asked to keep it
  LvSeries series;
  std::vector<std::vector<std::uint8_t>> gain_luma; // the quality gate's samples (echo/quality.hpp)
  std::vector<std::vector<float>> metric_input;
  std::vector<std::vector<std::uint8_t>> metric_luma;
  double preprocess_ms = 0.0;  // with the frames' decoding, which runs together with their resampling
  double inference_ms = 0.0;
  double geometry_ms = 0.0;

  QualityFrames quality_frames() const;
};

// Decodes, preprocesses, segments and measures the frames of `source` one model batch at a time.
Expected<StreamedFrames> stream_frames(const FrameSource& source, const SegmentationModel& model,
                                       const ModelInputSpec& spec, const AnalyzerOptions& options,
                                       bool keep_model_input);

}  // namespace analysis
}  // namespace echo
