// The VLM runtime: loading and contract checks, the decoding loop against the Python reference loop,
// the key/value cache against full recomputation, and determinism across runs and threads.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "echo/preprocess.hpp"
#include "echo/vlm.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using echo::AnswerLanguage;
using echo::VlmModel;
using echo::VlmOptions;

const std::string kModelDir = std::string(ECHO_MODELS_DIR) + "/vlm";

std::shared_ptr<const VlmModel> load_model(bool int8) {
  VlmOptions options;
  options.int8 = int8;
  options.threads = 2;
  auto model = VlmModel::load(kModelDir + "/vlm.json", options);
  EXPECT_TRUE(model.has_value()) << (model ? "" : model.error().message);
  return model ? *model : nullptr;
}

// Same formula as models/vlm/export_vlm.py pattern_keyframes (exact in float32).
std::vector<float> pattern_keyframes(const VlmModel& model, int seed) {
  const std::size_t count = static_cast<std::size_t>(model.keyframe_count()) * model.input_size() * model.input_size();
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    values[i] = static_cast<float>((static_cast<std::int64_t>(i) * 7919 + seed * 104729LL) % 256) / 255.0f;
  }
  return values;
}

// A first beat early in a 60-frame loop: the timing the analyzer passes for a clip with complete beats.
echo::VlmKeyframeTiming first_beat_timing(const VlmModel& model) {
  return {echo::vlm_keyframe_indices(3, 12, model.keyframe_count()), 60};
}

nlohmann::json reference_answers() {
  std::ifstream in(kModelDir + "/vlm_reference_answers.json");
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in);
}

TEST(VlmModel, LoadsAndReportsItsContract) {
  const auto model = load_model(true);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->keyframe_count(), 4);
  EXPECT_EQ(model->input_size(), 112);
  EXPECT_TRUE(model->is_int8());
  EXPECT_FALSE(model->prompt(AnswerLanguage::zh).empty());
  EXPECT_NE(model->prompt(AnswerLanguage::zh), model->prompt(AnswerLanguage::en));
  // a folder is accepted as well as the manifest
  EXPECT_TRUE(VlmModel::load(kModelDir).has_value());
}

