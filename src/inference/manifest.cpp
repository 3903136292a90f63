// Model manifest: parsing, contract checks and where the shipped models live. Torch-free.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "echo/inference.hpp"
#include <iterator>
#include "echo/sha256.hpp"
#include "common/shipped_models.hpp"
#include "inference/engine_internal.hpp"

namespace echo {
namespace {

constexpr std::size_t kMaxManifestBytes = 1 << 20;
const std::vector<std::string> kContractViewLabels = {"a4c", "a2c", "other"};

tl::unexpected<Error> manifest_error(const std::string& source, const std::string& reason) {
  return make_error(ErrorCode::model_invalid, "model manifest '" + source + "': " + reason);
}

std::string join(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

bool is_lower_hex_64(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Reads the JSON fields into a manifest; type errors become one readable message.
Expected<ModelManifest> fields_from_json(const nlohmann::json& doc, const std::string& source) {
  const char* field = "";
  try {
    ModelManifest m;
    field = "contract"; m.contract = doc.at(field).get<std::string>();
    field = "contract_version"; m.contract_version = doc.at(field).get<int>();
    field = "name"; m.name = doc.at(field).get<std::string>();
    field = "version"; m.version = doc.at(field).get<std::string>();
    field = "description"; m.description = doc.value(field, std::string());
    field = "training_data"; m.training_data = doc.at(field).get<std::string>();
    field = "validated_on_real_patients"; m.validated_on_real_patients = doc.at(field).get<bool>();
    field = "input_size"; m.input_size = doc.at(field).get<int>();
    field = "input_mean"; m.input_mean = doc.at(field).get<float>();
    field = "input_std"; m.input_std = doc.at(field).get<float>();
    field = "view_labels"; m.view_labels = doc.at(field).get<std::vector<std::string>>();
    field = "precision"; m.precision = doc.at(field).get<std::string>();
    field = "quantized_engine"; m.quantized_engine = doc.value(field, std::string());
    field = "weights_sha256"; m.weights_sha256 = doc.at(field).get<std::string>();
    return m;
  } catch (const nlohmann::json::out_of_range&) {
    return manifest_error(source, std::string("required field '") + field + "' is missing");
  } catch (const nlohmann::json::exception&) {
    return manifest_error(source, std::string("field '") + field + "' has the wrong type");
  }
}

Expected<void> check_contract(const ModelManifest& m, const std::string& source) {
  if (m.contract != kSegmentationContract) {
    return manifest_error(source, "contract is '" + m.contract + "', this SDK runs '" +
                                      kSegmentationContract + "'");
  }
  if (m.contract_version != kSegmentationContractVersion) {
    return manifest_error(source, "contract version " + std::to_string(m.contract_version) +
                                      " is not supported (this SDK runs version " +
                                      std::to_string(kSegmentationContractVersion) + ")");
  }
  if (m.input_size < 16 || m.input_size > 1024) {
    return manifest_error(source, "input_size " + std::to_string(m.input_size) + " is outside [16, 1024]");
  }
  if (!(std::fabs(m.input_mean) <= 1e6f) || !(m.input_std >= 1e-6f && m.input_std <= 1e6f)) {  // as preprocess's
    return manifest_error(source, "input_mean / input_std must be finite, |input_mean| <= 1e6, input_std in [1e-6, 1e6]");
  }
  if (m.view_labels != kContractViewLabels) {
    return manifest_error(source, "view_labels are " + join(m.view_labels) + ", the contract needs " +
                                      join(kContractViewLabels));
  }
  if (m.precision == "int8") {
    if (m.quantized_engine != "onednn" && m.quantized_engine != "qnnpack" && m.quantized_engine != "x86" &&
        m.quantized_engine != "fbgemm") {
      return manifest_error(source, "int8 model names quantized_engine '" + m.quantized_engine +
                                        "' (expected onednn, qnnpack, x86 or fbgemm)");
    }
  } else if (m.precision != "fp32") {
    return manifest_error(source, "precision '" + m.precision + "' is not a file precision (fp32 or int8)");
  }
  if (!is_lower_hex_64(m.weights_sha256)) {
    return manifest_error(source, "weights_sha256 is not 64 lowercase hex digits");
  }
  return {};
}

}  // namespace

const char* device_name(Device device) noexcept {
  switch (device) {
    case Device::cpu: return "cpu";
    case Device::cuda: return "cuda";
    default: return "auto";
  }
}

const char* precision_name(Precision precision) noexcept {
  switch (precision) {
    case Precision::fp32: return "fp32";
    case Precision::int8: return "int8";
    case Precision::fp16: return "fp16";
    default: return "auto";
  }
}

Expected<ModelManifest> parse_model_manifest(const std::string& json_text, const std::string& source_name) {
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return manifest_error(source_name, "not a JSON object");
  auto manifest = fields_from_json(doc, source_name);
  if (!manifest) return manifest;
  if (auto ok = check_contract(*manifest, source_name); !ok) return tl::unexpected(ok.error());
  manifest->json = json_text;
  return manifest;
}

Expected<ModelManifest> read_model_manifest(const std::string& manifest_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(manifest_path, ec)) {
    return make_error(ErrorCode::not_found, "model manifest '" + manifest_path + "' does not exist");
  }
  const auto size = std::filesystem::file_size(manifest_path, ec);
  if (ec || size > kMaxManifestBytes) {
    return make_error(ErrorCode::model_invalid, "model manifest '" + manifest_path + "' is larger than 1 MiB");
  }
  std::ifstream in(manifest_path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return make_error(ErrorCode::io_failed, "model manifest '" + manifest_path + "': read failed");
  return parse_model_manifest(text.str(), manifest_path);
}

std::string manifest_path_for(const std::string& model_path) {
  return std::filesystem::path(model_path).replace_extension(".json").string();
}

std::string default_model_path(Precision precision) {
  if (precision == Precision::auto_select) precision = cuda_available() ? Precision::fp32 : Precision::int8;
  const std::string file = precision == Precision::int8 ? "lv_seg_int8.pt" : "lv_seg_fp32.pt";
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("ECHO_MODEL_DIR"); env != nullptr && *env != '\0') dirs.emplace_back(env);
  dirs.emplace_back(ECHO_SOURCE_MODELS_DIR);
  dirs.emplace_back(ECHO_INSTALL_MODELS_DIR);
  std::error_code ec;
  for (const auto& dir : dirs) {
    if (std::filesystem::is_regular_file(dir / file, ec)) return (dir / file).string();
  }
  return (dirs.back() / file).string();
}

}  // namespace echo

namespace echo {

Expected<void> check_shipped_manifest(const std::string& weights_sha256, const std::string& manifest_path) {
#ifdef ECHO_SHIPPED_MODEL_PAIRS
  return check_pinned_manifest(ECHO_SHIPPED_MODEL_PAIRS, weights_sha256, manifest_path, "model manifest");
#else
  (void)weights_sha256, (void)manifest_path;
  return {};
#endif
}

}  // namespace echo
