// Shared by the inference benchmarks (bench_inference on the CPU, bench_inference_cuda): test frames and
// the timed segment() loop with its frames/s counters.
#pragma once
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "echo/inference.hpp"

namespace echo_bench {

// An apical-like normalised frame pattern (run time does not depend on the content).
inline std::vector<float> frames_for(int count, int size) {
  std::vector<float> frames(static_cast<std::size_t>(count) * size * size);
  for (std::size_t i = 0; i < frames.size(); ++i) frames[i] = 0.3f + 0.2f * std::sin(0.37f * static_cast<float>(i % 977));
  return frames;
}

// Times model.segment() on `batch` frames per iteration; sets frames_per_s and time_per_frame. Returns false
// (after SkipWithError) when a call failed.
inline bool time_segment(benchmark::State& state, const echo::SegmentationModel& model,
                         const std::vector<float>& frames, int batch) {
  for (auto _ : state) {
    auto out = model.segment(frames.data(), batch);
    if (!out) {
      state.SkipWithError(out.error().message.c_str());
      return false;
    }
    benchmark::DoNotOptimize(out->lv_masks.data());
  }
  const double frames_done = static_cast<double>(state.iterations()) * batch;
  state.counters["frames_per_s"] = benchmark::Counter(frames_done, benchmark::Counter::kIsRate);
  // Wall time per frame, printed with an SI prefix (e.g. "3.1ms").
  state.counters["time_per_frame"] =
      benchmark::Counter(frames_done, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  return true;
}

}  // namespace echo_bench
