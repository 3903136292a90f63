// Private helpers of the inference stage shared by its torch-free and torch translation units.
#pragma once
#include <string>

namespace echo {

// "dir/lv_seg_int8.pt" -> "dir/lv_seg_int8.json"
std::string manifest_path_for(const std::string& model_path);

}  // namespace echo
