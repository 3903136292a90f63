// The VLM runtime: loads the TorchScript model named by the manifest and runs the decoding loop
// (greedy, repetition penalty, stop tokens, key/value cache). The only LibTorch TU of src/vlm.
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/bounded_read.hpp"
#include "common/shipped_models.hpp"
#include "common/torchscript_archive.hpp"
#include "echo/preprocess.hpp"
#include "echo/vlm.hpp"
#include "echo/sha256.hpp"
#include "vlm/tokenizer.hpp"

namespace echo {

namespace fs = std::filesystem;

inline constexpr const char* kVlmContract = "echo.vlm";
// 2: encode() takes the keyframes' timing in their loop beside the frames (vlm_timing_features).
inline constexpr int kVlmContractVersion = 2;

struct VlmModel::Impl {
  std::string manifest_path;
  mutable torch::jit::Module module;  // run_method is const-safe in practice; the module is never changed
  vlm::Tokenizer tokenizer;
  std::vector<int> prompt_ids[2];     // zh, en, each ending with <answer>
  std::string prompts[2];
  std::set<int> stop_ids;
  int keyframes = 0;
  int timing_features = 0;  // keyframes + 2 (vlm_timing_features)
  int input_size = 0;
  int visual_tokens = 0;
  int max_text_positions = 0;
  int vocabulary_size = 0;
  float mean = 0.0f;
  float std = 1.0f;
  bool int8 = false;
};

namespace {

Error model_error(const std::string& path, const std::string& reason) {
  return Error{ErrorCode::model_invalid, "VLM model '" + path + "': " + reason};
}

// Limits on what a manifest makes us read: the manifest itself (vocabulary included) and each TorchScript file.
constexpr std::uintmax_t kMaxManifestBytes = std::uintmax_t(16) << 20;
constexpr std::uintmax_t kMaxArchiveBytes = std::uintmax_t(1) << 30;

Expected<nlohmann::json> read_manifest(const std::string& path) {
  auto text = read_bounded_file(path, kMaxManifestBytes);
  if (!text) {
    // An oversized manifest is a damaged model, not a resource limit of the caller's.
    const ErrorCode code = text.error().code == ErrorCode::too_large ? ErrorCode::model_invalid : text.error().code;
    return make_error(code, "VLM manifest '" + path + "' cannot be opened: " + text.error().message);
  }
  try {
    return nlohmann::json::parse(*text);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::model_invalid, "VLM manifest '" + path + "' is not valid JSON: " + e.what());
  }
}

// The first index of the largest value (ties go to the lower token id: deterministic).
int argmax_first(const std::vector<float>& scores) {
  return static_cast<int>(std::max_element(scores.begin(), scores.end()) - scores.begin());
}

void apply_repetition_penalty(std::vector<float>& scores, const std::vector<int>& generated, float penalty) {
  if (penalty == 1.0f) return;
  const std::set<int> seen(generated.begin(), generated.end());
  for (const int token : seen) {
    float& value = scores[static_cast<std::size_t>(token)];
    value = value > 0.0f ? value / penalty : value * penalty;
  }
}

std::vector<float> to_scores(const torch::Tensor& logits) {
  const torch::Tensor row = logits.reshape({-1}).to(torch::kFloat32).contiguous();
  return std::vector<float>(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
}

torch::Tensor ids_tensor(const std::vector<int>& ids) {
  std::vector<std::int64_t> wide(ids.begin(), ids.end());
  return torch::tensor(wide, torch::kLong).reshape({1, static_cast<std::int64_t>(wide.size())});
}

// A file the manifest names: a plain file name, beside the manifest (a manifest is data, and must not make us
// read another folder, a device or a FIFO).
std::string file_name_problem(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find_first_of("/\\") != std::string::npos || name.find('\0') != std::string::npos)
    return "the file name '" + name + "' is not a plain file name beside the manifest";
  return "";
}

// The bytes of `file`, whose SHA-256 must be `expected_hex`: the bytes hashed are the bytes loaded.
Expected<std::string> read_checked_file(const fs::path& file, const std::string& expected_hex, const std::string& manifest) {
  auto read = read_bounded_file(file.string(), kMaxArchiveBytes);
  if (!read) return tl::unexpected(model_error(manifest, "cannot read '" + file.string() + "': " + read.error().message));
  std::string& bytes = *read;
  const std::string actual = sha256_hex(bytes.data(), bytes.size());
  if (actual != expected_hex) {
    return tl::unexpected(model_error(manifest, "SHA-256 of '" + file.filename().string() + "' is " + actual +
                                                    ", the manifest says " + expected_hex));
  }
  return std::move(bytes);
}

// Manifest fields -> Impl (everything but the module). Throws nlohmann::json exceptions on wrong types.
Expected<void> read_contract(const nlohmann::json& manifest, const std::string& path, VlmModel::Impl& impl) {
  if (manifest.value("contract", "") != kVlmContract) {
    return tl::unexpected(model_error(path, "contract is not '" + std::string(kVlmContract) + "'"));
  }
  if (manifest.value("contract_version", 0) != kVlmContractVersion) {
    return tl::unexpected(model_error(path, "contract_version " + std::to_string(manifest.value("contract_version", 0)) +
                                                " is not " + std::to_string(kVlmContractVersion)));
  }
  impl.keyframes = manifest.at("keyframes").get<int>();
  impl.timing_features = manifest.at("timing_features").get<int>();
  impl.input_size = manifest.at("input_size").get<int>();
  impl.visual_tokens = manifest.at("visual_tokens").get<int>();
  impl.max_text_positions = manifest.at("max_text_positions").get<int>();
  impl.mean = manifest.at("normalization").at("mean").get<float>();
  impl.std = manifest.at("normalization").at("std").get<float>();
  if (impl.keyframes < 1 || impl.keyframes > 64 || impl.input_size < 16 || impl.input_size > 1024 ||
      !(impl.std > 0.0f) || impl.visual_tokens < 1 || impl.max_text_positions < 2) {
    return tl::unexpected(model_error(path, "keyframes, input_size, visual_tokens, max_text_positions or std out of range"));
  }
  if (impl.timing_features != impl.keyframes + 2) {
    return tl::unexpected(model_error(path, "timing_features " + std::to_string(impl.timing_features) + " is not keyframes + 2 = " +
                                                std::to_string(impl.keyframes + 2) + " (the timing input this runtime writes)"));
  }
  auto tokenizer = vlm::Tokenizer::create(manifest.at("vocabulary").get<std::vector<std::string>>());
  if (!tokenizer) return tl::unexpected(model_error(path, tokenizer.error().message));
  impl.tokenizer = std::move(*tokenizer);
  impl.vocabulary_size = impl.tokenizer.vocabulary_size();
  const char* languages[2] = {"zh", "en"};
  for (int i = 0; i < 2; ++i) {
    impl.prompts[i] = manifest.at("prompts").at(languages[i]).get<std::string>();
    impl.prompt_ids[i] = impl.tokenizer.encode(impl.prompts[i]);
    impl.prompt_ids[i].push_back(impl.tokenizer.answer_id());
    if (static_cast<int>(impl.prompt_ids[i].size()) >= impl.max_text_positions) {
      return tl::unexpected(model_error(path, std::string("the ") + languages[i] + " prompt is longer than max_text_positions"));
    }
  }
  impl.stop_ids.insert(impl.tokenizer.eos_id());
  return {};
}

// One answer with fixed inputs, to check the contract's shapes at load.
Expected<void> check_shapes(VlmModel::Impl& impl, const std::string& path) {
  const auto frames = torch::zeros({1, impl.keyframes, impl.input_size, impl.input_size});
  const auto timing = torch::zeros({1, impl.timing_features});
  const torch::Tensor visual = impl.module.run_method("encode", frames, timing).toTensor();
  if (visual.dim() != 3 || visual.size(0) != 1 || visual.size(1) != impl.visual_tokens) {
    return tl::unexpected(model_error(path, "encode() gives shape " + c10::str(visual.sizes()) + ", the manifest says [1, " +
                                                std::to_string(impl.visual_tokens) + ", D]"));
  }
  const auto out = impl.module.run_method("prefill", visual, ids_tensor(impl.prompt_ids[0])).toTuple();
  const torch::Tensor logits = out->elements()[0].toTensor();
  if (logits.dim() != 2 || logits.size(1) != impl.vocabulary_size) {
    return tl::unexpected(model_error(path, "prefill() gives logits of shape " + c10::str(logits.sizes()) +
                                                " for a vocabulary of " + std::to_string(impl.vocabulary_size)));
  }
  return {};
}

Expected<std::string> resolve_manifest_path(const std::string& model_path) {
  std::error_code ec;
  if (fs::is_directory(model_path, ec)) return (fs::path(model_path) / "vlm.json").string();
  if (fs::path(model_path).extension() == ".json") return model_path;
  return make_error(ErrorCode::invalid_argument,
                    "VLM model path '" + model_path + "' is neither a manifest (.json) nor a folder holding vlm.json");
}

}  // namespace

