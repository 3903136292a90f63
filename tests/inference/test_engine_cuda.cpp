// The CUDA path of the engine against the CPU: what auto_select picks, masks and view probabilities that
// agree with the CPU FP32 run, determinism, the largest batch, many threads on one model, and the refusals.
// Every test skips, saying why, where this build has no CUDA LibTorch or no GPU is present (so on the
// project's CPU machines all of them skip); scripts/gpu_check.sh runs them on a GPU machine.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "echo/inference.hpp"
#include "inference_test_util.hpp"

#define ECHO_REQUIRE_CUDA()                                                                      \
  do {                                                                                           \
    if (!echo::cuda_available()) {                                                               \
      GTEST_SKIP() << "no CUDA: this build links a CPU-only LibTorch or no CUDA device is present"; \
    }                                                                                            \
  } while (0)

namespace {

using echo::Device;
using echo::ErrorCode;
using echo::Precision;

// FP16, and FP32 run with cuDNN's default TF32 convolutions, both round to a 10-bit mantissa: a pixel whose
// logit lies within rounding of 0 may flip. On 32 apical-like frames 0.03 % of the pixels have |logit| < 0.05
// and a bfloat16 run (7-bit mantissa) on the CPU flipped 0.008 %; 0.1 % leaves room for that and no more.
constexpr double kMaxDifferingPixelFraction = 1e-3;
constexpr float kMaxViewProbabilityDifference = 0.01f;  // the bfloat16 run on the CPU: 0.008

std::shared_ptr<const echo::SegmentationModel> load_or_fail(const std::string& path, Device device,
                                                            Precision precision, int max_batch) {
  auto model = echo::SegmentationModel::load(path, {device, precision, 2, max_batch});
  EXPECT_TRUE(model) << model.error().message;
  return model ? *model : nullptr;
}

std::shared_ptr<const echo::SegmentationModel> fp32_file(Device device, Precision precision, int max_batch) {
  return load_or_fail(echo::default_model_path(Precision::fp32), device, precision, max_batch);
}

struct Agreement {
  std::size_t differing_pixels = 0, pixels = 0, lv_pixels = 0;
  float max_view_difference = 0.0f;
  double differing_fraction() const { return pixels ? static_cast<double>(differing_pixels) / pixels : 1.0; }
};

Agreement compare(const echo::SegmentationOutput& reference, const echo::SegmentationOutput& other) {
  Agreement a;
  EXPECT_EQ(reference.lv_masks.size(), other.lv_masks.size());
  EXPECT_EQ(reference.view_probabilities.size(), other.view_probabilities.size());
  a.pixels = std::min(reference.lv_masks.size(), other.lv_masks.size());
  for (std::size_t i = 0; i < a.pixels; ++i) {
    a.differing_pixels += reference.lv_masks[i] != other.lv_masks[i];
    a.lv_pixels += reference.lv_masks[i] != 0;
  }
  const std::size_t n = std::min(reference.view_probabilities.size(), other.view_probabilities.size());
  for (std::size_t i = 0; i < n; ++i) {
    a.max_view_difference =
        std::max(a.max_view_difference, std::abs(reference.view_probabilities[i] - other.view_probabilities[i]));
  }
  return a;
}

// Printed so that scripts/gpu_check.sh's log carries the figures, not only pass / fail.
void report(const char* what, const Agreement& a) {
  std::printf("[ figure ] %s: %zu of %zu mask pixels differ (%.5f %%; LV pixels %zu), max view probability "
              "difference %.6f\n",
              what, a.differing_pixels, a.pixels, 100.0 * a.differing_fraction(), a.lv_pixels,
              static_cast<double>(a.max_view_difference));
}

bool contains(const std::string& text, const std::string& words) { return text.find(words) != std::string::npos; }

TEST(Cuda, AutoSelectRunsTheFp32FileInFp16OnTheGpu) {
  ECHO_REQUIRE_CUDA();
  const std::string path = echo::default_model_path(Precision::auto_select);
  EXPECT_TRUE(contains(path, "lv_seg_fp32.pt")) << path;
  auto model = echo::SegmentationModel::load(path);
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_EQ((*model)->device(), Device::cuda);
  EXPECT_EQ((*model)->precision(), Precision::fp16);
}

TEST(Cuda, MasksAndViewsAgreeWithTheCpu) {
  ECHO_REQUIRE_CUDA();
  const int count = 48;  // 3 batches of 16
  const auto frames = echo_test::apical_like_frames(count, 112);
  auto cpu = fp32_file(Device::cpu, Precision::fp32, 16);
  ASSERT_TRUE(cpu);
  auto reference = cpu->segment(frames.data(), count);
  ASSERT_TRUE(reference) << reference.error().message;
  for (auto precision : {Precision::fp16, Precision::fp32}) {
    auto gpu = fp32_file(Device::cuda, precision, 16);
    ASSERT_TRUE(gpu);
    EXPECT_EQ(gpu->device(), Device::cuda);
    EXPECT_EQ(gpu->precision(), precision);
    auto out = gpu->segment(frames.data(), count);
    ASSERT_TRUE(out) << out.error().message;
    const auto agreement = compare(*reference, *out);
    report(precision == Precision::fp16 ? "CUDA fp16 vs CPU fp32" : "CUDA fp32 vs CPU fp32", agreement);
    EXPECT_GT(agreement.lv_pixels, agreement.pixels / 50) << "the CPU run found almost no LV: frames unlike a cine";
    EXPECT_LE(agreement.differing_fraction(), kMaxDifferingPixelFraction) << precision_name(precision);
    EXPECT_LE(agreement.max_view_difference, kMaxViewProbabilityDifference) << precision_name(precision);
  }
}

TEST(Cuda, DeterministicAcrossCallsAndAtTheLargestBatch) {
  ECHO_REQUIRE_CUDA();
  const int count = 1030;  // max_batch 1024: a full batch and a batch of 6
  const auto frames = echo_test::apical_like_frames(count, 112);
  auto large = fp32_file(Device::cuda, Precision::fp16, 1024);
  auto small = fp32_file(Device::cuda, Precision::fp16, 64);
  ASSERT_TRUE(large && small);
  auto first = large->segment(frames.data(), count);
  auto second = large->segment(frames.data(), count);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->frame_count, count);
  ASSERT_EQ(first->lv_masks.size(), std::size_t(count) * 112 * 112);
  EXPECT_EQ(first->lv_masks, second->lv_masks);
  EXPECT_EQ(first->view_probabilities, second->view_probabilities);
  // Another batch size may take other kernels: agreement within rounding, as against the CPU.
  auto batched_by_64 = small->segment(frames.data(), count);
  ASSERT_TRUE(batched_by_64);
  const auto agreement = compare(*first, *batched_by_64);
  report("CUDA fp16 batch 1024 vs batch 64", agreement);
  EXPECT_LE(agreement.differing_fraction(), kMaxDifferingPixelFraction);
  EXPECT_LE(agreement.max_view_difference, kMaxViewProbabilityDifference);
}

