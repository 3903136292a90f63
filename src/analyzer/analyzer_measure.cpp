// From the model's per-frame masks to LV measurements and to the evidence the quality gate needs.
#include <algorithm>
#include <cmath>

#include "analyzer/analyzer_internal.hpp"

namespace echo::analysis {

PixelSpacing model_pixel_spacing(const Preprocessed& pre) {
  PixelSpacing spacing;
  if (pre.mm_per_px_model_x > 0.0 && pre.mm_per_px_model_y > 0.0) {
    spacing.mm_per_px_x = pre.mm_per_px_model_x;
    spacing.mm_per_px_y = pre.mm_per_px_model_y;
  }
  return spacing;
}

LvSeries measure_series(const SegmentationOutput& segmentation, const PixelSpacing& spacing, int label_count) {
  LvSeries series;
  const int size = segmentation.size;
  const std::size_t frame_pixels = static_cast<std::size_t>(size) * size;
  series.geometry.reserve(segmentation.frame_count);
  for (int i = 0; i < segmentation.frame_count; ++i) {
    Image8 mask(size, size);
    const auto* begin = segmentation.lv_masks.data() + frame_pixels * i;
    std::copy(begin, begin + frame_pixels, mask.pixels.begin());
    LvGeometry geometry = measure_lv(mask, spacing);
    series.area_mm2.push_back(geometry.valid ? geometry.area_mm2 : 0.0);
    series.volume_ml.push_back(geometry.valid ? geometry.volume_discs_ml : 0.0);
    series.geometry.push_back(std::move(geometry));
  }
  series.view_mean.assign(label_count, 0.0f);
  if (segmentation.frame_count > 0 && label_count > 0) {
    for (int i = 0; i < segmentation.frame_count; ++i) {
      for (int v = 0; v < label_count; ++v) series.view_mean[v] += segmentation.view_probabilities[i * label_count + v];
    }
    for (float& p : series.view_mean) p /= static_cast<float>(segmentation.frame_count);
  }
  return series;
}

LvGeometry to_original_pixels(const LvGeometry& model_geometry, const ModelMapping& mapping) {
  LvGeometry g = model_geometry;
  for (Point2& p : g.contour_px) p = mapping.to_original(p);
  for (Disc& disc : g.discs) {
    disc.a_px = mapping.to_original(disc.a_px);
    disc.b_px = mapping.to_original(disc.b_px);
  }
  g.apex_px = mapping.to_original(g.apex_px);
  g.annulus_left_px = mapping.to_original(g.annulus_left_px);
  g.annulus_right_px = mapping.to_original(g.annulus_right_px);
  g.annulus_mid_px = mapping.to_original(g.annulus_mid_px);
  return g;
}

std::pair<std::string, double> dominant_view(const std::vector<float>& view_mean,
                                             const std::vector<std::string>& labels) {
  if (view_mean.empty() || view_mean.size() != labels.size()) return {"unknown", 0.0};
  const auto best = std::max_element(view_mean.begin(), view_mean.end());
  return {labels[static_cast<std::size_t>(best - view_mean.begin())], *best};
}

namespace {

// Share of contour points (original pixels) that lie on or beyond the sector edge: an LV that runs
// into the edge of the fan is cut off.
double fraction_on_sector_edge(const LvGeometry& model_geometry, const Preprocessed& pre) {
  const Image8& sector = pre.sector.mask;
  if (sector.empty() || model_geometry.contour_px.empty()) return 0.0;
  constexpr int kEdgeMarginPx = 3;
  int on_edge = 0;
  for (const Point2& model_point : model_geometry.contour_px) {
    const Point2 p = pre.mapping.to_original(model_point);
    bool outside = false;
    for (auto [dx, dy] : {std::pair{0, 0}, {kEdgeMarginPx, 0}, {-kEdgeMarginPx, 0}, {0, kEdgeMarginPx}, {0, -kEdgeMarginPx}}) {
      const int x = static_cast<int>(std::lround(p.x)) + dx, y = static_cast<int>(std::lround(p.y)) + dy;
      if (x < 0 || y < 0 || x >= sector.width || y >= sector.height || sector.at(x, y) == 0) outside = true;
    }
    on_edge += outside ? 1 : 0;
  }
  return static_cast<double>(on_edge) / static_cast<double>(model_geometry.contour_px.size());
}

double widest_disc_mm(const LvGeometry& geometry) {
  double widest = 0.0;
  for (const Disc& disc : geometry.discs) widest = std::max(widest, disc.diameter_mm);
  return widest;
}

// The frame to judge the LV's shape on: the first used end-diastole, else the largest LV.
int reference_frame(const LvSeries& series, const CardiacResult& cardiac) {
  for (const Beat& beat : cardiac.beats) {
    if (!beat.excluded) return beat.ed_frame;
  }
  if (series.area_mm2.empty()) return -1;
  return static_cast<int>(std::max_element(series.area_mm2.begin(), series.area_mm2.end()) - series.area_mm2.begin());
}

}  // namespace

LvEvidence lv_evidence(const LvSeries& series, const CardiacResult& cardiac, const Preprocessed& pre,
                       const std::vector<std::string>& view_labels) {
  LvEvidence evidence;
  const auto [view, confidence] = dominant_view(series.view_mean, view_labels);
  if (view != "unknown") {
    evidence.view = view;
    evidence.view_confidence = confidence;
  }
  const int frame = reference_frame(series, cardiac);
  if (frame >= 0 && series.geometry[frame].valid) {
    const LvGeometry& g = series.geometry[frame];
    evidence.lv_long_axis_mm = g.long_axis_mm;
    evidence.lv_width_mm = widest_disc_mm(g);
    evidence.lv_touching_sector_edge_fraction = fraction_on_sector_edge(g, pre);
  }
  if (cardiac.period_ms > 0.0) evidence.estimated_period_ms = cardiac.period_ms;
  return evidence;
}

}  // namespace echo::analysis
