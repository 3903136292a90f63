#include "common/shipped_models.hpp"

#include <fstream>
#include <iterator>

#include "echo/sha256.hpp"

namespace echo {

Expected<void> check_pinned_manifest(const std::string& pairs, const std::string& weights_sha256,
                                     const std::string& manifest_path, const std::string& what) {
  const std::size_t at = pairs.find(weights_sha256 + "=");
  if (weights_sha256.size() != 64 || at == std::string::npos || at + 65 + 64 > pairs.size()) return {};
  const std::string expected = pairs.substr(at + 65, 64);
  std::ifstream in(manifest_path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string actual = sha256_hex(text.data(), text.size());
  if (actual == expected) return {};
  return make_error(ErrorCode::model_invalid,
                    what + " '" + manifest_path + "': the weights are a shipped model's but the manifest is not the one "
                    "shipped with them (SHA-256 " + actual + ", expected " + expected + "): it was altered or damaged; refused");
}

}  // namespace echo
