// Batched LV segmentation on a CUDA GPU through echo::SegmentationModel::segment() (the path the SDK takes:
// input check, copy to the GPU, forward, logits back as float, masks and view softmax on the host), FP16 and
// FP32 (cuDNN's default TF32 convolutions), batch 32..1024; the goal of issue 14 is >= 5 000 frames/s on an
// H100/H200. Batch 100 is the 100-frame clip of bench_analyzer in one call (its inference stage).
// Every benchmark reports an error and runs nothing where no CUDA is present. scripts/gpu_check.sh runs it:
//   bench_inference_cuda --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "echo/inference.hpp"
#include "inference_bench_util.hpp"

namespace {

// One loaded model per (precision, batch), kept for the process: a load costs a TorchScript freeze. Threaded
// benchmarks call this from each of their threads.
std::shared_ptr<const echo::SegmentationModel> model_for(echo::Precision precision, int batch, std::string* error) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  static std::map<std::pair<int, int>, std::shared_ptr<const echo::SegmentationModel>> cache;
  auto& slot = cache[{static_cast<int>(precision), batch}];
  if (!slot) {
    echo::EngineOptions options{echo::Device::cuda, precision, 0, batch};
    auto loaded = echo::SegmentationModel::load(echo::default_model_path(echo::Precision::fp32), options);
    if (!loaded) {
      *error = loaded.error().message;
      return nullptr;
    }
    slot = *loaded;
  }
  return slot;
}

void BM_SegmentCuda(benchmark::State& state, echo::Precision precision) {
  const int batch = static_cast<int>(state.range(0));
  std::string error;
  auto model = model_for(precision, batch, &error);
  if (!model) {
    state.SkipWithError(error.c_str());
    return;
  }
  const auto frames = echo_bench::frames_for(batch, model->input_size());
  // Warm-up outside the timing: cuDNN picks its kernels and the caching allocator grows on the first call
  // of each shape.
  for (int i = 0; i < 2; ++i) {
    if (auto out = model->segment(frames.data(), batch); !out) {
      state.SkipWithError(out.error().message.c_str());
      return;
    }
  }
  // segment() returns once the masks are on the host: the wall time is the GPU work's too.
  if (!echo_bench::time_segment(state, *model, frames, batch)) return;
  state.SetLabel(echo::precision_name(precision));
}

void batch_sizes(benchmark::internal::Benchmark* b) {
  for (int batch : {32, 64, 100, 128, 256, 512, 1024}) b->Arg(batch);
  b->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.5);
}

BENCHMARK_CAPTURE(BM_SegmentCuda, fp16, echo::Precision::fp16)->Apply(batch_sizes);
BENCHMARK_CAPTURE(BM_SegmentCuda, fp32, echo::Precision::fp32)->Apply(batch_sizes);
// Several host threads on one model: the host work of one call (input check, copies, thresholding)
// overlaps the GPU work of another.
BENCHMARK_CAPTURE(BM_SegmentCuda, fp16_4_threads, echo::Precision::fp16)
    ->Arg(256)->Arg(1024)->Threads(4)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.5);

}  // namespace

BENCHMARK_MAIN();
