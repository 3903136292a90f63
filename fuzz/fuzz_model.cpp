// Target 5: model loading: a manifest JSON and a TorchScript archive, both from the input. Layout: a mode byte,
// the manifest length (u32, taken modulo what is left), the manifest, then the archive. Seeds are the shipped
// lv_seg_* pairs and the shipped VLM (vlm.json with vlm_int8.pt), so mutations give damaged archives and
// manifests.
//
// Mode bit 0 rewrites the manifest's hash of the archive to its real SHA-256 (when the field is there), as a
// crafted manifest would: without it nearly every damaged archive stops at the hash check, and the
// TorchScript reader behind it would never see one. Bits 1-2 pick the requested precision. Bit 3 makes it a
// VLM (echo::VlmModel::load, which reads a folder: the manifest is written as vlm.json and the archive under
// both names the shipped manifest gives its files, in a scratch folder of this process); otherwise the
// segmentation model through the C ABI's echo_model_load_from_memory.
//
// Every input must give ECHO_OK with a model, or a refusal with a message (ECHO_MODEL_INVALID for a damaged
// model); ECHO_INTERNAL is a bug. What the tampered-models test checks holds here too: the shipped weights
// load only with their own manifest, byte for byte, and a shipped manifest only with its own weights
// (unless bit 0 rewrote its hash, which makes it another manifest).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "echo/echo.h"
#include "echo/sha256.hpp"
#include "echo/vlm.hpp"
#include "fuzz_input.hpp"

#include <unistd.h>

