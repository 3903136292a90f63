#include "preprocess/resample.hpp"

#include <algorithm>
#include <cmath>

namespace echo::detail {
namespace {

// cv::resize INTER_AREA for a shrinking scale (computeResizeAreaTab in OpenCV's resize.cpp): each
// destination sample is the mean of the source cells its footprint covers, partial cells weighted by
// the covered fraction.
void add_area_taps(int source_size, int destination_size, ResampleTable& table) {
  const double scale = static_cast<double>(source_size) / destination_size;
  for (int d = 0; d < destination_size; ++d) {
    table.first.push_back(static_cast<int>(table.taps.size()));
    const double fsx1 = d * scale;
    const double fsx2 = fsx1 + scale;
    const double cell_width = std::min(scale, source_size - fsx1);
    int sx1 = static_cast<int>(std::ceil(fsx1));
    int sx2 = static_cast<int>(std::floor(fsx2));
    sx2 = std::min(sx2, source_size - 1);
    sx1 = std::min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) {
      table.taps.push_back({sx1 - 1, static_cast<float>((sx1 - fsx1) / cell_width)});
    }
    for (int s = sx1; s < sx2; ++s) table.taps.push_back({s, static_cast<float>(1.0 / cell_width)});
    if (fsx2 - sx2 > 1e-3) {
      table.taps.push_back(
          {sx2, static_cast<float>(std::min(std::min(fsx2 - sx2, 1.0), cell_width) / cell_width)});
    }
  }
}

// cv::resize INTER_LINEAR: half-pixel centres, border samples replicated.
void add_linear_taps(int source_size, int destination_size, ResampleTable& table) {
  const double scale = static_cast<double>(source_size) / destination_size;
  for (int d = 0; d < destination_size; ++d) {
    table.first.push_back(static_cast<int>(table.taps.size()));
    double position = (d + 0.5) * scale - 0.5;
    int s = static_cast<int>(std::floor(position));
    double fraction = position - s;
    if (s < 0) {
      s = 0;
      fraction = 0.0;
    }
    if (s >= source_size - 1) {
      s = source_size - 1;
      fraction = 0.0;
    }
    table.taps.push_back({s, static_cast<float>(1.0 - fraction)});
    if (fraction > 0.0) table.taps.push_back({s + 1, static_cast<float>(fraction)});
  }
}

}  // namespace

ResampleTable make_resample_table(int source_size, int destination_size) {
  ResampleTable table;
  if (source_size <= 0 || destination_size <= 0) return table;
  table.first.reserve(static_cast<std::size_t>(destination_size) + 1);
  if (source_size >= destination_size) {
    add_area_taps(source_size, destination_size, table);
  } else {
    add_linear_taps(source_size, destination_size, table);
  }
  table.first.push_back(static_cast<int>(table.taps.size()));
  return table;
}

}  // namespace echo::detail
