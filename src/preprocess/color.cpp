// Colour inside the sector (colour Doppler) and outside it (burned-in coloured overlays).
#include <algorithm>

#include "echo/preprocess.hpp"

namespace echo {

ColorAccumulator::ColorAccumulator(const SectorGeometry& sector, int rows, int cols, const ColorOptions& options)
    : sector_(sector), rows_(rows), cols_(cols), options_(options) {}

void ColorAccumulator::add(const std::uint8_t* rgb) {
  const bool mask_fits = sector_.mask.width == cols_ && sector_.mask.height == rows_;
  long long inside_total = 0, inside_colored = 0, outside_total = 0, outside_colored = 0;
  const std::size_t pixels = static_cast<std::size_t>(rows_) * static_cast<std::size_t>(cols_);
  for (std::size_t i = 0; i < pixels; ++i) {
    const int r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
    const int chroma = std::max(r, std::max(g, b)) - std::min(r, std::min(g, b));
    const bool colored = chroma >= options_.chroma_threshold;
    const bool inside = !mask_fits || sector_.mask.pixels[i] != 0;
    if (inside) {
      ++inside_total;
      inside_colored += colored;
    } else {
      ++outside_total;
      outside_colored += colored;
    }
  }
  if (inside_total > 0) inside_sum_ += static_cast<double>(inside_colored) / static_cast<double>(inside_total);
  if (outside_total > 0) outside_sum_ += static_cast<double>(outside_colored) / static_cast<double>(outside_total);
  ++frames_;
}

ColorFindings ColorAccumulator::findings() const {
  ColorFindings findings;
  findings.color_frames_examined = frames_;
  if (frames_ > 0) {
    findings.doppler_fraction_in_sector = inside_sum_ / frames_;
    findings.overlay_color_fraction_outside = outside_sum_ / frames_;
  }
  findings.doppler_present = findings.doppler_fraction_in_sector >= options_.doppler_min_fraction;
  return findings;
}

ColorFindings detect_color(const Cine& cine, const SectorGeometry& sector, const ColorOptions& options) {
  ColorAccumulator colour(sector, cine.rows, cine.cols, options);
  for (const ColorFrame& frame : cine.color) {
    if (frame.rgb.width != cine.cols || frame.rgb.height != cine.rows ||
        frame.rgb.pixels.size() != cine.frame_bytes() * 3) {
      continue;
    }
    colour.add(frame.rgb.pixels.data());
  }
  return colour.findings();
}

}  // namespace echo