namespace {

struct ShippedPair {
  std::string weights, manifest;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const std::vector<ShippedPair>& shipped() {
  static const std::vector<ShippedPair> pairs = [] {
    std::vector<ShippedPair> out;
    for (const char* name : {"lv_seg_int8", "lv_seg_fp32"}) {
      const std::string base = std::string(ECHO_MODELS_DIR) + "/" + name;
      out.push_back({read_all(base + ".pt"), read_all(base + ".json")});
      ECHO_FUZZ_CHECK(!out.back().weights.empty() && !out.back().manifest.empty());
    }
    return out;
  }();
  return pairs;
}

// Replaces the 64 characters of every `"<key>": "..."` value (the first only unless `all`) with the archive's
// SHA-256.
bool rewrite_hash(std::string& manifest, const std::string& archive, const std::string& key = "weights_sha256",
                  bool all = false) {
  const std::string quoted = "\"" + key + "\"";
  const std::string hash = echo::sha256_hex(archive.data(), archive.size());
  bool rewritten = false;
  for (std::size_t at = manifest.find(quoted); at != std::string::npos; at = manifest.find(quoted, at + 1)) {
    const std::size_t colon = manifest.find(':', at + quoted.size());
    const std::size_t open = colon == std::string::npos ? colon : manifest.find('"', colon);
    if (open == std::string::npos || open + 65 > manifest.size()) break;
    manifest.replace(open + 1, 64, hash);
    rewritten = true;
    if (!all) break;
  }
  return rewritten;
}

// --- the VLM ------------------------------------------------------------------------------------------------
// A scratch folder of this process for the VLM's files, removed at exit.
struct VlmFolder {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("fuzz_model_vlm." + std::to_string(::getpid()));
  VlmFolder() { std::filesystem::create_directories(path); }
  ~VlmFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ECHO_FUZZ_CHECK(out.good());
}

// The load must succeed or refuse with a message, never with `internal`; the shipped VLM weights load only
// with the shipped vlm.json byte for byte (the pinning of docs/reliability.md, "Tampered models").
void fuzz_vlm(const std::string& manifest, const std::string& archive, bool int8) {
  static const VlmFolder folder;
  static const std::string shipped_manifest = read_all(std::string(ECHO_MODELS_DIR) + "/vlm/vlm.json");
  static const std::string shipped_int8 = read_all(std::string(ECHO_MODELS_DIR) + "/vlm/vlm_int8.pt");
  static const std::string shipped_fp32 = read_all(std::string(ECHO_MODELS_DIR) + "/vlm/vlm_fp32.pt");
  write_file(folder.path / "vlm.json", manifest);
  write_file(folder.path / "vlm_int8.pt", archive);
  write_file(folder.path / "vlm_fp32.pt", archive);
  echo::VlmOptions options;
  options.int8 = int8;
  options.threads = 1;
  const auto loaded = echo::VlmModel::load(folder.path.string(), options);
  if (!loaded && (loaded.error().code == echo::ErrorCode::internal || loaded.error().message.empty())) {
    std::fprintf(stderr, "fuzz_model: VLM load: code %d: '%s'\n", static_cast<int>(loaded.error().code),
                 loaded.error().message.c_str());
    std::abort();
  }
  if ((archive == shipped_int8 || archive == shipped_fp32) && manifest != shipped_manifest) ECHO_FUZZ_CHECK(!loaded);
  if (archive == (int8 ? shipped_int8 : shipped_fp32) && manifest == shipped_manifest) ECHO_FUZZ_CHECK(loaded.has_value());
  if (loaded) ECHO_FUZZ_CHECK((*loaded)->keyframe_count() > 0 && (*loaded)->input_size() > 0);
}

void check_shipped_rules(const std::string& archive, const std::string& manifest, bool rewritten, bool loaded) {
  for (const ShippedPair& pair : shipped()) {
    if (archive == pair.weights && manifest != pair.manifest) ECHO_FUZZ_CHECK(!loaded);
    if (!rewritten && manifest == pair.manifest && archive != pair.weights) ECHO_FUZZ_CHECK(!loaded);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)shipped();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  echo_fuzz::FuzzInput in(data, size);
  const std::uint8_t mode = in.byte();
  const std::size_t manifest_size = in.u32() % (in.remaining() + 1);
  const std::vector<std::uint8_t> manifest_bytes = in.take(manifest_size);
  std::string manifest(manifest_bytes.begin(), manifest_bytes.end());
  const std::string archive(reinterpret_cast<const char*>(in.rest()), in.remaining());
  if ((mode & 8) != 0) {
    if ((mode & 1) != 0) rewrite_hash(manifest, archive, "sha256", true);
    fuzz_vlm(manifest, archive, ((mode >> 1) & 3) != 2);  // int8 unless fp32 is requested
    return 0;
  }
  const bool rewritten = (mode & 1) != 0 && rewrite_hash(manifest, archive);

  echo_model_options options;
  ECHO_FUZZ_CHECK(echo_model_options_init(&options, sizeof options) == ECHO_OK);
  static const echo_precision kPrecisions[] = {ECHO_PRECISION_AUTO, ECHO_PRECISION_INT8, ECHO_PRECISION_FP32,
                                               ECHO_PRECISION_AUTO};
  options.precision = kPrecisions[(mode >> 1) & 3];
  options.device = ECHO_DEVICE_CPU;
  options.threads = 1;  // LibTorch's thread count is process-wide
  options.decode_threads = 1;

  echo_model* model = nullptr;
  const echo_status status = echo_model_load_from_memory(archive.data(), archive.size(), manifest.data(),
                                                         manifest.size(), &options, &model);
  if (status == ECHO_INTERNAL || status > ECHO_OK || status < ECHO_NO_RESULT ||
      (status != ECHO_OK && echo_last_error()[0] == '\0') || (status == ECHO_OK) != (model != nullptr)) {
    std::fprintf(stderr, "fuzz_model: status %d (%s): '%s'\n", status, echo_status_str(status), echo_last_error());
    std::abort();
  }
  check_shipped_rules(archive, manifest, rewritten, status == ECHO_OK);
  if (model != nullptr) {
    echo_model_info info;
    info.struct_size = sizeof info;
    ECHO_FUZZ_CHECK(echo_model_get_info(model, &info) == ECHO_OK);
    ECHO_FUZZ_CHECK(info.weights_sha256 != nullptr && std::strlen(info.weights_sha256) == 64);
    echo_model_destroy(model);
  }
  return 0;
}
