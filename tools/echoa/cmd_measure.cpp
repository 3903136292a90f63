// echoa measure: volumes, keyframes and EF from LV masks a user already has (a folder of per-frame
// mask PNGs or a uint8 N x H x W .npy), so that a researcher can check our arithmetic on their own
// tracings. Prints the report's JSON fields for keyframes, volumes and EF.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "echo/cardiac.hpp"
#include "echo/geometry.hpp"

namespace echoa {
namespace {

constexpr const char* kUsage =
    "usage: echoa measure MASKS [options]\n"
    "\n"
    "MASKS: a folder of per-frame LV mask images (PNG..., natural name order) or a .npy file (uint8,\n"
    "       N x H x W); nonzero = LV cavity. These are the A4C (or the only) view.\n"
    "options:\n"
    "  --mm-per-px X Y        pixel size in mm (without it volumes are unavailable; EF still computed)\n"
    "  --fps F                frame rate, or\n"
    "  --frame-times-ms FILE  one time per frame (ms, whitespace or comma separated)\n"
    "  --a2c MASKS            the matching A2C masks (same frame count): biplane method of discs\n"
    "  --r-waves-ms T1,T2,... R-wave times in ms (or @FILE): beats run from R wave to R wave\n"
    "  --sex male|female      sex-specific ASE/EACVI 2015 ranges for the EF category\n"
    "  --disc-count N         discs of the method of discs (default 20)\n"
    "  --compact              one-line JSON\n"
    "exit: 0 EF given; 1 no EF (no complete beat; the JSON says why); 2 input error; 64 bad command line\n";

struct Options {
  std::string masks, a2c_masks, frame_times_file, r_waves;
  double mm_x = 0, mm_y = 0, fps = 0;
  echo::Sex sex = echo::Sex::unknown;
  int disc_count = 20;
  bool compact = false;
};

bool parse_number(const char* text, double* value) {
  char* end = nullptr;
  *value = std::strtod(text, &end);
  return end != text && *end == '\0' && std::isfinite(*value);
}

std::optional<std::vector<double>> parse_numbers(const std::string& text) {
  std::string cleaned = text;
  for (char& c : cleaned)
    if (c == ',' || c == ';') c = ' ';
  std::istringstream in(cleaned);
  std::vector<double> values;
  std::string token;
  while (in >> token) {
    double v = 0;
    if (!parse_number(token.c_str(), &v)) return std::nullopt;
    values.push_back(v);
  }
  return values;
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "echoa measure: %s\n\n%s", message.c_str(), kUsage);
  return kExitUsage;
}

// Returns kExitOk when parsed, else the exit code to return.
int parse(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto need = [&](int count) { return i + count < argc; };
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", kUsage);
      return -1;
    } else if (arg == "--mm-per-px" && need(2)) {
      if (!parse_number(argv[i + 1], &options->mm_x) || !parse_number(argv[i + 2], &options->mm_y) || options->mm_x <= 0 ||
          options->mm_y <= 0)
        return usage_error("--mm-per-px needs two positive numbers");
      i += 2;
    } else if (arg == "--fps" && need(1)) {
      if (!parse_number(argv[++i], &options->fps) || options->fps <= 0) return usage_error("--fps needs a positive number");
    } else if (arg == "--frame-times-ms" && need(1)) {
      options->frame_times_file = argv[++i];
    } else if (arg == "--a2c" && need(1)) {
      options->a2c_masks = argv[++i];
    } else if (arg == "--r-waves-ms" && need(1)) {
      options->r_waves = argv[++i];
    } else if (arg == "--sex" && need(1)) {
      const std::string sex = argv[++i];
      if (sex == "male") options->sex = echo::Sex::male;
      else if (sex == "female") options->sex = echo::Sex::female;
      else return usage_error("--sex must be male or female");
    } else if (arg == "--disc-count" && need(1)) {
      double n = 0;
      if (!parse_number(argv[++i], &n) || n < 1 || n > 1000 || n != std::floor(n)) return usage_error("--disc-count needs an integer 1..1000");
      options->disc_count = static_cast<int>(n);
    } else if (arg == "--compact") {
      options->compact = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage_error("unknown or incomplete option '" + arg + "'");
    } else if (options->masks.empty()) {
      options->masks = arg;
    } else {
      return usage_error("more than one MASKS argument");
    }
  }
  if (options->masks.empty()) return usage_error("MASKS is required");
  if ((options->fps > 0) == !options->frame_times_file.empty()) return usage_error("give exactly one of --fps and --frame-times-ms");
  return kExitOk;
}

