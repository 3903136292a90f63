// vlm_eval: answers for a file of keyframe sets with the C++ runtime, one JSON line per set, for
// models/vlm/evaluate_vlm.py (which writes the input and computes the metrics).
//   vlm_eval MODEL_JSON KEYFRAMES.f32 COUNT zh|en [threads] [fp32|int8] [TIMING.i32]
// TIMING.i32: per set, the K keyframe indices and the loop's frame count (int32), passed as
// VlmKeyframeTiming (the C++ side computes the timing features, as the analyzer's path does); without it
// the timing is unknown.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "echo/vlm.hpp"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: vlm_eval MODEL_JSON KEYFRAMES.f32 COUNT zh|en [threads] [fp32|int8] [TIMING.i32]\n");
    return 64;
  }
  echo::VlmOptions options;
  options.language = std::string(argv[4]) == "en" ? echo::AnswerLanguage::en : echo::AnswerLanguage::zh;
  options.threads = argc > 5 ? std::atoi(argv[5]) : 2;
  options.int8 = !(argc > 6 && std::string(argv[6]) == "fp32");
  auto model = echo::VlmModel::load(argv[1], options);
  if (!model) {
    std::fprintf(stderr, "vlm_eval: %s\n", model.error().message.c_str());
    return 2;
  }
  const int count = std::atoi(argv[3]);
  const std::size_t per_set = static_cast<std::size_t>((*model)->keyframe_count()) * (*model)->input_size() *
                              (*model)->input_size();
  std::ifstream in(argv[2], std::ios::binary);
  std::vector<float> frames(per_set);
  std::ifstream timing_in;
  if (argc > 7) timing_in.open(argv[7], std::ios::binary);
  if (argc > 7 && !timing_in) {
    std::fprintf(stderr, "vlm_eval: '%s' cannot be opened\n", argv[7]);
    return 2;
  }
  std::vector<std::int32_t> timing_values(static_cast<std::size_t>((*model)->keyframe_count()) + 1);
  for (int i = 0; i < count; ++i) {
    if (!in.read(reinterpret_cast<char*>(frames.data()), static_cast<std::streamsize>(per_set * sizeof(float)))) {
      std::fprintf(stderr, "vlm_eval: '%s' holds fewer than %d keyframe sets\n", argv[2], count);
      return 2;
    }
    echo::Expected<echo::VlmAnswer> answer;
    if (argc > 7) {
      if (!timing_in.read(reinterpret_cast<char*>(timing_values.data()),
                          static_cast<std::streamsize>(timing_values.size() * sizeof(std::int32_t)))) {
        std::fprintf(stderr, "vlm_eval: '%s' holds fewer than %d timings\n", argv[7], count);
        return 2;
      }
      echo::VlmKeyframeTiming timing;
      timing.frame_indices.assign(timing_values.begin(), timing_values.end() - 1);
      timing.loop_frame_count = timing_values.back();
      answer = (*model)->answer(frames.data(), (*model)->keyframe_count(), timing, options);
    } else {
      answer = (*model)->answer(frames.data(), (*model)->keyframe_count(), options);
    }
    nlohmann::json line;
    line["index"] = i;
    if (!answer) {
      line["error"] = answer.error().message;
    } else {
      line["text"] = answer->text;
      line["kind"] = answer->kind == echo::VlmAnswer::Kind::ef ? "ef"
                     : answer->kind == echo::VlmAnswer::Kind::rejection ? "rejection" : "unreadable";
      if (answer->ef_percent) line["ef_percent"] = *answer->ef_percent;
      line["codes"] = answer->rejection_codes;
      line["new_tokens"] = answer->new_tokens;
      line["decode_ms"] = answer->decode_ms;
    }
    std::printf("%s\n", line.dump().c_str());
  }
  return 0;
}
