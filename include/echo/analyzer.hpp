// echo/analyzer.hpp: the EchoAnalyzer, one call from a cine (file, buffer, frames) to a checked EF,
// and the streaming Session for scanners. Holds the loaded model(s) and the options, nothing else;
// each stage is a plain function (see docs/architecture.md).
//
// Threading: an EchoAnalyzer is immutable after create(); analyze*() may be called from any number of
// threads at once. A Session is used by one thread at a time.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "echo/cardiac.hpp"
#include "echo/cine.hpp"
#include "echo/error.hpp"
#include "echo/inference.hpp"
#include "echo/io.hpp"
#include "echo/preprocess.hpp"
#include "echo/quality.hpp"
#include "echo/result.hpp"
#include "echo/vlm.hpp"

namespace echo {

struct AnalyzerOptions {
  std::string model_path;          // empty: the installed reference model (default_model_path)
  EngineOptions engine;            // device, precision, threads, batch
  QualityOptions quality;          // gate thresholds
  CardiacOptions cardiac = cardiac_options_for_segmented_curves();
  ReadOptions read;                // for analyze_file / analyze_buffer
  PreprocessOptions preprocess;    // sector search and threads; `threads` also sets the geometry stage's threads
  Sex sex = Sex::unknown;          // for the sex-specific EF ranges
  bool enable_vlm = false;         // run the vision-language answer too
  std::string vlm_model_path;      // empty: the installed reference VLM
  VlmOptions vlm;
  double vlm_tolerance_points = 10.0;  // cross-check tolerance
  bool lead_with_vlm = false;      // the result leads with the VLM's EF instead of the measured one
  // Frames decoded, preprocessed and segmented together as the analysis streams through a cine (1..1024,
  // at most the model's max_batch is used). Fewer hold less memory (activations); with the bundled INT8
  // model the result does not depend on it (tests/analyzer/test_streamed.cpp).
  int stream_batch_frames = 16;
  bool keep_frame_contours = false;  // fill AnalysisResult::frame_contours_px (the review page shows every frame)
};

// What a Session gives back for each pushed frame.
struct FrameResult {
  int frame_index = 0;
  double time_ms = 0.0;
  Contour lv_contour_px;           // in the pushed frame's pixel coordinates; empty when no LV found
  double lv_area_mm2 = 0.0;        // px² when uncalibrated
  double quality_score = 0.0;      // 0..1 per-frame indicator
  bool beat_completed = false;     // true when this frame closed a heartbeat (see Session::take_beat)
};

// Emitted after each completed heartbeat.
struct BeatEvent {
  int beat_index = 0;
  BeatResult beat;
  double running_ef_mean = 0.0;    // over beats so far (excluded beats left out)
};

struct SessionOptions {
  Calibration calibration;         // mm per pixel of the frames that will be pushed (may be unknown)
  int window_frames = 0;           // frames kept for beat detection; 0 = about 3 beats at 150 bpm minimum
};

class Session {
 public:
  virtual ~Session() = default;
  // Borrowed frame, processed before return. time_ms must increase.
  virtual Expected<FrameResult> push_frame(const FrameView& frame, double time_ms) = 0;
  // The beat events not yet taken, oldest first.
  virtual std::vector<BeatEvent> take_beats() = 0;
  virtual int frames_pushed() const = 0;
};

class EchoAnalyzer {
 public:
  static Expected<std::unique_ptr<EchoAnalyzer>> create(const AnalyzerOptions& options = {});
  ~EchoAnalyzer();
  EchoAnalyzer(const EchoAnalyzer&) = delete;
  EchoAnalyzer& operator=(const EchoAnalyzer&) = delete;

  Expected<AnalysisResult> analyze(const Cine& cine) const;
  // Frames decoded on demand and streamed through preprocessing and the model one batch at a time
  // (analyze_file and analyze_buffer do this): the same result, without holding every full-size frame.
  Expected<AnalysisResult> analyze(const FrameSource& source) const;
  Expected<AnalysisResult> analyze_file(const std::string& path) const;
  Expected<AnalysisResult> analyze_buffer(const void* data, std::size_t size) const;
  // Biplane method of discs from an A4C and an A2C cine of the same study.
  Expected<AnalysisResult> analyze_biplane(const Cine& a4c, const Cine& a2c) const;

  Expected<std::unique_ptr<Session>> create_session(const SessionOptions& options = {}) const;

  const AnalyzerOptions& options() const;
  ModelInfo model_info() const;

  struct Impl;

 private:
  explicit EchoAnalyzer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace echo
