// What the C ABI's opaque handles hold. Private to capi/.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "echo/analyzer.hpp"
#include "echo/echo.h"
#include "echo/image.hpp"

// A loaded model: the analyzer (shared with the sessions made from it) and what echo_model_get_info returns.
struct echo_model {
  std::shared_ptr<const echo::EchoAnalyzer> analyzer;
  echo::ModelInfo info;
  bool vlm_loaded = false;
};

struct echo_cine {
  echo::Cine cine;
};

// One analysis. Everything an accessor hands out as `const char*` lives here, built once at creation, so
// the result is immutable and can be read from many threads at once.
struct echo_result {
  echo::AnalysisResult result;
  echo::Image8 ed_frame;               // grey pixels of the keyframes, for the overlays (empty when none)
  echo::Image8 es_frame;
  std::string vlm_rejection_codes;     // comma-separated
  std::string classification_code;     // "mildly_reduced", ...
  std::string classification_label_zh;
};

struct QueuedBeat {
  echo_beat_event event;
  echo::BeatResult beat;
};

struct echo_session {
  std::shared_ptr<const echo::EchoAnalyzer> analyzer;  // keeps the model alive as long as the session
  std::unique_ptr<echo::Session> session;
  echo_session_options options;
  echo_beat_callback callback = nullptr;
  void* user_data = nullptr;
  std::deque<QueuedBeat> queue;        // bounded by options.max_queued_beats
  std::uint64_t dropped_beats = 0;
  std::string polled_exclusion_reason; // storage behind the last polled echo_beat's exclusion_reason
  echo::Contour last_contour;
};

namespace echo::capi {

// Builds a result handle (copies the keyframe frames out of the cine).
std::unique_ptr<echo_result> make_result(AnalysisResult analysis, const Cine& cine);
// The C view of one beat; exclusion_reason points into `beat`.
echo_beat to_c_beat(const BeatResult& beat);

}  // namespace echo::capi