nlohmann::json number_or_null(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr); }

int fail(const std::string& message) {
  std::fprintf(stderr, "echoa measure: %s\n", message.c_str());
  return kExitError;
}

int run_measure(int argc, char** argv) {
  Options options;
  if (int code = parse(argc, argv, &options); code != kExitOk) return code < 0 ? kExitOk : code;

  const auto a4c_masks = echo::read_masks(options.masks);
  if (!a4c_masks) return fail(a4c_masks.error().message);
  const std::size_t frames = a4c_masks->size();
  std::optional<std::vector<echo::Image8>> a2c_masks;
  if (!options.a2c_masks.empty()) {
    auto read = echo::read_masks(options.a2c_masks);
    if (!read) return fail(read.error().message);
    if (read->size() != frames)
      return fail("the A2C masks have " + std::to_string(read->size()) + " frames, the A4C masks " + std::to_string(frames));
    a2c_masks = std::move(*read);
  }

  std::vector<double> times;
  if (options.fps > 0) {
    for (std::size_t i = 0; i < frames; ++i) times.push_back(1000.0 * static_cast<double>(i) / options.fps);
  } else {
    const auto text = read_text(options.frame_times_file);
    if (!text) return fail("cannot read frame times '" + options.frame_times_file + "'");
    const auto values = parse_numbers(*text);
    if (!values) return fail("frame times '" + options.frame_times_file + "' hold something that is not a number");
    if (values->size() != frames)
      return fail("frame times '" + options.frame_times_file + "' hold " + std::to_string(values->size()) + " values for " +
                  std::to_string(frames) + " frames");
    times = *values;
  }
  std::vector<double> r_waves;
  if (!options.r_waves.empty()) {
    std::string text = options.r_waves;
    if (text[0] == '@') {
      const auto file = read_text(text.substr(1));
      if (!file) return fail("cannot read R-wave times '" + text.substr(1) + "'");
      text = *file;
    }
    const auto values = parse_numbers(text);
    if (!values) return fail("--r-waves-ms holds something that is not a number");
    r_waves = *values;
  }

  // Per-frame geometry and the volume curve (NaN where a frame has no measurable LV).
  const echo::PixelSpacing spacing{options.mm_x, options.mm_y};
  echo::LvGeometryOptions geometry_options;
  geometry_options.disc_count = options.disc_count;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> volume(frames, nan), volume_area_length(frames, nan);
  nlohmann::json invalid_frames = nlohmann::json::array();
  double worst_axis_mismatch = 0;
  for (std::size_t i = 0; i < frames; ++i) {
    const echo::LvGeometry a4c = echo::measure_lv((*a4c_masks)[i], spacing, geometry_options);
    if (!a4c.valid) {
      invalid_frames.push_back({{"frame", i}, {"view", "a4c"}, {"reason", a4c.invalid_reason}});
      continue;
    }
    if (a2c_masks) {
      const echo::LvGeometry a2c = echo::measure_lv((*a2c_masks)[i], spacing, geometry_options);
      if (!a2c.valid) {
        invalid_frames.push_back({{"frame", i}, {"view", "a2c"}, {"reason", a2c.invalid_reason}});
        continue;
      }
      volume[i] = echo::biplane_volume_ml(a4c, a2c, options.disc_count);
      worst_axis_mismatch = std::max(worst_axis_mismatch, echo::biplane_long_axis_mismatch_percent(a4c, a2c));
    } else {
      volume[i] = a4c.volume_discs_ml;
      volume_area_length[i] = a4c.volume_area_length_ml;
    }
  }

  const echo::CardiacResult cardiac = echo::analyze_volume_curve(volume, times, r_waves);
  const bool calibrated = spacing.known();
  nlohmann::json out;
  out["method"] = a2c_masks ? "biplane_discs" : "single_plane_discs";
  out["frames"] = frames;
  out["calibrated"] = calibrated;
  nlohmann::json beats = nlohmann::json::array(), ef_per_beat = nlohmann::json::array();
  double edv_sum = 0, esv_sum = 0, ef_area_length_sum = 0;
  int used = 0, area_length_used = 0;
  for (const echo::Beat& beat : cardiac.beats) {
    beats.push_back({{"ed_frame", beat.ed_frame},
                     {"es_frame", beat.es_frame},
                     {"ed_time_ms", times[static_cast<std::size_t>(beat.ed_frame)]},
                     {"es_time_ms", times[static_cast<std::size_t>(beat.es_frame)]},
                     {"edv_ml", calibrated ? number_or_null(beat.edv) : nullptr},
                     {"esv_ml", calibrated ? number_or_null(beat.esv) : nullptr},
                     {"ef_percent", beat.ef_percent},
                     {"excluded", beat.excluded},
                     {"exclusion_reason", beat.exclusion_reason}});
    if (beat.excluded) continue;
    ef_per_beat.push_back(beat.ef_percent);  // used beats only (docs/report_schema.md)
    ++used;
    edv_sum += beat.edv, esv_sum += beat.esv;
    const double al_ed = volume_area_length[static_cast<std::size_t>(beat.ed_frame)];
    const double al_es = volume_area_length[static_cast<std::size_t>(beat.es_frame)];
    if (std::isfinite(al_ed) && std::isfinite(al_es) && al_ed > 0) ef_area_length_sum += 100 * (al_ed - al_es) / al_ed, ++area_length_used;
  }
  out["ef_percent"] = cardiac.ok ? nlohmann::json(cardiac.ef_mean) : nlohmann::json(nullptr);
  out["ef_per_beat"] = ef_per_beat;
  out["ef_sd"] = cardiac.ok ? nlohmann::json(cardiac.ef_sd) : nlohmann::json(nullptr);
  out["ef_median"] = cardiac.ok ? nlohmann::json(cardiac.ef_median) : nlohmann::json(nullptr);
  out["beats_used"] = cardiac.beats_used;
  out["ef_area_length_percent"] = area_length_used > 0 ? nlohmann::json(ef_area_length_sum / area_length_used) : nlohmann::json(nullptr);
  out["edv_ml"] = calibrated && used > 0 ? nlohmann::json(edv_sum / used) : nlohmann::json(nullptr);
  out["esv_ml"] = calibrated && used > 0 ? nlohmann::json(esv_sum / used) : nlohmann::json(nullptr);
  if (!calibrated)
    out["volumes_unavailable_reason"] = "no pixel spacing given (--mm-per-px): volumes are in pixel units, only EF is meaningful";
  out["beats"] = beats;
  out["heart_rate_bpm"] = number_or_null(cardiac.heart_rate_bpm > 0 ? cardiac.heart_rate_bpm : nan);
  out["period_ms"] = number_or_null(cardiac.period_ms > 0 ? cardiac.period_ms : nan);
  out["period_source"] = cardiac.period_source;
  if (cardiac.ok) {
    const echo::EfClassification category = echo::classify_ef(cardiac.ef_mean, options.sex);
    out["category"] = category.category_name;
    out["hf_class"] = category.hf_class;
    out["category_basis"] = category.basis;
  } else {
    out["category"] = nullptr;
    out["hf_class"] = nullptr;
    out["category_basis"] = nullptr;
    out["reason"] = cardiac.reason;
  }
  if (a2c_masks) out["biplane_long_axis_mismatch_percent_max"] = worst_axis_mismatch;
  nlohmann::json curve = nlohmann::json::array();
  for (double v : volume) curve.push_back(number_or_null(v));
  out[calibrated ? "volume_curve_ml" : "volume_curve_px3"] = curve;
  if (!calibrated) out["volume_curve_ml"] = nullptr;
  out["invalid_frames"] = invalid_frames;
  out["note"] = "second opinion: a clinician must confirm";
  std::printf("%s\n", out.dump(options.compact ? -1 : 2).c_str());
  return cardiac.ok ? kExitOk : kExitRefused;
}

}  // namespace
ECHOA_COMMAND("measure", "volumes, keyframes and EF from LV masks you already have", run_measure);
}  // namespace echoa
