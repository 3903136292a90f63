// From the model's per-frame masks to LV measurements and to the evidence the quality gate needs.
#include <algorithm>
#include <atomic>
#include <new>
#include <cmath>

#include "analyzer/analyzer_internal.hpp"
#include "common/parallel.hpp"

namespace echo::analysis {

PixelSpacing model_pixel_spacing(const Preprocessed& pre) {
  PixelSpacing spacing;
  if (pre.mm_per_px_model_x > 0.0 && pre.mm_per_px_model_y > 0.0) {
    spacing.mm_per_px_x = pre.mm_per_px_model_x;
    spacing.mm_per_px_y = pre.mm_per_px_model_y;
  }
  return spacing;
}

LvSeries measure_series(const SegmentationOutput& segmentation, const PixelSpacing& spacing, int label_count,
                        int threads) {
  LvSeries series;
  const int size = segmentation.size;
  const int frames = segmentation.frame_count;
  const std::size_t frame_pixels = static_cast<std::size_t>(size) * size;
  series.geometry.resize(frames);
  series.area_mm2.assign(frames, 0.0);
  series.volume_ml.assign(frames, 0.0);
  // Frames are independent: measured on up to `threads` threads, each writing only its own slots.
  std::atomic<bool> failed{false};
  detail::parallel_for(frames, detail::worker_count(threads, frames / 8), [&](int i) {
    try {
      Image8 mask(size, size);
      const auto* begin = segmentation.lv_masks.data() + frame_pixels * i;
      std::copy(begin, begin + frame_pixels, mask.pixels.begin());
      LvGeometry geometry = measure_lv(mask, spacing);
      series.area_mm2[i] = geometry.valid ? geometry.area_mm2 : 0.0;
      series.volume_ml[i] = geometry.valid ? geometry.volume_discs_ml : 0.0;
      series.geometry[i] = std::move(geometry);
    } catch (...) {
      failed = true;
    }
  });
  if (failed) throw std::bad_alloc();
  series.view_mean = mean_view_probabilities(segmentation.view_probabilities, frames, label_count);
  return series;
}

std::vector<float> mean_view_probabilities(const std::vector<float>& probabilities, int frame_count, int label_count) {
  std::vector<float> mean(static_cast<std::size_t>(std::max(0, label_count)), 0.0f);
  if (frame_count <= 0 || label_count <= 0) return mean;
  for (int i = 0; i < frame_count; ++i) {
    for (int v = 0; v < label_count; ++v) mean[v] += probabilities[static_cast<std::size_t>(i) * label_count + v];
  }
  for (float& p : mean) p /= static_cast<float>(frame_count);
  return mean;
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

// The LV contour (original pixels) filled into a mask of the original image size (even-odd scanlines
// through pixel centres), so that the gate judges the LV's shape where the sector is.
Image8 rasterize(const Contour& contour, int width, int height) {
  Image8 mask(width, height);
  const std::size_t n = contour.size();
  if (n < 3) return mask;
  std::vector<double> crossings;
  for (int y = 0; y < height; ++y) {
    crossings.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const Point2& a = contour[i];
      const Point2& b = contour[(i + 1) % n];
      if ((a.y <= y && b.y > y) || (b.y <= y && a.y > y)) {
        crossings.push_back(a.x + (y - a.y) / (b.y - a.y) * (b.x - a.x));
      }
    }
    std::sort(crossings.begin(), crossings.end());
    for (std::size_t k = 0; k + 1 < crossings.size(); k += 2) {
      const int x0 = std::max(0, static_cast<int>(std::ceil(crossings[k])));
      const int x1 = std::min(width - 1, static_cast<int>(std::floor(crossings[k + 1])));
      for (int x = x0; x <= x1; ++x) mask.at(x, y) = 255;
    }
  }
  return mask;
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
                       const std::vector<std::string>& view_labels, bool calibration_trusted) {
  LvEvidence evidence;
  const int frame = reference_frame(series, cardiac);
  if (frame >= 0 && series.geometry[frame].valid && !pre.sector.mask.empty()) {
    const Contour contour = to_original_pixels(series.geometry[frame], pre.mapping).contour_px;
    const Image8 mask = rasterize(contour, pre.sector.mask.width, pre.sector.mask.height);
    const bool calibrated = calibration_trusted && pre.mm_per_px_model_x > 0.0 && pre.mm_per_px_model_y > 0.0;
    const double mm_x = calibrated ? pre.mm_per_px_model_x / pre.mapping.scale_x : 0.0;
    const double mm_y = calibrated ? pre.mm_per_px_model_y / pre.mapping.scale_y : 0.0;
    evidence = measure_lv_shape(mask, pre.sector, mm_x, mm_y);
  }
  const auto [view, confidence] = dominant_view(series.view_mean, view_labels);
  if (view != "unknown") {
    evidence.view = view;
    evidence.view_confidence = confidence;
  }
  if (cardiac.period_ms > 0.0) evidence.estimated_period_ms = cardiac.period_ms;
  return evidence;
}

}  // namespace echo::analysis
