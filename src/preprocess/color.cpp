// Colour inside the sector (colour Doppler) and outside it (burned-in coloured overlays).
#include <algorithm>

#include "echo/preprocess.hpp"

namespace echo {

ColorFindings detect_color(const Cine& cine, const SectorGeometry& sector, const ColorOptions& options) {
  ColorFindings findings;
  const bool mask_fits = sector.mask.width == cine.cols && sector.mask.height == cine.rows;
  double inside_sum = 0.0, outside_sum = 0.0;
  for (const ColorFrame& frame : cine.color) {
    if (frame.rgb.width != cine.cols || frame.rgb.height != cine.rows ||
        frame.rgb.pixels.size() != cine.frame_bytes() * 3) {
      continue;
    }
    long long inside_total = 0, inside_colored = 0, outside_total = 0, outside_colored = 0;
    const std::uint8_t* rgb = frame.rgb.pixels.data();
    const std::size_t pixels = cine.frame_bytes();
    for (std::size_t i = 0; i < pixels; ++i) {
      const int r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
      const int chroma = std::max(r, std::max(g, b)) - std::min(r, std::min(g, b));
      const bool colored = chroma >= options.chroma_threshold;
      const bool inside = !mask_fits || sector.mask.pixels[i] != 0;
      if (inside) {
        ++inside_total;
        inside_colored += colored;
      } else {
        ++outside_total;
        outside_colored += colored;
      }
    }
    if (inside_total > 0) inside_sum += static_cast<double>(inside_colored) / static_cast<double>(inside_total);
    if (outside_total > 0) outside_sum += static_cast<double>(outside_colored) / static_cast<double>(outside_total);
    ++findings.color_frames_examined;
  }
  if (findings.color_frames_examined > 0) {
    findings.doppler_fraction_in_sector = inside_sum / findings.color_frames_examined;
    findings.overlay_color_fraction_outside = outside_sum / findings.color_frames_examined;
  }
  findings.doppler_present = findings.doppler_fraction_in_sector >= options.doppler_min_fraction;
  return findings;
}

}  // namespace echo