VlmModel::VlmModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VlmModel::~VlmModel() = default;

Expected<std::shared_ptr<const VlmModel>> VlmModel::load(const std::string& model_path, const VlmOptions& options) {
  auto manifest_path = resolve_manifest_path(model_path);
  if (!manifest_path) return tl::unexpected(manifest_path.error());
  const std::string& path = *manifest_path;
  auto manifest = read_manifest(path);
  if (!manifest) return tl::unexpected(manifest.error());
  auto impl = std::make_unique<Impl>();
  impl->manifest_path = path;
  try {
    if (auto ok = read_contract(*manifest, path, *impl); !ok) return tl::unexpected(ok.error());
    const nlohmann::json& files = manifest->at("files");
    const char* precision = options.int8 ? "int8" : "fp32";
    if (!files.contains(precision)) return tl::unexpected(model_error(path, std::string("no ") + precision + " file listed"));
    const nlohmann::json& entry = files.at(precision);
    const std::string file_name = entry.at("path").get<std::string>();
    if (const std::string problem = file_name_problem(file_name); !problem.empty())
      return tl::unexpected(model_error(path, std::string(precision) + " entry: " + problem));
    const fs::path file = fs::path(path).parent_path() / file_name;
    const std::string archive_sha256 = entry.at("sha256").get<std::string>();
    auto archive = read_checked_file(file, archive_sha256, path);
    if (!archive) return tl::unexpected(archive.error());
    if (const std::string problem = torchscript_archive_problem(*archive); !problem.empty())
      return tl::unexpected(model_error(path, "the TorchScript archive '" + file.filename().string() + "' is damaged: " + problem));
    if (options.int8) {
      const std::string engine = entry.value("quantized_engine", "onednn");
      if (engine != "onednn" && engine != "qnnpack") {
        return make_error(ErrorCode::unsupported, "VLM model '" + path + "': quantised engine '" + engine +
                                                      "' is not in this LibTorch (onednn, qnnpack)");
      }
      // Weights are repacked for the engine at load, so it must be set before torch::jit::load.
      at::globalContext().setQEngine(engine == "onednn" ? at::QEngine::ONEDNN : at::QEngine::QNNPACK);
    }
    if (options.threads > 0) at::set_num_threads(options.threads);
    impl->int8 = options.int8;
    std::istringstream archive_stream(std::move(*archive));
    impl->module = torch::jit::load(archive_stream, torch::kCPU);
    impl->module.eval();
    torch::InferenceMode guard;
    if (auto ok = check_shapes(*impl, path); !ok) return tl::unexpected(ok.error());
    // Last, so that a manifest breaking the contract keeps its specific message.
#ifdef ECHO_SHIPPED_VLM_PAIRS
    if (auto pinned = check_pinned_manifest(ECHO_SHIPPED_VLM_PAIRS, archive_sha256, path, "VLM manifest"); !pinned)
      return tl::unexpected(pinned.error());
#endif
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::model_invalid, "VLM manifest '" + path + "' lacks a field or has a wrong type: " + e.what());
  } catch (const c10::Error& e) {
    return make_error(ErrorCode::model_invalid, "VLM model '" + path + "' failed to load or run: " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return make_error(ErrorCode::model_invalid, "VLM model '" + path + "': " + e.what());
  }
  return std::shared_ptr<const VlmModel>(new VlmModel(std::move(impl)));
}

