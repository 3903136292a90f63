// The model contract without LibTorch: SHA-256 and manifest parsing / contract checks.
#include <gtest/gtest.h>

#include <string>

#include "echo/inference.hpp"
#include "inference_test_util.hpp"

namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(echo::sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(echo::sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(echo::sha256_hex(two_blocks.data(), two_blocks.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million_a(1000000, 'a');
  EXPECT_EQ(echo::sha256_hex(million_a.data(), million_a.size()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, FileMatchesBuffer) {
  const auto path = echo_test::scratch_dir() / "bytes.bin";
  std::string bytes;
  for (int i = 0; i < 200000; ++i) bytes.push_back(static_cast<char>((i * 131) & 0xff));
  echo_test::write_text(path, bytes);
  auto file_hash = echo::sha256_file_hex(path.string());
  ASSERT_TRUE(file_hash) << file_hash.error().message;
  EXPECT_EQ(*file_hash, echo::sha256_hex(bytes.data(), bytes.size()));
  auto missing = echo::sha256_file_hex((echo_test::scratch_dir() / "absent.bin").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, echo::ErrorCode::not_found);
}

TEST(Manifest, ShippedManifestsMeetTheContract) {
  for (auto precision : {echo::Precision::int8, echo::Precision::fp32}) {
    const std::string model = echo::default_model_path(precision);
    auto manifest = echo::read_model_manifest(echo_test::manifest_of(model).string());
    ASSERT_TRUE(manifest) << manifest.error().message;
    EXPECT_EQ(manifest->contract, "echo.lv_segmentation");
    EXPECT_EQ(manifest->contract_version, 1);
    EXPECT_EQ(manifest->input_size, 112);
    EXPECT_EQ(manifest->view_labels, (std::vector<std::string>{"a4c", "a2c", "other"}));
    EXPECT_EQ(manifest->precision, precision == echo::Precision::int8 ? "int8" : "fp32");
    EXPECT_FALSE(manifest->validated_on_real_patients);
    EXPECT_FALSE(manifest->training_data.empty());
    EXPECT_FALSE(manifest->json.empty());
    auto actual = echo::sha256_file_hex(model);
    ASSERT_TRUE(actual);
    EXPECT_EQ(*actual, manifest->weights_sha256) << model;
  }
}

// Each edit of a valid manifest and the words the refusal must contain.
struct ManifestEdit {
  std::string key;
  nlohmann::json value;
  std::string expected_words;
};

TEST(Manifest, RefusesWhatBreaksTheContract) {
  const auto base = nlohmann::json::parse(
      echo_test::read_text(echo_test::manifest_of(echo::default_model_path(echo::Precision::int8))));
  const std::vector<ManifestEdit> edits = {
      {"contract", "echo.lv_volume", "contract is 'echo.lv_volume'"},
      {"contract_version", 2, "contract version 2 is not supported"},
      {"input_size", 4, "input_size 4 is outside"},
      {"input_std", 0.0, "input_std in [1e-6, 1e6]"},
      {"input_std", 1e-30, "input_std in [1e-6, 1e6]"},
      {"input_mean", 1e30, "|input_mean| <= 1e6"},
      {"view_labels", {"a4c", "a2c"}, "view_labels are [a4c, a2c]"},
      {"view_labels", {"a2c", "a4c", "other"}, "view_labels are [a2c, a4c, other]"},
      {"precision", "fp16", "precision 'fp16' is not a file precision"},
      {"quantized_engine", "tensorrt", "quantized_engine 'tensorrt'"},
      {"weights_sha256", "1234", "weights_sha256 is not 64 lowercase hex digits"},
      {"input_size", "112", "field 'input_size' has the wrong type"},
  };
  for (const auto& edit : edits) {
    auto doc = base;
    doc[edit.key] = edit.value;
    auto parsed = echo::parse_model_manifest(doc.dump(), "edited.json");
    ASSERT_FALSE(parsed) << edit.key;
    EXPECT_EQ(parsed.error().code, echo::ErrorCode::model_invalid);
    EXPECT_NE(parsed.error().message.find(edit.expected_words), std::string::npos) << parsed.error().message;
    EXPECT_NE(parsed.error().message.find("edited.json"), std::string::npos);
  }
  auto doc = base;
  doc.erase("training_data");
  auto missing = echo::parse_model_manifest(doc.dump(), "edited.json");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("required field 'training_data' is missing"), std::string::npos);
  auto not_json = echo::parse_model_manifest("{\"contract\": ", "broken.json");
  ASSERT_FALSE(not_json);
  EXPECT_NE(not_json.error().message.find("not a JSON object"), std::string::npos);
  EXPECT_TRUE(echo::parse_model_manifest(base.dump(), "unchanged.json"));
}

TEST(Manifest, MissingManifestIsNotFound) {
  auto result = echo::read_model_manifest((echo_test::scratch_dir() / "absent.json").string());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, echo::ErrorCode::not_found);
}

TEST(ModelPath, EnvironmentOverridesAndFileNames) {
  EXPECT_NE(echo::default_model_path(echo::Precision::int8).find("lv_seg_int8.pt"), std::string::npos);
  EXPECT_NE(echo::default_model_path(echo::Precision::fp32).find("lv_seg_fp32.pt"), std::string::npos);
  EXPECT_NE(echo::default_model_path(echo::Precision::fp16).find("lv_seg_fp32.pt"), std::string::npos);
  const auto dir = echo_test::scratch_dir();
  echo_test::write_text(dir / "lv_seg_int8.pt", "x");
  const char* previous = std::getenv("ECHO_MODEL_DIR");
  const std::string saved = previous ? previous : "";
  setenv("ECHO_MODEL_DIR", dir.c_str(), 1);
  EXPECT_EQ(echo::default_model_path(echo::Precision::int8), (dir / "lv_seg_int8.pt").string());
  if (previous) setenv("ECHO_MODEL_DIR", saved.c_str(), 1); else unsetenv("ECHO_MODEL_DIR");
}

}  // namespace
