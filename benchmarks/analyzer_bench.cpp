// Full analysis of a 100-frame 640x480 JPEG-baseline DICOM (decode included), INT8 or FP32 on the
// machine's cores, with the time of each stage and the peak resident memory as counters.
//   build/benchmarks/bench_analyzer --benchmark_min_time=3
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "echo/analyzer.hpp"
#include "echo/io.hpp"
#include "echo/synth.hpp"

namespace {

const std::string& phantom_dicom_path() {
  static const std::string path = [] {
    const auto file = std::filesystem::temp_directory_path() / "echo_bench_100x640x480.dcm";
    echo::SynthParams params;
    params.width = 640;
    params.height = 480;
    params.fps = 50;
    params.ef_percent = 55;
    params.heart_rate_bpm = 72;
    params.seed = 4242;
    params.beats = 3;  // trimmed to 100 frames below
    auto phantom = echo::generate_phantom(params);
    if (!phantom) {
      std::fprintf(stderr, "phantom: %s\n", phantom.error().message.c_str());
      std::abort();
    }
    echo::Cine& cine = phantom->cine;
    const int frames = std::min(100, cine.frame_count());
    cine.gray.resize(cine.frame_bytes() * frames);
    cine.frame_times_ms.resize(frames);
    cine.color.clear();
    auto written = echo::write_dicom_file(cine, file.string());
    if (!written) {
      std::fprintf(stderr, "write: %s\n", written.error().message.c_str());
      std::abort();
    }
    return file.string();
  }();
  return path;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// before_issue_14: the sector searched at full size and the CPU stages on one thread (the path the
// agreement test compares against), to compare both in one run on a busy machine.
void BM_AnalyzeDicom(benchmark::State& state, echo::Precision precision, bool before_issue_14 = false) {
  echo::AnalyzerOptions options;
  options.engine.precision = precision;
  options.engine.threads = 0;
  if (before_issue_14) {
    options.preprocess.sector.min_search_side_px = 0;
    options.preprocess.threads = 1;
  }
  auto analyzer = echo::EchoAnalyzer::create(options);
  if (!analyzer) {
    state.SkipWithError(analyzer.error().message.c_str());
    return;
  }
  const std::string& path = phantom_dicom_path();
  echo::StageTimings sum;
  double ef = 0.0;
  for (auto _ : state) {
    auto result = (*analyzer)->analyze_file(path);
    if (!result) {
      state.SkipWithError(result.error().message.c_str());
      return;
    }
    const echo::StageTimings& t = result->timings;
    sum.decode_ms += t.decode_ms;
    sum.preprocess_ms += t.preprocess_ms;
    sum.inference_ms += t.inference_ms;
    sum.geometry_ms += t.geometry_ms;
    sum.cardiac_ms += t.cardiac_ms;
    sum.quality_ms += t.quality_ms;
    ef = result->ef_percent.value_or(-1.0);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["decode_ms"] = sum.decode_ms / n;
  state.counters["preprocess_ms"] = sum.preprocess_ms / n;
  state.counters["inference_ms"] = sum.inference_ms / n;
  state.counters["geometry_ms"] = sum.geometry_ms / n;
  state.counters["cardiac_ms"] = sum.cardiac_ms / n;
  state.counters["quality_ms"] = sum.quality_ms / n;
  state.counters["peak_rss_mb"] = peak_rss_mb();
  state.counters["ef_percent"] = ef;
}

BENCHMARK_CAPTURE(BM_AnalyzeDicom, int8, echo::Precision::int8)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_AnalyzeDicom, fp32, echo::Precision::fp32)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_AnalyzeDicom, int8_before_issue_14, echo::Precision::int8, true)
    ->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
