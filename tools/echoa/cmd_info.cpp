// echoa info [--json] FILE...: what the SDK reads from each file (size, colour model, syntax, timing,
// calibration). Exit 0 when every file was read, kExitError otherwise.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "echo/io.hpp"

namespace echoa {
namespace {

const char* calibration_source_name(echo::CalibrationSource source) {
  switch (source) {
    case echo::CalibrationSource::none: return "none";
    case echo::CalibrationSource::ultrasound_region: return "ultrasound_region";
    case echo::CalibrationSource::pixel_spacing: return "pixel_spacing";
    case echo::CalibrationSource::caller: return "caller";
    case echo::CalibrationSource::synthetic: return "synthetic";
  }
  return "unknown";
}

// JSON numbers for finite positive values, null for "unknown".
nlohmann::json number_or_null(double v) { return std::isfinite(v) && v > 0.0 ? nlohmann::json(v) : nlohmann::json(); }

nlohmann::json describe(const std::string& file, const echo::Expected<echo::Cine>& cine) {
  nlohmann::json j;
  j["file"] = file;
  if (!cine) {
    for (const char* key : {"frames", "rows", "cols", "fps", "mm_per_px_x", "mm_per_px_y", "calibration_trusted"}) {
      j[key] = nullptr;
    }
    j["error"] = {{"code", echo::error_code_name(cine.error().code)},
                  {"code_value", static_cast<int>(cine.error().code)},
                  {"message", cine.error().message}};
    return j;
  }
  const echo::CineMetadata& m = cine->metadata;
  const echo::Calibration& cal = cine->calibration;
  j["frames"] = cine->frame_count();
  j["rows"] = cine->rows;
  j["cols"] = cine->cols;
  j["fps"] = number_or_null(cine->fps());
  j["frame_time_ms"] = number_or_null(cine->mean_frame_interval_ms());
  j["duration_ms"] = number_or_null(cine->duration_ms());
  j["timing_source"] = m.timing_source;
  j["source_kind"] = m.source_kind;
  j["photometric"] = m.photometric;
  j["transfer_syntax"] = m.transfer_syntax;
  j["transfer_syntax_uid"] = m.transfer_syntax_uid;
  j["manufacturer"] = m.manufacturer;
  j["model"] = m.model_name;
  j["heart_rate_bpm"] = number_or_null(m.heart_rate_bpm);
  j["color_frames"] = cine->color.size();
  j["ultrasound_regions"] = m.regions.size();
  j["mm_per_px_x"] = number_or_null(cal.mm_per_px_x);
  j["mm_per_px_y"] = number_or_null(cal.mm_per_px_y);
  j["calibration_trusted"] = cal.trusted;
  j["calibration_source"] = calibration_source_name(cal.source);
  j["calibration_note"] = cal.note;
  j["error"] = nullptr;
  return j;
}

void print_text(const std::string& file, const echo::Expected<echo::Cine>& cine) {
  if (!cine) {
    std::printf("%s: ERROR %s: %s\n", file.c_str(), echo::error_code_name(cine.error().code), cine.error().message.c_str());
    return;
  }
  const echo::CineMetadata& m = cine->metadata;
  const echo::Calibration& cal = cine->calibration;
  std::printf("%s\n", file.c_str());
  std::printf("  frames %d, %d cols x %d rows, %s%s%s\n", cine->frame_count(), cine->cols, cine->rows,
              m.photometric.empty() ? "-" : m.photometric.c_str(), m.transfer_syntax.empty() ? "" : ", ",
              m.transfer_syntax.c_str());
  if (cine->fps() > 0.0) {
    std::printf("  frame time %.3f ms (%.2f fps, from %s), duration %.1f ms\n", cine->mean_frame_interval_ms(),
                cine->fps(), m.timing_source.c_str(), cine->duration_ms());
  } else {
    std::printf("  frame time unknown (%s)\n", m.timing_source.c_str());
  }
  if (cal.known()) {
    std::printf("  calibration %.6f x %.6f mm/px from %s, %s\n", cal.mm_per_px_x, cal.mm_per_px_y,
                calibration_source_name(cal.source), cal.trusted ? "trusted" : "NOT trusted");
  } else {
    std::printf("  calibration unknown (%s)\n", calibration_source_name(cal.source));
  }
  if (!cal.note.empty()) std::printf("  note: %s\n", cal.note.c_str());
}

int run_info(int argc, char** argv) {
  bool json = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf("usage: echoa info [--json] FILE...\n  DICOM, AVI/MP4 or PNG/JPEG; --json prints one object per line.\n");
      return kExitOk;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      std::fprintf(stderr, "echoa info: unknown option '%s'\n", argv[i]);
      return kExitUsage;
    } else {
      files.emplace_back(argv[i]);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: echoa info [--json] FILE...\n");
    return kExitUsage;
  }
  echo::ReadOptions options;
  options.max_color_frames = 0;  // info needs no colour
  int status = kExitOk;
  for (const auto& file : files) {
    const auto cine = echo::read_file(file, options);
    if (!cine) status = kExitError;
    if (json) {
      std::printf("%s\n", describe(file, cine).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      print_text(file, cine);
    }
    std::fflush(stdout);
  }
  return status;
}

}  // namespace
ECHOA_COMMAND("info", "frames, size, colour model, syntax, timing and calibration of each file", run_info);
}  // namespace echoa
