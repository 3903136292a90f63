// Calibration from the Sequence of Ultrasound Regions, frame timing, and small shared helpers.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "io/io_internal.hpp"

namespace echo::io_detail {
namespace {

constexpr int kSpatialFormat2D = 1;
constexpr int kDataTypeTissue = 1;
constexpr int kUnitsCm = 3;
// The deepest cardiac / abdominal ultrasound images are ~30 cm; a scale that makes the image wider or taller
// than this is not physical.
constexpr double kMaxImageExtentMm = 400.0;
constexpr double kMinMmPerPx = 1e-3;
constexpr double kSameScaleRelTolerance = 1e-6;

std::string format_box(const UltrasoundRegion& r) {
  std::ostringstream s;
  s << r.x0 << ',' << r.y0 << '-' << r.x1 << ',' << r.y1;
  return s.str();
}

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

bool boxes_overlap(const UltrasoundRegion& a, const UltrasoundRegion& b) {
  return a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1;
}

// Empty when the region's scale is physical, else why not.
std::string scale_problem(const UltrasoundRegion& r, int index, int rows, int cols) {
  const std::string name = "region " + std::to_string(index);
  if (r.units_x != kUnitsCm || r.units_y != kUnitsCm) {
    return name + " claims 2D but its physical units are not cm (X code " + std::to_string(r.units_x) +
           ", Y code " + std::to_string(r.units_y) + ")";
  }
  if (!std::isfinite(r.physical_delta_x) || !std::isfinite(r.physical_delta_y) || r.physical_delta_x <= 0.0 ||
      r.physical_delta_y <= 0.0) {
    return name + " has a non-positive PhysicalDelta (X " + format_number(r.physical_delta_x) + " cm/px, Y " +
           format_number(r.physical_delta_y) + " cm/px)";
  }
  const double mm_x = r.physical_delta_x * 10.0, mm_y = r.physical_delta_y * 10.0;
  if (mm_x < kMinMmPerPx || mm_y < kMinMmPerPx) {
    return name + " has an implausibly small PhysicalDelta (" + format_number(mm_x) + " mm/px)";
  }
  if (mm_x * cols > kMaxImageExtentMm || mm_y * rows > kMaxImageExtentMm) {
    return name + " scale " + format_number(mm_x) + " x " + format_number(mm_y) + " mm/px would make the " +
           std::to_string(cols) + "x" + std::to_string(rows) + " image " + format_number(mm_x * cols / 10.0) +
           " x " + format_number(mm_y * rows / 10.0) + " cm, beyond any ultrasound field of view";
  }
  return {};
}

// A box inconsistent with the pixels: inverted, starting outside the image, or running past it in BOTH
// directions (what downscaling the pixels after the regions were written does). A box past the image in one
// direction only is what cropping the depth or the width does: the scale still holds, the box is clipped.
// An inclusive max equal to cols / rows is a common off-by-one and counts as inside.
bool box_outside_image(const UltrasoundRegion& r, int rows, int cols) {
  if (r.x0 < 0 || r.y0 < 0 || r.x1 < r.x0 || r.y1 < r.y0 || r.x0 >= cols || r.y0 >= rows) return true;
  return r.x1 > cols && r.y1 > rows;
}
bool box_needs_clipping(const UltrasoundRegion& r, int rows, int cols) {
  return r.x1 > cols - 1 || r.y1 > rows - 1;
}

}  // namespace

Calibration calibration_from_regions(const std::vector<UltrasoundRegion>& regions, int rows, int cols) {
  Calibration cal;
  if (regions.empty()) {
    cal.note = "no ultrasound regions";
    return cal;
  }
  std::vector<int> candidates;
  for (int i = 0; i < static_cast<int>(regions.size()); ++i) {
    if (regions[static_cast<std::size_t>(i)].spatial_format == kSpatialFormat2D) candidates.push_back(i);
  }
  if (candidates.empty()) {
    cal.source = CalibrationSource::ultrasound_region;
    cal.note = std::to_string(regions.size()) + " ultrasound region(s) but none is 2D (spatial format 1)";
    return cal;
  }
  // Prefer the first 2D tissue region; a 2D colour-flow box inside it is the same view.
  int chosen = candidates.front();
  for (int i : candidates) {
    if (regions[static_cast<std::size_t>(i)].data_type == kDataTypeTissue) {
      chosen = i;
      break;
    }
  }
  const UltrasoundRegion& r = regions[static_cast<std::size_t>(chosen)];
  cal.source = CalibrationSource::ultrasound_region;
  const std::string problem = scale_problem(r, chosen, rows, cols);
  if (!problem.empty()) {
    cal.note = "not trustworthy: " + problem;  // scale unknown: never report a non-physical number
    return cal;
  }
  cal.mm_per_px_x = r.physical_delta_x * 10.0;
  cal.mm_per_px_y = r.physical_delta_y * 10.0;
  cal.trusted = true;
  std::string note = "region " + std::to_string(chosen) + " (2D" +
                     (r.data_type == kDataTypeTissue ? std::string(" tissue") : std::string()) + "), " +
                     format_number(r.physical_delta_x) + " cm/px";
  std::vector<std::string> warnings;

  if (box_outside_image(r, rows, cols)) {
    cal.trusted = false;
    warnings.insert(warnings.begin(), "not trustworthy: region " + std::to_string(chosen) + " box " +
                                          format_box(r) + " exceeds the " + std::to_string(cols) + "x" +
                                          std::to_string(rows) +
                                          " image (pixels were rescaled after the regions were "
                                          "written)");
  } else if (box_needs_clipping(r, rows, cols)) {
    const bool one_pixel = r.x1 <= cols && r.y1 <= rows;
    warnings.push_back("region " + std::to_string(chosen) + " box " + format_box(r) +
                       (one_pixel ? " is clipped to the image by one pixel"
                                  : " extends beyond the image in one direction (cropped image): clipped"));
  }
  // Other 2D regions that do not overlap the chosen one: a dual (side-by-side) view.
  std::vector<int> other_views;
  bool same_scale = true;
  for (int i : candidates) {
    const UltrasoundRegion& o = regions[static_cast<std::size_t>(i)];
    if (i == chosen || boxes_overlap(o, r)) continue;
    other_views.push_back(i);
    const double rel_x = std::fabs(o.physical_delta_x - r.physical_delta_x) / r.physical_delta_x;
    const double rel_y = std::fabs(o.physical_delta_y - r.physical_delta_y) / r.physical_delta_y;
    if (o.units_x != r.units_x || o.units_y != r.units_y || rel_x > kSameScaleRelTolerance ||
        rel_y > kSameScaleRelTolerance) {
      same_scale = false;
    }
  }
  if (!other_views.empty()) {
    std::string list;
    for (int i : other_views) list += (list.empty() ? "" : ", ") + std::to_string(i);
    if (same_scale) {
      warnings.push_back("dual view: " + std::to_string(other_views.size() + 1) +
                         " side-by-side 2D regions with the same scale (also region " + list + ")");
    } else {
      cal.trusted = false;
      warnings.insert(warnings.begin(), "not trustworthy: dual view whose 2D regions (" +
                                            std::to_string(chosen) + ", " + list + ") have different scales");
    }
  }
  for (int i = 0; i < static_cast<int>(regions.size()); ++i) {
    const UltrasoundRegion& o = regions[static_cast<std::size_t>(i)];
    if (i != chosen && box_needs_clipping(o, rows, cols)) {
      warnings.push_back("region " + std::to_string(i) + " box " + format_box(o) +
                         " extends beyond the image: clipped");
    }
  }
  for (const auto& w : warnings) {
    if (w.rfind("not trustworthy", 0) == 0) {
      note = w + "; " + note;
    } else {
      note += "; " + w;
    }
  }
  cal.note = note;
  return cal;
}

Timing timing_from_attributes(const TimingAttributes& a, int frame_count) {
  Timing t;
  const auto n = static_cast<std::size_t>(std::max(frame_count, 0));
  t.frame_times_ms.assign(n, 0.0);
  t.source = "none";
  if (n == 0) return t;
  const auto& v = a.frame_time_vector_ms;
  // Entry i is the increment from frame i-1 to frame i (the first is 0 by the standard); a vector one shorter
  // than the frame count holds only the increments.
  if (n > 1 && (v.size() == n || v.size() + 1 == n)) {
    const std::size_t offset = v.size() == n ? 1 : 0;
    bool valid = true;
    for (std::size_t i = 1; i < n; ++i) {
      const double step = v[i - 1 + offset];
      if (!std::isfinite(step) || step <= 0.0) valid = false;
      t.frame_times_ms[i] = t.frame_times_ms[i - 1] + step;
    }
    if (valid) {
      t.source = "FrameTimeVector";
      return t;
    }
  }
  double interval_ms = 0.0;
  if (std::isfinite(a.frame_time_ms) && a.frame_time_ms > 0.0) {
    interval_ms = a.frame_time_ms;
    t.source = "FrameTime";
  } else if (std::isfinite(a.cine_rate_fps) && a.cine_rate_fps > 0.0) {
    interval_ms = 1000.0 / a.cine_rate_fps;
    t.source = "CineRate";
  } else if (std::isfinite(a.recommended_display_fps) && a.recommended_display_fps > 0.0) {
    interval_ms = 1000.0 / a.recommended_display_fps;
    t.source = "RecommendedDisplayFrameRate";
  }
  for (std::size_t i = 0; i < n; ++i) t.frame_times_ms[i] = interval_ms * static_cast<double>(i);
  return t;
}

std::vector<int> color_frame_indices(int frame_count, int max_color_frames) {
  std::vector<int> indices;
  if (frame_count <= 0 || max_color_frames == 0) return indices;
  if (max_color_frames < 0 || max_color_frames >= frame_count) {
    for (int i = 0; i < frame_count; ++i) indices.push_back(i);
    return indices;
  }
  // The centres of max_color_frames equal segments of the cine.
  const auto n = static_cast<long long>(frame_count), k = static_cast<long long>(max_color_frames);
  for (long long j = 0; j < k; ++j) indices.push_back(static_cast<int>(((2 * j + 1) * n) / (2 * k)));
  return indices;
}

void ybr_full_to_rgb(int y, int cb, int cr, std::uint8_t* rgb) {
  const double b = cb - 128.0, r = cr - 128.0;
  const double values[3] = {y + 1.402 * r, y - 0.344136 * b - 0.714136 * r, y + 1.772 * b};
  for (int c = 0; c < 3; ++c) {
    rgb[c] = static_cast<std::uint8_t>(std::clamp(std::lround(values[c]), 0L, 255L));
  }
}

bool has_extension(const std::string& path, std::initializer_list<const char*> extensions) {
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos) return false;
  std::string ext = path.substr(dot + 1);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* e : extensions) {
    if (ext == e) return true;
  }
  return false;
}

}  // namespace echo::io_detail
