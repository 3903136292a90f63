// VLM speed: time from keyframes to a parsed answer, and generated tokens per second.
// Run: bench_vlm [--benchmark_filter=...]; ECHO_BENCH_THREADS sets the LibTorch threads (default 2).
// Input: the keyframes of a phantom beat when models/vlm/bench_keyframes.f32 exists (written by
// models/vlm/evaluate_vlm.py) with their timing (bench_keyframes.timing.i32: K indices + loop frames), else a
// fixed pattern with the timing of a first beat in a 50-frame loop.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "echo/vlm.hpp"

namespace {

int bench_threads() {
  const char* env = std::getenv("ECHO_BENCH_THREADS");
  return env != nullptr ? std::atoi(env) : 2;
}

std::shared_ptr<const echo::VlmModel> model_for(bool int8) {
  static std::map<bool, std::shared_ptr<const echo::VlmModel>> cache;
  auto& slot = cache[int8];
  if (!slot) {
    echo::VlmOptions options;
    options.int8 = int8;
    options.threads = bench_threads();
    auto loaded = echo::VlmModel::load(echo::default_vlm_model_path(), options);
    if (loaded) slot = *loaded;
  }
  return slot;
}

std::vector<float> keyframes_for(const echo::VlmModel& model) {
  const std::size_t count = static_cast<std::size_t>(model.keyframe_count()) * model.input_size() * model.input_size();
  std::vector<float> values(count);
  std::ifstream in(std::string(ECHO_MODELS_DIR) + "/vlm/bench_keyframes.f32", std::ios::binary);
  if (in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(count * sizeof(float)))) return values;
  for (std::size_t i = 0; i < count; ++i) values[i] = static_cast<float>((i * 7919) % 256) / 255.0f;
  return values;
}

echo::VlmKeyframeTiming timing_for(const echo::VlmModel& model) {
  std::vector<std::int32_t> values(static_cast<std::size_t>(model.keyframe_count()) + 1);
  std::ifstream in(std::string(ECHO_MODELS_DIR) + "/vlm/bench_keyframes.timing.i32", std::ios::binary);
  echo::VlmKeyframeTiming timing;
  if (in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(std::int32_t)))) {
    timing.frame_indices.assign(values.begin(), values.end() - 1);
    timing.loop_frame_count = values.back();
  } else {
    timing.frame_indices = echo::vlm_keyframe_indices(4, 12, model.keyframe_count());
    timing.loop_frame_count = 50;
  }
  return timing;
}

// args: int8 (0/1), language (0 zh, 1 en), cache (0/1)
void BM_VlmAnswer(benchmark::State& state) {
  const bool int8 = state.range(0) != 0;
  const auto model = model_for(int8);
  if (!model) {
    state.SkipWithError("the VLM model does not load");
    return;
  }
  const auto frames = keyframes_for(*model);
  const auto timing = timing_for(*model);
  echo::VlmOptions options;
  options.language = state.range(1) == 0 ? echo::AnswerLanguage::zh : echo::AnswerLanguage::en;
  options.use_kv_cache = state.range(2) != 0;
  for (int warm = 0; warm < 3; ++warm) (void)model->answer(frames.data(), model->keyframe_count(), timing, options);
  std::int64_t tokens = 0;
  std::string text;
  for (auto _ : state) {
    auto answer = model->answer(frames.data(), model->keyframe_count(), timing, options);
    if (!answer) {
      state.SkipWithError(answer.error().message.c_str());
      return;
    }
    tokens += answer->new_tokens;
    text = answer->text;
    benchmark::DoNotOptimize(answer->kind);
  }
  state.counters["tokens_per_answer"] = static_cast<double>(tokens) / static_cast<double>(state.iterations());
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.SetLabel(text);
}
BENCHMARK(BM_VlmAnswer)
    ->ArgNames({"int8", "en", "cache"})
    ->Args({1, 0, 1})
    ->Args({1, 1, 1})
    ->Args({0, 0, 1})
    ->Args({0, 1, 1})
    ->Args({1, 1, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_VlmParseAnswer(benchmark::State& state) {
  const std::string texts[2] = {"LVEF约为52%", "image not acceptable, reason: image blurred; over-gain"};
  int i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(echo::parse_vlm_answer(texts[i++ & 1]));
}
BENCHMARK(BM_VlmParseAnswer);

}  // namespace

BENCHMARK_MAIN();