Expected<VlmAnswer> VlmModel::answer(const float* keyframes, int keyframe_count, const VlmOptions& options) const {
  // all zeros: the timing is unknown (a tenth of the training samples are shown so)
  return run(keyframes, keyframe_count, std::vector<float>(static_cast<std::size_t>(impl_->timing_features), 0.0f), options);
}

Expected<VlmAnswer> VlmModel::answer(const float* keyframes, int keyframe_count, const VlmKeyframeTiming& timing,
                                     const VlmOptions& options) const {
  auto features = vlm_timing_features(timing, impl_->keyframes);
  if (!features) return tl::unexpected(features.error());
  return run(keyframes, keyframe_count, *features, options);
}

Expected<VlmAnswer> VlmModel::run(const float* keyframes, int keyframe_count, const std::vector<float>& timing,
                                  const VlmOptions& options) const {
  const Impl& impl = *impl_;
  if (keyframes == nullptr) return make_error(ErrorCode::invalid_argument, "VLM answer: keyframes is null");
  if (keyframe_count != impl.keyframes) {
    return make_error(ErrorCode::invalid_argument, "VLM answer: " + std::to_string(keyframe_count) +
                                                       " keyframes given, the model reads " + std::to_string(impl.keyframes));
  }
  if (options.max_new_tokens < 1 || options.max_new_tokens > 512) {
    return make_error(ErrorCode::invalid_argument, "VLM answer: max_new_tokens " + std::to_string(options.max_new_tokens) +
                                                       " is outside 1..512");
  }
  if (!(options.repetition_penalty >= 1.0f && options.repetition_penalty <= 10.0f)) {
    return make_error(ErrorCode::invalid_argument, "VLM answer: repetition_penalty must be in [1, 10]");
  }
  const std::size_t value_count = static_cast<std::size_t>(keyframe_count) * impl.input_size * impl.input_size;
  for (std::size_t i = 0; i < value_count; ++i) {
    if (!std::isfinite(keyframes[i])) {
      return make_error(ErrorCode::invalid_argument, "VLM answer: keyframe value " + std::to_string(i) + " is not finite");
    }
  }
  const int language = options.language == AnswerLanguage::zh ? 0 : 1;
  const std::vector<int>& prompt = impl.prompt_ids[language];
  const int token_limit =
      std::min(options.max_new_tokens, impl.max_text_positions - static_cast<int>(prompt.size()));

  const auto start = std::chrono::steady_clock::now();
  std::vector<int> generated;
  bool stopped = false;
  try {
    torch::InferenceMode guard;
    torch::jit::Module& module = impl.module;
    const torch::Tensor frames =
        torch::from_blob(const_cast<float*>(keyframes), {1, keyframe_count, impl.input_size, impl.input_size}, torch::kFloat32);
    const torch::Tensor timing_input =
        torch::from_blob(const_cast<float*>(timing.data()), {1, static_cast<std::int64_t>(timing.size())}, torch::kFloat32);
    const torch::Tensor visual = module.run_method("encode", frames, timing_input).toTensor();
    auto state = module.run_method("prefill", visual, ids_tensor(prompt)).toTuple();
    torch::Tensor logits = state->elements()[0].toTensor();
    torch::Tensor keys = state->elements()[1].toTensor();
    torch::Tensor values = state->elements()[2].toTensor();
    while (static_cast<int>(generated.size()) < token_limit) {
      std::vector<float> scores = to_scores(logits);
      apply_repetition_penalty(scores, generated, options.repetition_penalty);
      const int token = argmax_first(scores);
      generated.push_back(token);
      if (impl.stop_ids.count(token) != 0) {
        stopped = true;
        break;
      }
      if (static_cast<int>(generated.size()) == token_limit) break;
      if (options.use_kv_cache) {
        const auto next = module.run_method("step", torch::tensor({static_cast<std::int64_t>(token)}, torch::kLong), keys, values).toTuple();
        logits = next->elements()[0].toTensor();
        keys = next->elements()[1].toTensor();
        values = next->elements()[2].toTensor();
      } else {
        std::vector<int> ids = prompt;
        ids.insert(ids.end(), generated.begin(), generated.end());
        logits = module.run_method("full_logits", visual, ids_tensor(ids)).toTensor();
      }
    }
  } catch (const c10::Error& e) {
    return make_error(ErrorCode::internal, std::string("VLM answer: the model failed: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal, std::string("VLM answer: ") + e.what());
  }
  VlmAnswer answer = parse_vlm_answer(impl.tokenizer.decode(generated));
  answer.new_tokens = static_cast<int>(generated.size());
  answer.hit_token_limit = !stopped;
  answer.decode_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return answer;
}

Expected<VlmAnswer> VlmModel::answer_u8(const std::uint8_t* keyframes, int keyframe_count, const VlmOptions& options) const {
  if (keyframes == nullptr) return make_error(ErrorCode::invalid_argument, "VLM answer: keyframes is null");
  if (keyframe_count != impl_->keyframes) {
    return make_error(ErrorCode::invalid_argument, "VLM answer: " + std::to_string(keyframe_count) +
                                                       " keyframes given, the model reads " + std::to_string(impl_->keyframes));
  }
  const std::size_t count = static_cast<std::size_t>(keyframe_count) * impl_->input_size * impl_->input_size;
  std::vector<float> normalised(count);
  for (std::size_t i = 0; i < count; ++i) normalised[i] = (keyframes[i] / 255.0f - impl_->mean) / impl_->std;
  return answer(normalised.data(), keyframe_count, options);
}

Expected<VlmAnswer> vlm_answer_for_beat(const VlmModel& model, const Preprocessed& cine, int ed_frame, int es_frame,
                                        const VlmOptions& options) {
  if (cine.spec.input_size != model.input_size()) {
    return make_error(ErrorCode::invalid_argument, "VLM answer: the cine was preprocessed at " +
                                                       std::to_string(cine.spec.input_size) + " px, the VLM reads " +
                                                       std::to_string(model.input_size()) + " px");
  }
  if (std::fabs(cine.spec.mean - model.normalization_mean()) > 1e-6f ||
      std::fabs(cine.spec.std - model.normalization_std()) > 1e-6f) {
    return make_error(ErrorCode::invalid_argument, "VLM answer: the cine's normalisation (mean, std) differs from the VLM's");
  }
  if (ed_frame < 0 || es_frame < 0 || ed_frame >= cine.frame_count || es_frame >= cine.frame_count) {
    return make_error(ErrorCode::invalid_argument, "VLM answer: keyframes " + std::to_string(ed_frame) + ".." +
                                                       std::to_string(es_frame) + " outside the cine's " +
                                                       std::to_string(cine.frame_count) + " frames");
  }
  const std::size_t frame_values = static_cast<std::size_t>(model.input_size()) * model.input_size();
  if (cine.model_input.size() < frame_values * static_cast<std::size_t>(cine.frame_count)) {
    return make_error(ErrorCode::invalid_argument, "VLM answer: the preprocessed cine holds fewer values than its frames need");
  }
  std::vector<float> stacked;
  stacked.reserve(frame_values * static_cast<std::size_t>(model.keyframe_count()));
  VlmKeyframeTiming timing;
  timing.frame_indices = vlm_keyframe_indices(ed_frame, es_frame, model.keyframe_count());
  timing.loop_frame_count = cine.frame_count;
  for (const int index : timing.frame_indices) {
    const float* frame = cine.model_frame(index);
    stacked.insert(stacked.end(), frame, frame + frame_values);
  }
  return model.answer(stacked.data(), model.keyframe_count(), timing, options);
}

int VlmModel::keyframe_count() const { return impl_->keyframes; }
int VlmModel::input_size() const { return impl_->input_size; }
float VlmModel::normalization_mean() const { return impl_->mean; }
float VlmModel::normalization_std() const { return impl_->std; }
std::string VlmModel::prompt(AnswerLanguage language) const { return impl_->prompts[language == AnswerLanguage::zh ? 0 : 1]; }
bool VlmModel::is_int8() const { return impl_->int8; }
const std::string& VlmModel::manifest_path() const { return impl_->manifest_path; }

}  // namespace echo
