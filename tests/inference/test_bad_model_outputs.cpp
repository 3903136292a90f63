// Models whose TorchScript does not meet the contract, built at test time (LibTorch's own compiler) with a
// manifest whose hash matches: the dummy forward at load must refuse each with a message saying what is wrong.
#include <gtest/gtest.h>
#include <torch/script.h>

#include "echo/inference.hpp"
#include "inference_test_util.hpp"

namespace {

// Saves a module with the given forward() source beside a copy of the shipped fp32 manifest, rehashed.
std::filesystem::path make_model(const std::string& name, const std::string& forward_source) {
  torch::jit::Module module(name);
  module.define(forward_source);
  const auto copy = echo_test::copy_model(echo::default_model_path(echo::Precision::fp32), name);
  module.save(copy.string());
  echo_test::rehash_manifest(copy);
  return copy;
}

std::string load_error(const std::filesystem::path& path) {
  auto model = echo::SegmentationModel::load(path.string(), {echo::Device::cpu, echo::Precision::fp32, 1, 8});
  EXPECT_FALSE(model) << path;
  if (model) return "";
  EXPECT_EQ(model.error().code, echo::ErrorCode::model_invalid);
  return model.error().message;
}

TEST(ContractForward, AValidHandWrittenModelLoads) {
  const auto path = make_model("valid", R"(
def forward(self, x):
    return (x * 0.0 - 1.0, x.mean([2, 3]).repeat(1, 3))
)");
  auto model = echo::SegmentationModel::load(path.string(), {echo::Device::cpu, echo::Precision::fp32, 1, 8});
  ASSERT_TRUE(model) << model.error().message;
  const auto frames = echo_test::apical_like_frames(2, 112);
  auto out = (*model)->segment(frames.data(), 2);
  ASSERT_TRUE(out);
  for (auto v : out->lv_masks) ASSERT_EQ(v, 0);  // logits all -1
}

TEST(ContractForward, RefusesATensorInsteadOfATuple) {
  const auto message = load_error(make_model("single_output", "def forward(self, x):\n    return x\n"));
  EXPECT_NE(message.find("does not return a tuple"), std::string::npos) << message;
}

TEST(ContractForward, RefusesTheWrongNumberOfViews) {
  const auto message = load_error(make_model("two_views", R"(
def forward(self, x):
    return (x, x.mean([2, 3]).repeat(1, 2))
)"));
  EXPECT_NE(message.find("view_logits have shape [2, 2]"), std::string::npos) << message;
}

TEST(ContractForward, RefusesAMaskOfAnotherSize) {
  const auto message = load_error(make_model("half_size_mask", R"(
def forward(self, x):
    return (x[:, :, ::2, ::2], x.mean([2, 3]).repeat(1, 3))
)"));
  EXPECT_NE(message.find("lv_logits have shape [2, 1, 56, 56]"), std::string::npos) << message;
}

TEST(ContractForward, RefusesAModelThatFailsOnTheContractInput) {
  const auto message = load_error(make_model("wants_rgb", R"(
def forward(self, x):
    y = x.view(x.size(0), 3, -1)
    return (x, y.mean([2]))
)"));
  EXPECT_NE(message.find("test forward pass"), std::string::npos) << message;
}

TEST(ContractForward, RefusesNonFiniteOutputs) {
  const auto message = load_error(make_model("nan_output", R"(
def forward(self, x):
    return (x / 0.0 * 0.0, x.mean([2, 3]).repeat(1, 3))
)"));
  EXPECT_NE(message.find("non-finite"), std::string::npos) << message;
}

}  // namespace
