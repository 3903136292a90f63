// Target 5: model loading from memory (echo_model_load_from_memory): a manifest JSON and a TorchScript archive,
// both from the input. Layout: a mode byte, the manifest length (u32, taken modulo what is left), the
// manifest, then the archive. Seeds are the shipped lv_seg_* pairs, so mutations give damaged archives and
// manifests.
//
// Mode bit 0 rewrites the manifest's weights_sha256 to the archive's real SHA-256 (when the field is there),
// as a crafted manifest would: without it nearly every damaged archive stops at the hash check, and the
// TorchScript reader behind it would never see one. Bits 1-2 pick the requested precision.
//
// Every input must give ECHO_OK with a model, or a refusal with a message (ECHO_MODEL_INVALID for a damaged
// model); ECHO_INTERNAL is a bug. What the tampered-models test checks holds here too: the shipped weights
// load only with their own manifest, byte for byte, and a shipped manifest only with its own weights
// (unless bit 0 rewrote its hash, which makes it another manifest).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "echo/echo.h"
#include "echo/sha256.hpp"
#include "fuzz_input.hpp"

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

// Replaces the 64 characters of the first "weights_sha256": "..." value with the archive's SHA-256.
bool rewrite_hash(std::string& manifest, const std::string& archive) {
  const std::size_t key = manifest.find("\"weights_sha256\"");
  if (key == std::string::npos) return false;
  const std::size_t open = manifest.find('"', manifest.find(':', key + 16));
  if (open == std::string::npos || open + 65 > manifest.size()) return false;
  manifest.replace(open + 1, 64, echo::sha256_hex(archive.data(), archive.size()));
  return true;
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