TEST(Cuda, OneModelSharedByManyThreadsGivesTheSingleThreadResult) {
  ECHO_REQUIRE_CUDA();
  auto model = fp32_file(Device::cuda, Precision::fp16, 32);
  ASSERT_TRUE(model);
  echo_test::expect_many_threads_give_the_single_thread_result(*model, 40, 6, 4);
}

TEST(Cuda, RefusesWhatTheGpuCannotRun) {
  ECHO_REQUIRE_CUDA();
  auto int8_on_cuda = echo::SegmentationModel::load(echo::default_model_path(Precision::int8),
                                                     {Device::cuda, Precision::auto_select, 2, 32});
  ASSERT_FALSE(int8_on_cuda);
  EXPECT_EQ(int8_on_cuda.error().code, ErrorCode::unsupported);
  EXPECT_TRUE(contains(int8_on_cuda.error().message, "CPU quantised engines")) << int8_on_cuda.error().message;
  auto int8_of_fp32_file = echo::SegmentationModel::load(echo::default_model_path(Precision::fp32),
                                                          {Device::cuda, Precision::int8, 2, 32});
  ASSERT_FALSE(int8_of_fp32_file);
  EXPECT_EQ(int8_of_fp32_file.error().code, ErrorCode::unsupported);
  // The int8 file with nothing requested still runs, on the CPU.
  auto int8_auto = echo::SegmentationModel::load(echo::default_model_path(Precision::int8));
  ASSERT_TRUE(int8_auto) << int8_auto.error().message;
  EXPECT_EQ((*int8_auto)->device(), Device::cpu);
  EXPECT_EQ((*int8_auto)->precision(), Precision::int8);
}

TEST(Cuda, RefusesBadInputAsOnTheCpu) {
  ECHO_REQUIRE_CUDA();
  auto model = fp32_file(Device::cuda, Precision::fp16, 32);
  ASSERT_TRUE(model);
  EXPECT_EQ(model->segment(nullptr, 1).error().code, ErrorCode::invalid_argument);
  auto frames = echo_test::apical_like_frames(3, 112);
  EXPECT_EQ(model->segment(frames.data(), 0).error().code, ErrorCode::invalid_argument);
  frames[2 * 112 * 112 + 7] = std::numeric_limits<float>::infinity();
  auto inf = model->segment(frames.data(), 3);
  ASSERT_FALSE(inf);
  EXPECT_EQ(inf.error().code, ErrorCode::invalid_argument);
  EXPECT_TRUE(contains(inf.error().message, "frame 2")) << inf.error().message;
}

}  // namespace
