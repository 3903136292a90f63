// The TorchScript engine through the public API: loading checks, refusals, segment(), determinism and
// one model shared by many threads.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "echo/inference.hpp"
#include "inference_test_util.hpp"

namespace {

using echo::ErrorCode;
using echo::Precision;

std::shared_ptr<const echo::SegmentationModel> load_or_fail(Precision precision, echo::EngineOptions options = {}) {
  options.threads = options.threads == 0 ? 2 : options.threads;
  auto model = echo::SegmentationModel::load(echo::default_model_path(precision), options);
  EXPECT_TRUE(model) << model.error().message;
  return model ? *model : nullptr;
}

bool contains(const std::string& text, const std::string& words) { return text.find(words) != std::string::npos; }

TEST(Engine, LoadsTheShippedModelsOnCpu) {
  auto int8 = load_or_fail(Precision::int8);
  ASSERT_TRUE(int8);
  EXPECT_EQ(int8->device(), echo::Device::cpu);
  EXPECT_EQ(int8->precision(), Precision::int8);
  EXPECT_EQ(int8->manifest().quantized_engine, "onednn");
  EXPECT_EQ(int8->input_size(), 112);
  auto fp32 = load_or_fail(Precision::fp32, {echo::Device::cpu, Precision::auto_select, 2, 16});
  ASSERT_TRUE(fp32);
  EXPECT_EQ(fp32->precision(), Precision::fp32);
  EXPECT_EQ(fp32->max_batch(), 16);
}

TEST(Engine, MissingFileIsNotFound) {
  auto model = echo::SegmentationModel::load((echo_test::scratch_dir() / "absent.pt").string());
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, ErrorCode::not_found);
  const auto copy = echo_test::copy_model(echo::default_model_path(Precision::int8), "no_manifest");
  std::filesystem::remove(echo_test::manifest_of(copy));
  auto without_manifest = echo::SegmentationModel::load(copy.string());
  ASSERT_FALSE(without_manifest);
  EXPECT_EQ(without_manifest.error().code, ErrorCode::not_found);
  EXPECT_TRUE(contains(without_manifest.error().message, "no_manifest.json"));
}

TEST(Engine, RefusesACorruptedFile) {
  const auto copy = echo_test::copy_model(echo::default_model_path(Precision::int8), "corrupted");
  std::string bytes = echo_test::read_text(copy);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  echo_test::write_text(copy, bytes);
  auto model = echo::SegmentationModel::load(copy.string());
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, ErrorCode::model_invalid);
  EXPECT_TRUE(contains(model.error().message, "SHA-256")) << model.error().message;
  EXPECT_TRUE(contains(model.error().message, "corrupted.pt")) << model.error().message;
}

TEST(Engine, RefusesATruncatedFile) {
  const auto copy = echo_test::copy_model(echo::default_model_path(Precision::fp32), "truncated");
  std::filesystem::resize_file(copy, std::filesystem::file_size(copy) / 3);
  auto model = echo::SegmentationModel::load(copy.string());
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, ErrorCode::model_invalid);
  EXPECT_TRUE(contains(model.error().message, "does not match the manifest")) << model.error().message;
}

TEST(Engine, RefusesADamagedFileEvenWhenTheHashWasUpdated) {
  // Someone "fixed" the manifest hash after truncating: TorchScript itself must refuse to load it.
  const auto copy = echo_test::copy_model(echo::default_model_path(Precision::int8), "damaged_rehashed");
  std::filesystem::resize_file(copy, std::filesystem::file_size(copy) / 2);
  echo_test::rehash_manifest(copy);
  auto model = echo::SegmentationModel::load(copy.string());
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, ErrorCode::model_invalid);
  EXPECT_TRUE(contains(model.error().message, "TorchScript could not load it")) << model.error().message;
}

TEST(Engine, RefusesAWrongContract) {
  const auto copy = echo_test::copy_model(echo::default_model_path(Precision::int8), "wrong_contract");
  echo_test::edit_manifest(copy, "contract", "echo.lv_volume");
  auto model = echo::SegmentationModel::load(copy.string());
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, ErrorCode::model_invalid);
  EXPECT_TRUE(contains(model.error().message, "contract is 'echo.lv_volume'")) << model.error().message;
}

TEST(Engine, RefusesAnInputSizeTheNetworkDoesNotProduce) {
  // The manifest claims 96 x 96 input: the network runs but its output does not have the claimed shape,
  // or the forward fails; either way the dummy forward refuses it.
  const auto copy = echo_test::copy_model(echo::default_model_path(Precision::fp32), "wrong_size");
  echo_test::edit_manifest(copy, "input_size", 100);
  auto model = echo::SegmentationModel::load(copy.string());
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, ErrorCode::model_invalid);
  EXPECT_TRUE(contains(model.error().message, "lv_logits have shape") ||
              contains(model.error().message, "test forward pass")) << model.error().message;
}

