// Phantom generation: 100 frames of 800x600 (the goal: under 2 s on 2 cores), with overlays
// (colour frames) and without, on 1 and 2 worker threads; and a training-size case (112x112-ish models
// are fed from 320x240). Wall-clock time (UseRealTime): the workers are separate threads.
#include <benchmark/benchmark.h>

#include "echo/synth.hpp"

namespace {

void BM_Phantom(benchmark::State& state) {
  echo::SynthParams p;
  p.width = static_cast<int>(state.range(0));
  p.height = static_cast<int>(state.range(1));
  p.frame_count = 100;
  p.threads = static_cast<int>(state.range(2));
  p.overlays = state.range(3) != 0;
  p.seed = 7;
  for (auto _ : state) {
    auto c = echo::generate_phantom(p);
    if (!c) {
      state.SkipWithError(c.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(c->cine.gray.data());
  }
  state.counters["frames_per_s"] = benchmark::Counter(100.0 * state.iterations(), benchmark::Counter::kIsRate);
}

}  // namespace

// Arguments: width, height, threads, overlays.
BENCHMARK(BM_Phantom)
    ->Args({800, 600, 2, 1})
    ->Args({800, 600, 2, 0})
    ->Args({800, 600, 1, 1})
    ->Args({320, 240, 2, 1})
    ->ArgNames({"w", "h", "threads", "overlays"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

BENCHMARK_MAIN();
