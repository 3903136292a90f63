// Where the reference VLM lives (torch-free).
#include <cstdlib>
#include <filesystem>
#include <string>

#include "echo/vlm.hpp"

namespace echo {

std::string default_vlm_model_path() {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (const char* dir = std::getenv("ECHO_MODEL_DIR"); dir != nullptr && *dir != '\0') {
    for (const fs::path& candidate : {fs::path(dir) / "vlm" / "vlm.json", fs::path(dir) / "vlm.json"}) {
      if (fs::exists(candidate, ec)) return candidate.string();
    }
  }
  const fs::path source_tree = fs::path(ECHO_VLM_SOURCE_MODEL_DIR) / "vlm.json";
  if (fs::exists(source_tree, ec)) return source_tree.string();
  return (fs::path(ECHO_VLM_INSTALL_MODEL_DIR) / "vlm.json").string();
}

}  // namespace echo