TEST(Engine, RefusesAPrecisionTheFileCannotGive) {
  auto int8_as_fp32 = echo::SegmentationModel::load(echo::default_model_path(Precision::int8),
                                                     {echo::Device::cpu, Precision::fp32, 2, 32});
  ASSERT_FALSE(int8_as_fp32);
  EXPECT_EQ(int8_as_fp32.error().code, ErrorCode::unsupported);
  auto fp32_as_int8 = echo::SegmentationModel::load(echo::default_model_path(Precision::fp32),
                                                     {echo::Device::cpu, Precision::int8, 2, 32});
  ASSERT_FALSE(fp32_as_int8);
  EXPECT_TRUE(contains(fp32_as_int8.error().message, "quantised ahead of time")) << fp32_as_int8.error().message;
  auto fp16_on_cpu = echo::SegmentationModel::load(echo::default_model_path(Precision::fp32),
                                                    {echo::Device::cpu, Precision::fp16, 2, 32});
  ASSERT_FALSE(fp16_on_cpu);
  EXPECT_TRUE(contains(fp16_on_cpu.error().message, "fp16 runs on CUDA only"));
  auto int8_on_cuda = echo::SegmentationModel::load(echo::default_model_path(Precision::int8),
                                                     {echo::Device::cuda, Precision::int8, 2, 32});
  ASSERT_FALSE(int8_on_cuda);
  EXPECT_EQ(int8_on_cuda.error().code, ErrorCode::unsupported);
}

TEST(Engine, CudaRequestWithoutCudaIsUnsupported) {
  if (echo::cuda_available()) GTEST_SKIP() << "this machine has CUDA";
  auto model = echo::SegmentationModel::load(echo::default_model_path(Precision::fp32),
                                              {echo::Device::cuda, Precision::auto_select, 2, 32});
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().code, ErrorCode::unsupported);
  EXPECT_TRUE(contains(model.error().message, "CUDA was requested"));
}

TEST(Engine, RefusesBadOptions) {
  for (const echo::EngineOptions& options : {echo::EngineOptions{echo::Device::cpu, Precision::int8, 0, 0},
                                             echo::EngineOptions{echo::Device::cpu, Precision::int8, -1, 8}}) {
    auto model = echo::SegmentationModel::load(echo::default_model_path(Precision::int8), options);
    ASSERT_FALSE(model);
    EXPECT_EQ(model.error().code, ErrorCode::invalid_argument);
  }
}

TEST(Segment, RefusesBadInput) {
  auto model = load_or_fail(Precision::int8);
  ASSERT_TRUE(model);
  EXPECT_EQ(model->segment(nullptr, 1).error().code, ErrorCode::invalid_argument);
  auto frames = echo_test::apical_like_frames(3, 112);
  EXPECT_EQ(model->segment(frames.data(), 0).error().code, ErrorCode::invalid_argument);
  frames[112 * 112 + 5] = std::numeric_limits<float>::quiet_NaN();
  auto nan = model->segment(frames.data(), 3);
  ASSERT_FALSE(nan);
  EXPECT_TRUE(contains(nan.error().message, "frame 1")) << nan.error().message;
}

TEST(Segment, OutputsHaveTheContractShapes) {
  for (auto precision : {Precision::int8, Precision::fp32}) {
    auto model = load_or_fail(precision, {echo::Device::cpu, Precision::auto_select, 2, 4});
    ASSERT_TRUE(model);
    const int count = 10;  // 3 batches of at most 4
    const auto frames = echo_test::apical_like_frames(count, 112);
    auto out = model->segment(frames.data(), count);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(out->frame_count, count);
    EXPECT_EQ(out->size, 112);
    ASSERT_EQ(out->lv_masks.size(), std::size_t(count) * 112 * 112);
    ASSERT_EQ(out->view_probabilities.size(), std::size_t(count) * 3);
    for (auto v : out->lv_masks) ASSERT_TRUE(v == 0 || v == 255);
    for (int f = 0; f < count; ++f) {
      const float* p = out->view(f, 3);
      EXPECT_NEAR(p[0] + p[1] + p[2], 1.0f, 1e-5f);
    }
  }
}

TEST(Segment, DeterministicAcrossCallsAndBatchSizes) {
  const auto frames = echo_test::apical_like_frames(12, 112);
  for (auto precision : {Precision::int8, Precision::fp32}) {
    auto batched = load_or_fail(precision, {echo::Device::cpu, Precision::auto_select, 2, 32});
    auto single = load_or_fail(precision, {echo::Device::cpu, Precision::auto_select, 2, 1});
    ASSERT_TRUE(batched && single);
    auto first = batched->segment(frames.data(), 12);
    auto second = batched->segment(frames.data(), 12);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->lv_masks, second->lv_masks);
    EXPECT_EQ(first->view_probabilities, second->view_probabilities);
    // Batch 1 and batch 12 may take different kernels: the masks agree (a logit exactly at the threshold may
    // flip a pixel), the probabilities within float rounding.
    auto one_by_one = single->segment(frames.data(), 12);
    ASSERT_TRUE(one_by_one);
    std::size_t differing = 0;
    for (std::size_t i = 0; i < first->lv_masks.size(); ++i) differing += first->lv_masks[i] != one_by_one->lv_masks[i];
    EXPECT_LE(differing, first->lv_masks.size() / 10000) << precision_name(precision);
    for (std::size_t i = 0; i < first->view_probabilities.size(); ++i) {
      EXPECT_NEAR(first->view_probabilities[i], one_by_one->view_probabilities[i], 1e-3f);
    }
  }
}

TEST(Segment, OneModelSharedByManyThreadsGivesTheSingleThreadResult) {
  auto model = load_or_fail(Precision::int8, {echo::Device::cpu, Precision::auto_select, 1, 8});
  ASSERT_TRUE(model);
  echo_test::expect_many_threads_give_the_single_thread_result(*model, 8, 8, 6);
}

}  // namespace
