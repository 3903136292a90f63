// Shipped model files pinned together (docs/reliability.md, "Tampered models"): weights byte-identical to a
// shipped model's must come with the manifest shipped with them, byte-identical too. A manifest carries what
// the weights' hash does not cover (a VLM's vocabulary, normalisation, thresholds, free text), so a changed
// byte there is refused with model_invalid instead of changing an answer silently.
#pragma once
#include <string>

#include "echo/error.hpp"

namespace echo {

// `pairs`: "weights_sha256=manifest_sha256,..." (SHA-256 in lower-case hex of the shipped files, taken when
// the build was configured: echo_pin_shipped_models in src/CMakeLists.txt). Weights not in `pairs` pass.
// `what` names the manifest in the error ("model manifest", "VLM manifest").
Expected<void> check_pinned_manifest(const std::string& pairs, const std::string& weights_sha256,
                                     const std::string& manifest_path, const std::string& what);

}  // namespace echo
