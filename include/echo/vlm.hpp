// echo/vlm.hpp: the vision-language LVEF path.
//
// A small TorchScript model reads a few keyframes of one heartbeat (ED ... ES) and answers the way a
// clinician reads a study: "LVEF约为52%" / "LVEF approximately 52%", or "图像不合格,原因:图像模糊" /
// "image not acceptable, reason: image blurred". The answer grammar turns that text into a structured
// value, and the cross-check compares the VLM's number with the measured EF so that a made-up number never
// passes silently. No LibTorch type appears here (the model lives behind a pimpl in src/vlm).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "echo/error.hpp"

namespace echo {

struct Preprocessed;  // echo/preprocess.hpp

enum class AnswerLanguage { zh, en };

struct VlmOptions {
  AnswerLanguage language = AnswerLanguage::zh;
  int max_new_tokens = 120;          // hard cap on generated tokens (1..512)
  float repetition_penalty = 1.2f;   // CTRL-style penalty on tokens already generated (>= 1; 1 = off)
  int threads = 0;                   // LibTorch intra-op threads at load; 0 = leave as is (at least 1)
  bool int8 = true;                  // load the INT8 (dynamically quantised) file of the manifest
  bool use_kv_cache = true;          // false: recompute the whole sequence each step (reference path)
};

struct VlmAnswer {
  std::string text;  // exactly what the model produced (UTF-8)
  enum class Kind { ef, rejection, unreadable } kind = Kind::unreadable;
  std::optional<double> ef_percent;           // only for Kind::ef, in [0, 100]
  std::vector<std::string> rejection_codes;   // quality-gate codes, only for Kind::rejection
  int new_tokens = 0;                         // tokens generated (including the stop token)
  double decode_ms = 0.0;                     // wall time of encode + prefill + decode
  bool hit_token_limit = false;               // stopped by max_new_tokens, not by a stop token
};

// The answer grammar (docs/vlm.md lists exactly what is accepted). Either language; full-width and
// half-width punctuation, digits and spaces are equivalent. EF must be an integer or one decimal in
// [0, 100]; every rejection reason must be a known phrase. Anything else is Kind::unreadable, never a number.
VlmAnswer parse_vlm_answer(const std::string& text);

// The quality-gate code of a rejection-reason phrase ("图像模糊" -> "blurred"), nullopt when unknown.
std::optional<std::string> rejection_code_of_phrase(const std::string& phrase);
// The canonical phrase of a code in a language ("blurred", en -> "image blurred"), empty when unknown.
std::string rejection_phrase_of_code(const std::string& code, AnswerLanguage language);
// Every rejection code the grammar knows, in a fixed order.
const std::vector<std::string>& known_rejection_codes();

// The VLM's EF against the measured one. compared is false when either side has no EF (a rejection,
// an unreadable answer or no measurement); disagrees is true when |vlm - measured| > tolerance_points.
struct VlmCrossCheck {
  bool compared = false;
  double difference_points = 0.0;  // vlm - measured, 0 when not compared
  bool disagrees = false;
};
VlmCrossCheck cross_check(const VlmAnswer& answer, std::optional<double> measured_ef_percent,
                          double tolerance_points = 10.0);

// Where the keyframes were taken from in their loop. Four keyframes cannot show that a loop is shorter than
// one heartbeat; their positions in the loop can (ED and ES then sit at the loop's ends and ED -> ES spans
// most of it), so the model reads them beside the pixels.
struct VlmKeyframeTiming {
  std::vector<int> frame_indices;  // each keyframe's frame index in the loop, in the order passed (ED ... ES)
  int loop_frame_count = 0;        // frames in the whole loop
};

// The model's timing input: {1 (timing known), index / (N - 1) of each keyframe, |last - first| / (N - 1)}
// with N = loop_frame_count (N = 1 divides by 1), keyframe_count + 2 values. invalid_argument when the
// number of indices is not keyframe_count, N < 1 or an index lies outside [0, N). Training computes the
// same numbers (models/vlm/vlm_data.py timing_features).
Expected<std::vector<float>> vlm_timing_features(const VlmKeyframeTiming& timing, int keyframe_count);

class VlmModel {  // immutable after load; answer() is thread-safe
 public:
  // model_path: a manifest (.json) or the directory that holds vlm.json. The manifest names the
  // TorchScript files (fp32 and int8) with their SHA-256 and carries the vocabulary and the prompts.
  static Expected<std::shared_ptr<const VlmModel>> load(const std::string& model_path,
                                                        const VlmOptions& options = {});

  // keyframes: keyframe_count() x 1 x input_size() x input_size() floats in the model-input contract
  // (normalised with the manifest's mean/std), ordered ED ... ES, and where they sit in their loop.
  // Options other than language, max_new_tokens, repetition_penalty and use_kv_cache are fixed at load.
  Expected<VlmAnswer> answer(const float* keyframes, int keyframe_count, const VlmKeyframeTiming& timing,
                             const VlmOptions& options = {}) const;

  // The same with the timing unknown (the model then reads the pixels only and cannot tell a loop shorter
  // than one beat; the analyzer always passes the timing).
  Expected<VlmAnswer> answer(const float* keyframes, int keyframe_count, const VlmOptions& options = {}) const;

  // The same from 8-bit model-size crops (sector already masked): normalised with the manifest's mean/std.
  Expected<VlmAnswer> answer_u8(const std::uint8_t* keyframes, int keyframe_count,
                                const VlmOptions& options = {}) const;

  int keyframe_count() const;
  int input_size() const;
  float normalization_mean() const;
  float normalization_std() const;
  std::string prompt(AnswerLanguage language) const;
  bool is_int8() const;
  const std::string& manifest_path() const;

  ~VlmModel();
  VlmModel(const VlmModel&) = delete;
  VlmModel& operator=(const VlmModel&) = delete;

  struct Impl;

 private:
  explicit VlmModel(std::unique_ptr<Impl> impl);
  Expected<VlmAnswer> run(const float* keyframes, int keyframe_count, const std::vector<float>& timing,
                          const VlmOptions& options) const;
  std::unique_ptr<Impl> impl_;
};

// Which frames of one beat the VLM reads: keyframe_count indices from ed_frame to es_frame, evenly
// spaced (rounded), ED first and ES last. Training uses the same rule on the phantoms' ground truth.
std::vector<int> vlm_keyframe_indices(int ed_frame, int es_frame, int keyframe_count);

// What the analyzer calls: the VLM's answer for one beat of a preprocessed cine (frames from ed_frame to
// es_frame picked by vlm_keyframe_indices, with their timing in the cine's frame_count frames; es_frame may
// come before ed_frame, as the analyzer's keyframes without a complete beat may). The cine must be
// preprocessed with the VLM's input size and
// normalisation (ModelInputSpec from input_size(), normalization_mean(), normalization_std()), else
// invalid_argument.
Expected<VlmAnswer> vlm_answer_for_beat(const VlmModel& model, const Preprocessed& cine, int ed_frame, int es_frame,
                                        const VlmOptions& options = {});

// The VLM's model file: $ECHO_MODEL_DIR/vlm/vlm.json (or $ECHO_MODEL_DIR/vlm.json), else the source
// tree's models/vlm/vlm.json, else the install dir's share/echoanalyzer/models/vlm/vlm.json.
std::string default_vlm_model_path();

}  // namespace echo
