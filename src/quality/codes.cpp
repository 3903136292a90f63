#include <array>

#include "echo/quality.hpp"

namespace echo {
namespace {
constexpr std::array<const char*, 14> kCodeNames = {
    "blurred",       "overgain",     "undergain",     "low_contrast",  "noisy",
    "too_few_frames", "low_frame_rate", "no_full_beat", "probe_motion", "color_doppler",
    "non_apical_view", "lv_cut_off", "foreshortened", "no_sector"};
}  // namespace

const char* quality_code_name(QualityCode code) noexcept {
  const auto index = static_cast<std::size_t>(code);
  return index < kCodeNames.size() ? kCodeNames[index] : "unknown";
}

const char* quality_severity_name(Severity severity) noexcept {
  switch (severity) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::reject: return "reject";
  }
  return "unknown";
}

std::optional<QualityCode> quality_code_from_name(const std::string& name) noexcept {
  for (std::size_t i = 0; i < kCodeNames.size(); ++i) {
    if (name == kCodeNames[i]) return static_cast<QualityCode>(i);
  }
  return std::nullopt;
}

}  // namespace echo
