// LV shape evidence from a mask: long axis, width, apex roundness, and how much of its border touches the
// sector edge (the LV is cut off when the fan does not contain it).
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "echo/quality.hpp"

namespace echo {
namespace {

constexpr int kEdgeBandPx = 2;  // a border pixel this close to the sector edge "touches" it

double edge_touching_fraction(const cv::Mat& lv, const SectorGeometry& sector) {
  // Edge zone: outside the sector eroded by the band, plus the image border band.
  cv::Mat inner;
  if (sector.mask.width == lv.cols && sector.mask.height == lv.rows) {
    const cv::Mat sector_mask(lv.rows, lv.cols, CV_8U, const_cast<std::uint8_t*>(sector.mask.pixels.data()));
    const cv::Mat kernel = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(2 * kEdgeBandPx + 1, 2 * kEdgeBandPx + 1));
    cv::erode(sector_mask, inner, kernel, cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  } else {
    inner = cv::Mat::zeros(lv.rows, lv.cols, CV_8U);
    const cv::Rect interior(kEdgeBandPx, kEdgeBandPx, lv.cols - 2 * kEdgeBandPx, lv.rows - 2 * kEdgeBandPx);
    if (interior.width > 0 && interior.height > 0) inner(interior).setTo(255);
  }
  cv::Mat eroded;
  cv::erode(lv, eroded, cv::Mat(), cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  const cv::Mat border = lv & ~eroded;
  const double border_pixels = cv::countNonZero(border);
  if (border_pixels == 0) return 0.0;
  return cv::countNonZero(border & ~inner) / border_pixels;
}

}  // namespace

LvEvidence measure_lv_shape(const Image8& lv_mask, const SectorGeometry& sector, double mm_per_px_x,
                            double mm_per_px_y) {
  LvEvidence evidence;
  if (lv_mask.empty() || lv_mask.pixels.size() != static_cast<std::size_t>(lv_mask.width) * lv_mask.height) {
    return evidence;
  }
  const bool sector_given = !sector.mask.empty();
  if (sector_given && (sector.mask.width != lv_mask.width || sector.mask.height != lv_mask.height)) return evidence;
  const cv::Mat lv = cv::Mat(lv_mask.height, lv_mask.width, CV_8U, const_cast<std::uint8_t*>(lv_mask.pixels.data())) != 0;
  std::vector<cv::Point> points;
  cv::findNonZero(lv, points);
  if (points.size() < 20) return evidence;

  // Principal axis of the mask pixels.
  double cx = 0, cy = 0;
  for (const auto& p : points) {
    cx += p.x;
    cy += p.y;
  }
  const double n = static_cast<double>(points.size());
  cx /= n;
  cy /= n;
  double sxx = 0, syy = 0, sxy = 0;
  for (const auto& p : points) {
    sxx += (p.x - cx) * (p.x - cx);
    syy += (p.y - cy) * (p.y - cy);
    sxy += (p.x - cx) * (p.y - cy);
  }
  const double angle = 0.5 * std::atan2(2.0 * sxy, sxx - syy);
  double ux = std::cos(angle), uy = std::sin(angle);
  // Orient the axis from the apex: the end nearer the sector apex (the probe), else the upper end.
  const Point2 probe = sector.found ? sector.apex_px : Point2{cx, -1e6};
  double t_min = 1e300, t_max = -1e300;
  for (const auto& p : points) {
    const double t = (p.x - cx) * ux + (p.y - cy) * uy;
    t_min = std::min(t_min, t);
    t_max = std::max(t_max, t);
  }
  const double end_min_d = std::hypot(cx + t_min * ux - probe.x, cy + t_min * uy - probe.y);
  const double end_max_d = std::hypot(cx + t_max * ux - probe.x, cy + t_max * uy - probe.y);
  if (end_max_d < end_min_d) {  // flip so that t grows from the apex
    ux = -ux;
    uy = -uy;
    std::swap(t_min, t_max);
    t_min = -t_min;
    t_max = -t_max;
  }
  const double vx = -uy, vy = ux;
  // Width per 1-px slice along the axis.
  std::map<int, std::pair<double, double>> slices;
  for (const auto& p : points) {
    const double t = (p.x - cx) * ux + (p.y - cy) * uy - t_min;
    const double s = (p.x - cx) * vx + (p.y - cy) * vy;
    auto [it, inserted] = slices.try_emplace(static_cast<int>(std::floor(t)), s, s);
    if (!inserted) {
      it->second.first = std::min(it->second.first, s);
      it->second.second = std::max(it->second.second, s);
    }
  }
  const double length_px = t_max - t_min + 1.0;
  double width_px = 0.0;
  for (const auto& [slice, range] : slices) width_px = std::max(width_px, range.second - range.first + 1.0);
  const auto near_apex = slices.lower_bound(static_cast<int>(std::floor(0.2 * length_px)));
  const double apex_width = near_apex != slices.end() ? near_apex->second.second - near_apex->second.first + 1.0 : 0.0;

  evidence.lv_long_axis_px = length_px;
  evidence.lv_width_px = width_px;
  evidence.apex_roundness = width_px > 0 ? apex_width / width_px : 0.0;
  if (mm_per_px_x > 0 && mm_per_px_y > 0) {
    evidence.lv_long_axis_mm = length_px * std::hypot(ux * mm_per_px_x, uy * mm_per_px_y);
    evidence.lv_width_mm = width_px * std::hypot(vx * mm_per_px_x, vy * mm_per_px_y);
  }
  evidence.lv_touching_sector_edge_fraction = edge_touching_fraction(lv, sector);
  return evidence;
}

}  // namespace echo
