// Live stream (issue 14): 640x480 grey frames pushed through a streaming Session as fast as it takes them,
// each answered with its LV contour and quality indicator, each completed heartbeat with a BeatEvent.
// Counters:
//   frames_per_s       sustained rate over the whole stream (goal >= 200 on 2 cores: 4x a 50 fps scanner)
//   latency_p50_ms / latency_p99_ms / latency_max_ms   push_frame -> its FrameResult, per frame (goal p99 <= 20)
//   lookahead_frames   frames the keyframe search must see after an end-diastole before it can confirm it
//   beat_delay_frames  worst, over beats, of (frame whose push reported the beat) - (the beat's closing ED)
//                      - lookahead_frames (goal <= 1); the closing ED is the ED of the next reported beat
//   beats              beats reported
//   OMP_WAIT_POLICY=PASSIVE build/benchmarks/bench_session --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "echo/analyzer.hpp"
#include "echo/synth.hpp"

namespace {

// About 6 s of a 50 fps, 640x480 apical loop (8 beats at 75 bpm).
const echo::Cine& stream_cine() {
  static const echo::Cine cine = [] {
    echo::SynthParams params;
    params.width = 640;
    params.height = 480;
    params.fps = 50;
    params.ef_percent = 50;
    params.heart_rate_bpm = 75;
    params.beats = 8;
    params.seed = 4343;
    auto phantom = echo::generate_phantom(params);
    if (!phantom) {
      std::fprintf(stderr, "phantom: %s\n", phantom.error().message.c_str());
      std::abort();
    }
    phantom->cine.color.clear();
    return std::move(phantom->cine);
  }();
  return cine;
}

// Frames after an ED that the keyframe search (src/cardiac) must see before that ED is a settled maximum of
// its smoothed curve: the maximum must be followed by a lower smoothed value (1 frame), whose centred
// average reads half the smoothing window further (h frames), whose last value is despiked against its
// next neighbour (1 frame): h + 2, 4 frames (80 ms) at 50 fps with the analyzer's 100 ms window.
int lookahead_frames(const echo::CardiacOptions& options, double frame_interval_ms) {
  return static_cast<int>(std::floor(0.5 * options.smoothing_window_ms / frame_interval_ms + 1e-9)) + 2;
}

double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const std::size_t k = std::min(values.size() - 1, static_cast<std::size_t>(std::ceil(fraction * values.size())) - 1);
  return values[k];
}

void BM_SessionStream640x480(benchmark::State& state, echo::Precision precision) {
  echo::AnalyzerOptions options;
  options.engine.precision = precision;
  options.engine.threads = 0;
  auto analyzer = echo::EchoAnalyzer::create(options);
  if (!analyzer) {
    state.SkipWithError(analyzer.error().message.c_str());
    return;
  }
  const echo::Cine& cine = stream_cine();
  using Clock = std::chrono::steady_clock;
  std::vector<double> latency_ms;
  double total_s = 0.0, worst_delay = -1e9;
  int frames = 0, beats = 0;
  for (auto _ : state) {
    echo::SessionOptions session_options;
    session_options.calibration = cine.calibration;
    auto session = (*analyzer)->create_session(session_options);
    if (!session) {
      state.SkipWithError(session.error().message.c_str());
      return;
    }
    std::vector<std::pair<int, int>> reported;  // (beat's ED frame, frame whose push reported it)
    const auto start = Clock::now();
    for (int i = 0; i < cine.frame_count(); ++i) {
      echo::FrameView view;
      view.data = cine.frame(i);
      view.width = cine.cols;
      view.height = cine.rows;
      const auto pushed = Clock::now();
      auto result = (*session)->push_frame(view, cine.frame_times_ms[i]);
      latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - pushed).count());
      if (!result) {
        state.SkipWithError(result.error().message.c_str());
        return;
      }
      benchmark::DoNotOptimize(result->lv_contour_px.data());
      for (const echo::BeatEvent& event : (*session)->take_beats()) reported.emplace_back(event.beat.ed_frame, i);
    }
    total_s += std::chrono::duration<double>(Clock::now() - start).count();
    frames += cine.frame_count();
    beats += static_cast<int>(reported.size());
    const int lookahead = lookahead_frames(options.cardiac, cine.mean_frame_interval_ms());
    for (std::size_t b = 0; b + 1 < reported.size(); ++b) {
      worst_delay = std::max(worst_delay, static_cast<double>(reported[b].second - reported[b + 1].first - lookahead));
    }
  }
  state.counters["frames_per_s"] = frames / std::max(total_s, 1e-9);
  state.counters["latency_p50_ms"] = percentile(latency_ms, 0.50);
  state.counters["latency_p99_ms"] = percentile(latency_ms, 0.99);
  state.counters["latency_max_ms"] = percentile(latency_ms, 1.0);
  state.counters["lookahead_frames"] = lookahead_frames(options.cardiac, cine.mean_frame_interval_ms());
  state.counters["beat_delay_frames"] = worst_delay;
  state.counters["beats"] = static_cast<double>(beats) / static_cast<double>(state.iterations());
}

BENCHMARK_CAPTURE(BM_SessionStream640x480, int8, echo::Precision::int8)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK_CAPTURE(BM_SessionStream640x480, fp32, echo::Precision::fp32)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
