// Private helpers of the inference stage shared by its torch-free and torch translation units.
#pragma once
#include <string>

#include "echo/error.hpp"

namespace echo {

// "dir/lv_seg_int8.pt" -> "dir/lv_seg_int8.json"
std::string manifest_path_for(const std::string& model_path);

// Weights byte-identical to a shipped model's must come with that model's manifest, byte-identical too: a
// changed free-text field or number in it (a tampered or damaged manifest) is refused with model_invalid.
// The pairs are the SHA-256 of models/lv_seg_*.pt and .json when the build was configured.
Expected<void> check_shipped_manifest(const std::string& weights_sha256, const std::string& manifest_path);

}  // namespace echo