// The C++ loop (greedy, penalty, stop token, cache) gives the tokens of the Python reference loop.
TEST(VlmModel, MatchesThePythonReferenceLoop) {
  const auto fp32 = load_model(false);
  const auto int8 = load_model(true);
  ASSERT_NE(fp32, nullptr);
  ASSERT_NE(int8, nullptr);
  int checked = 0;
  const nlohmann::json reference = reference_answers();
  for (const auto& item : reference.at("cases")) {
    const auto& model = item.at("precision") == "int8" ? int8 : fp32;
    VlmOptions options;
    options.language = item.at("language") == "zh" ? AnswerLanguage::zh : AnswerLanguage::en;
    options.repetition_penalty = item.at("repetition_penalty").get<float>();
    options.max_new_tokens = item.at("max_new_tokens").get<int>();
    const auto frames = pattern_keyframes(*model, item.at("seed").get<int>());
    echo::Expected<echo::VlmAnswer> answer;
    if (item.at("keyframe_indices").is_null()) {  // timing unknown
      answer = model->answer(frames.data(), model->keyframe_count(), options);
    } else {
      const echo::VlmKeyframeTiming timing{item.at("keyframe_indices").get<std::vector<int>>(),
                                           item.at("loop_frame_count").get<int>()};
      // the C++ timing features are exactly the ones the Python reference fed the model
      const auto features = echo::vlm_timing_features(timing, model->keyframe_count());
      ASSERT_TRUE(features.has_value());
      EXPECT_EQ(*features, item.at("timing_features").get<std::vector<float>>()) << item.dump();
      answer = model->answer(frames.data(), model->keyframe_count(), timing, options);
    }
    ASSERT_TRUE(answer.has_value()) << answer.error().message;
    EXPECT_EQ(answer->text, item.at("text").get<std::string>()) << item.dump();
    EXPECT_EQ(answer->new_tokens, static_cast<int>(item.at("token_ids").size())) << item.dump();
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

// In fp32 the cache changes nothing but the cost (INT8 is not compared: dynamic quantisation scales each
// activation tensor by its own range, so a one-token step and a full recomputation round differently).
TEST(VlmModel, KeyValueCacheGivesTheSameAnswerAsFullRecomputation) {
  const auto model = load_model(false);
  ASSERT_NE(model, nullptr);
  for (int seed = 0; seed < 2; ++seed) {
    for (const auto language : {AnswerLanguage::zh, AnswerLanguage::en}) {
      const auto frames = pattern_keyframes(*model, seed);
      const auto timing = first_beat_timing(*model);
      VlmOptions options;
      options.language = language;
      options.max_new_tokens = 30;
      const auto cached = model->answer(frames.data(), model->keyframe_count(), timing, options);
      options.use_kv_cache = false;
      const auto full = model->answer(frames.data(), model->keyframe_count(), timing, options);
      ASSERT_TRUE(cached && full);
      EXPECT_EQ(cached->text, full->text);
      EXPECT_EQ(cached->new_tokens, full->new_tokens);
    }
  }
}

TEST(VlmModel, SameInputSameAnswerAcrossRunsAndThreads) {
  const auto model = load_model(true);
  ASSERT_NE(model, nullptr);
  const auto frames = pattern_keyframes(*model, 1);
  const auto timing = first_beat_timing(*model);
  std::vector<std::string> expected;
  for (const auto language : {AnswerLanguage::zh, AnswerLanguage::en}) {
    VlmOptions options;
    options.language = language;
    const auto first = model->answer(frames.data(), model->keyframe_count(), timing, options);
    ASSERT_TRUE(first.has_value());
    for (int run = 0; run < 3; ++run) {
      const auto again = model->answer(frames.data(), model->keyframe_count(), timing, options);
      ASSERT_TRUE(again.has_value());
      EXPECT_EQ(again->text, first->text);
    }
    expected.push_back(first->text);
  }
  constexpr int kThreads = 4;
  std::vector<std::vector<std::string>> seen(kThreads);
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int run = 0; run < 2; ++run) {
        for (const auto language : {AnswerLanguage::zh, AnswerLanguage::en}) {
          VlmOptions options;
          options.language = language;
          const auto answer = model->answer(frames.data(), model->keyframe_count(), timing, options);
          seen[t].push_back(answer ? answer->text : "error: " + answer.error().message);
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  for (const auto& texts : seen) {
    ASSERT_EQ(texts.size(), 4u);
    for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(texts[i], expected[i % 2]);
  }
}

// The full answer stops on <eos>; two tokens less (the <eos> and the last word) stops on the limit, with a
// truncated text that the grammar refuses.
TEST(VlmModel, TokenLimitIsHonoured) {
  const auto model = load_model(true);
  ASSERT_NE(model, nullptr);
  const auto frames = pattern_keyframes(*model, 0);
  const auto full = model->answer(frames.data(), model->keyframe_count());
  ASSERT_TRUE(full.has_value());
  EXPECT_FALSE(full->hit_token_limit);
  EXPECT_GT(full->decode_ms, 0.0);
  ASSERT_GE(full->new_tokens, 3);
  VlmOptions options;
  options.max_new_tokens = full->new_tokens - 2;
  const auto cut = model->answer(frames.data(), model->keyframe_count(), options);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->new_tokens, options.max_new_tokens);
  EXPECT_TRUE(cut->hit_token_limit);
  EXPECT_EQ(full->text.rfind(cut->text, 0), 0u) << cut->text << " is not a prefix of " << full->text;
  EXPECT_NE(cut->text, full->text);
  EXPECT_EQ(cut->kind, echo::VlmAnswer::Kind::unreadable) << cut->text;
}

TEST(VlmModel, BadInputIsAnErrorNotACrash) {
  const auto model = load_model(true);
  ASSERT_NE(model, nullptr);
  auto frames = pattern_keyframes(*model, 0);
  const int k = model->keyframe_count();
  EXPECT_EQ(model->answer(nullptr, k).error().code, echo::ErrorCode::invalid_argument);
  EXPECT_EQ(model->answer(frames.data(), k - 1).error().code, echo::ErrorCode::invalid_argument);
  VlmOptions options;
  options.max_new_tokens = 0;
  EXPECT_EQ(model->answer(frames.data(), k, options).error().code, echo::ErrorCode::invalid_argument);
  options = {};
  options.repetition_penalty = 0.5f;
  EXPECT_EQ(model->answer(frames.data(), k, options).error().code, echo::ErrorCode::invalid_argument);
  // timing that does not fit the keyframes or the loop
  EXPECT_EQ(model->answer(frames.data(), k, echo::VlmKeyframeTiming{{0, 1, 2}, 10}).error().code,
            echo::ErrorCode::invalid_argument);
  EXPECT_EQ(model->answer(frames.data(), k, echo::VlmKeyframeTiming{{0, 1, 2, 10}, 10}).error().code,
            echo::ErrorCode::invalid_argument);
  frames[1234] = std::numeric_limits<float>::quiet_NaN();
  const auto nan = model->answer(frames.data(), k);
  ASSERT_FALSE(nan.has_value());
  EXPECT_NE(nan.error().message.find("not finite"), std::string::npos);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(k) * model->input_size() * model->input_size(), 40);
  EXPECT_TRUE(model->answer_u8(bytes.data(), k).has_value());
  EXPECT_EQ(model->answer_u8(bytes.data(), k + 1).error().code, echo::ErrorCode::invalid_argument);
}

// What the analyzer calls: the keyframes of ED..ES of a preprocessed cine, with their place in the cine's loop
// (forwards for a measured beat, backwards when the smallest LV came before the largest).
TEST(VlmModel, AnswerForBeatPassesTheKeyframesAndTheirTiming) {
  const auto model = load_model(true);
  ASSERT_NE(model, nullptr);
  const int side = model->input_size();
  const std::size_t frame_values = static_cast<std::size_t>(side) * side;
  echo::Preprocessed cine;
  cine.spec.input_size = side;
  cine.spec.mean = model->normalization_mean();
  cine.spec.std = model->normalization_std();
  cine.frame_count = 20;
  cine.model_input.resize(frame_values * cine.frame_count);
  for (std::size_t i = 0; i < cine.model_input.size(); ++i) {
    cine.model_input[i] = static_cast<float>((i * 131 + (i / frame_values) * 17) % 256) / 255.0f;
  }
  for (const auto& [ed, es] : {std::pair{3, 12}, std::pair{15, 19}, std::pair{9, 2}}) {
    const echo::VlmKeyframeTiming timing{echo::vlm_keyframe_indices(ed, es, model->keyframe_count()), cine.frame_count};
    std::vector<float> stacked;
    for (const int index : timing.frame_indices) {
      stacked.insert(stacked.end(), cine.model_frame(index), cine.model_frame(index) + frame_values);
    }
    const auto direct = model->answer(stacked.data(), model->keyframe_count(), timing);
    const auto for_beat = echo::vlm_answer_for_beat(*model, cine, ed, es);
    ASSERT_TRUE(direct.has_value() && for_beat.has_value());
    EXPECT_EQ(for_beat->text, direct->text) << ed << ".." << es;
    EXPECT_EQ(for_beat->new_tokens, direct->new_tokens);
  }
  EXPECT_EQ(echo::vlm_answer_for_beat(*model, cine, 3, 20).error().code, echo::ErrorCode::invalid_argument);
  cine.spec.input_size = side / 2;
  EXPECT_EQ(echo::vlm_answer_for_beat(*model, cine, 3, 12).error().code, echo::ErrorCode::invalid_argument);
}

// Copies the model folder so that a test can break one thing in it.
fs::path copy_model(const fs::path& scratch) {
  for (const char* name : {"vlm.json", "vlm_int8.pt", "vlm_fp32.pt"}) {
    fs::copy_file(fs::path(kModelDir) / name, scratch / name, fs::copy_options::overwrite_existing);
  }
  return scratch / "vlm.json";
}

void rewrite_manifest(const fs::path& path, const std::function<void(nlohmann::json&)>& edit) {
  std::ifstream in(path);
  auto manifest = nlohmann::json::parse(in);
  in.close();
  edit(manifest);
  std::ofstream(path) << manifest.dump();
}

TEST(VlmModel, RefusesModelsThatBreakTheirManifest) {
  EXPECT_EQ(VlmModel::load("/nonexistent/vlm.json").error().code, echo::ErrorCode::not_found);
  EXPECT_EQ(VlmModel::load("/nonexistent/model.pt").error().code, echo::ErrorCode::invalid_argument);

  const fs::path scratch = echo_test::scratch_dir();
  const fs::path manifest = copy_model(scratch);
  ASSERT_TRUE(VlmModel::load(manifest.string()).has_value());

  {  // one changed byte in the weights
    std::fstream file(scratch / "vlm_int8.pt", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    file.put('\x5a');
  }
  const auto tampered = VlmModel::load(manifest.string());
  ASSERT_FALSE(tampered.has_value());
  EXPECT_EQ(tampered.error().code, echo::ErrorCode::model_invalid);
  EXPECT_NE(tampered.error().message.find("SHA-256"), std::string::npos);

  copy_model(scratch);
  rewrite_manifest(manifest, [](nlohmann::json& m) { m["contract"] = "echo.something_else"; });
  EXPECT_EQ(VlmModel::load(manifest.string()).error().code, echo::ErrorCode::model_invalid);

  copy_model(scratch);  // a model of the first contract (no timing input) is refused, not fed the wrong input
  rewrite_manifest(manifest, [](nlohmann::json& m) { m["contract_version"] = 1; });
  const auto old_contract = VlmModel::load(manifest.string());
  ASSERT_FALSE(old_contract.has_value());
  EXPECT_EQ(old_contract.error().code, echo::ErrorCode::model_invalid);
  EXPECT_NE(old_contract.error().message.find("contract_version"), std::string::npos);

  copy_model(scratch);
  rewrite_manifest(manifest, [](nlohmann::json& m) { m["timing_features"] = 4; });
  const auto wrong_timing = VlmModel::load(manifest.string());
  ASSERT_FALSE(wrong_timing.has_value());
  EXPECT_NE(wrong_timing.error().message.find("timing_features"), std::string::npos);

  copy_model(scratch);
  rewrite_manifest(manifest, [](nlohmann::json& m) { m["visual_tokens"] = 7; });  // shape check at load
  const auto wrong_shape = VlmModel::load(manifest.string());
  ASSERT_FALSE(wrong_shape.has_value());
  EXPECT_NE(wrong_shape.error().message.find("encode()"), std::string::npos);

  copy_model(scratch);
  rewrite_manifest(manifest, [](nlohmann::json& m) { m.erase("vocabulary"); });
  EXPECT_EQ(VlmModel::load(manifest.string()).error().code, echo::ErrorCode::model_invalid);

  std::ofstream(manifest) << "{ not json";
  EXPECT_EQ(VlmModel::load(manifest.string()).error().code, echo::ErrorCode::model_invalid);
}

// The vocabulary and prompts live in the manifest, outside the weights' hash: with the shipped weights, only the
// shipped manifest, byte for byte (a re-serialised but equal one is another file and is refused too).
TEST(VlmModel, ShippedWeightsLoadOnlyWithTheShippedManifest) {
  const fs::path scratch = echo_test::scratch_dir();
  const fs::path manifest = copy_model(scratch);
  rewrite_manifest(manifest, [](nlohmann::json& m) {
    auto& vocabulary = m.at("vocabulary");
    for (auto& token : vocabulary)
      if (token == "LVEF approximately ") token = "LVEF about ";
  });
  const auto changed = VlmModel::load(manifest.string());
  ASSERT_FALSE(changed.has_value());
  EXPECT_EQ(changed.error().code, echo::ErrorCode::model_invalid);
  EXPECT_NE(changed.error().message.find("not the one shipped with them"), std::string::npos) << changed.error().message;
}

// A manifest is data: the files it names must be plain names beside it, regular files of bounded size; never
// another folder or a device, which could be read forever.
TEST(VlmModel, ManifestFileNamesStayBesideTheManifest) {
  const fs::path scratch = echo_test::scratch_dir();
  const fs::path manifest = copy_model(scratch);
  for (const char* name : {"/dev/zero", "../vlm_int8.pt", "sub/vlm_int8.pt", "..", ""}) {
    copy_model(scratch);
    rewrite_manifest(manifest, [&](nlohmann::json& m) { m["files"]["int8"]["path"] = name; });
    const auto loaded = VlmModel::load(manifest.string());
    ASSERT_FALSE(loaded.has_value()) << name;
    EXPECT_EQ(loaded.error().code, echo::ErrorCode::model_invalid) << name;
    EXPECT_NE(loaded.error().message.find("not a plain file name beside the manifest"), std::string::npos)
        << loaded.error().message;
  }
  copy_model(scratch);
  fs::remove(scratch / "vlm_int8.pt");
  fs::create_symlink("/dev/zero", scratch / "vlm_int8.pt");  // a device under a plain name
  const auto device = VlmModel::load(manifest.string());
  ASSERT_FALSE(device.has_value());
  EXPECT_NE(device.error().message.find("the file does not exist"), std::string::npos) << device.error().message;
  fs::remove(scratch / "vlm_int8.pt");
}

TEST(VlmModel, DefaultPathFindsTheReferenceModel) {
  EXPECT_TRUE(fs::exists(echo::default_vlm_model_path())) << echo::default_vlm_model_path();
}

}  // namespace
