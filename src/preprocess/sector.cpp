// Sector detection: a trusted 2D ultrasound region, else the image (pixels that change over the cine or,
// for a single frame, bright pixels; the largest connected region; a fan fitted to its straight sides).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "echo/preprocess.hpp"

namespace echo {
namespace {

struct Box {
  int x0 = 0, y0 = 0, x1 = -1, y1 = -1;  // inclusive
  int width() const { return x1 - x0 + 1; }
  int height() const { return y1 - y0 + 1; }
  long long area() const { return static_cast<long long>(width()) * height(); }
};

// The largest 2D region (spatial format 1) that lies inside the image; note says why others were refused.
std::optional<Box> trusted_2d_region(const Cine& cine, std::string& note) {
  std::optional<Box> best;
  for (std::size_t i = 0; i < cine.metadata.regions.size(); ++i) {
    const UltrasoundRegion& region = cine.metadata.regions[i];
    if (region.spatial_format != 1) continue;
    const Box box{region.x0, region.y0, region.x1, region.y1};
    const bool inside = box.x0 >= 0 && box.y0 >= 0 && box.x1 < cine.cols && box.y1 < cine.rows;
    if (!inside || box.width() < 16 || box.height() < 16) {
      note += "ultrasound region " + std::to_string(i) + " (" + std::to_string(box.x0) + "," +
              std::to_string(box.y0) + "-" + std::to_string(box.x1) + "," + std::to_string(box.y1) +
              ") does not fit the " + std::to_string(cine.cols) + "x" + std::to_string(cine.rows) +
              " image; ";
      continue;
    }
    if (!best || box.area() > best->area()) best = box;
  }
  return best;
}

std::vector<int> sampled_frame_indices(int frame_count, int max_frames) {
  const int n = std::max(1, std::min(frame_count, max_frames));
  std::vector<int> indices;
  for (int k = 0; k < n; ++k) {
    indices.push_back(n == 1 ? 0 : static_cast<int>(std::lround(static_cast<double>(k) * (frame_count - 1) / (n - 1))));
  }
  return indices;
}

int odd_kernel(double size) { return std::max(3, static_cast<int>(std::lround(size)) | 1); }

cv::Mat largest_region(const cv::Mat& candidates);

// The largest factor (1, 2 or 4) that keeps the shorter side of the search box at least min_side pixels.
int search_reduction(const Box& box, const SectorOptions& options) {
  if (options.min_search_side_px <= 0) return 1;
  int reduction = 1;
  while (reduction < 4 && std::min(box.width(), box.height()) / (2 * reduction) >= options.min_search_side_px) reduction *= 2;
  return reduction;
}

// A binary image reduced by `reduction`: a reduced pixel is set when at least half of the pixels it covers
// are (the edge is padded with unset pixels up to a multiple of the factor).
cv::Mat reduce_binary(const cv::Mat& binary, int reduction) {
  if (reduction == 1) return binary;
  cv::Mat padded;
  cv::copyMakeBorder(binary, padded, 0, (reduction - binary.rows % reduction) % reduction, 0,
                     (reduction - binary.cols % reduction) % reduction, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::Mat reduced;
  cv::resize(padded, reduced, cv::Size(padded.cols / reduction, padded.rows / reduction), 0, 0, cv::INTER_AREA);
  return reduced >= 128;
}

// The largest region of pixels that change over the sampled frames (threshold halved once for dim,
// under-gained cines), or of bright pixels when the cine has one frame or nothing changes enough;
// restricted to the box. Pixels are classified at full size; a changing region is searched on a copy
// reduced by `reduction` (the morphology is the costly part), so the result has the box's size divided by
// it. Bright pixels (one frame, or a still cine) are searched at full size (reduction set to 1): without
// motion the region's edge is less sharp and the reduced search moved it.
cv::Mat candidate_region(const SectorSamples& samples, const Box& box, const SectorOptions& options, int& reduction) {
  const cv::Rect roi(box.x0, box.y0, box.width(), box.height());
  auto image = [&](const auto& pixels, int type) {
    return cv::Mat(samples.rows(), samples.cols(), type, const_cast<void*>(static_cast<const void*>(pixels.data())))(roi);
  };
  if (samples.count() >= 2) {
    const double min_pixels = options.min_sector_fraction * static_cast<double>(box.area()) / (reduction * reduction);
    const cv::Mat range = image(samples.highest(), CV_8U) - image(samples.lowest(), CV_8U);
    for (int threshold : {options.change_threshold, std::max(1, options.change_threshold / 2)}) {
      cv::Mat region = largest_region(reduce_binary(range > threshold, reduction));
      if (cv::countNonZero(region) >= min_pixels) return region;
    }
  }
  const cv::Mat sum = image(samples.sum(), CV_32F);
  cv::Mat mean;
  sum.convertTo(mean, CV_8U, 1.0 / static_cast<double>(samples.count()));
  cv::medianBlur(mean, mean, 3);  // drops isolated bright pixels without moving the edges
  reduction = 1;
  return largest_region(mean > options.bright_threshold);
}

// Largest connected region of the candidates, gaps closed, thin links cut, holes filled.
cv::Mat largest_region(const cv::Mat& candidates) {
  const double diagonal = std::hypot(candidates.cols, candidates.rows);
  cv::Mat mask;
  const cv::Mat close_kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(odd_kernel(0.03 * diagonal), odd_kernel(0.03 * diagonal)));
  const cv::Mat open_kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(odd_kernel(0.012 * diagonal), odd_kernel(0.012 * diagonal)));
  // Thin lines first (an ECG trace sweeping under the fan also changes over time), then close the
  // speckle gaps, then cut what still hangs on by a thin link.
  const cv::Mat thin_kernel = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(odd_kernel(0.008 * diagonal), odd_kernel(0.008 * diagonal)));
  cv::morphologyEx(candidates, mask, cv::MORPH_OPEN, thin_kernel);
  cv::morphologyEx(mask, mask, cv::MORPH_CLOSE, close_kernel, cv::Point(-1, -1), 1, cv::BORDER_REPLICATE);
  cv::morphologyEx(mask, mask, cv::MORPH_OPEN, open_kernel);
  cv::Mat labels, stats, centroids;
  const int count = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
  int best = -1;
  int best_area = 0;
  for (int label = 1; label < count; ++label) {
    const int area = stats.at<int>(label, cv::CC_STAT_AREA);
    if (area > best_area) {
      best_area = area;
      best = label;
    }
  }
  if (best < 0) return cv::Mat::zeros(candidates.size(), CV_8U);
  cv::Mat region = labels == best;
  // Fill holes: everything not reachable from the border through the background is inside.
  cv::Mat padded;
  cv::copyMakeBorder(region, padded, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::floodFill(padded, cv::Point(0, 0), cv::Scalar(128));
  cv::Mat filled = padded(cv::Rect(1, 1, region.cols, region.rows)) != 128;
  return filled;
}

cv::Mat convex_hull_mask(const cv::Mat& region) {
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(region.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  cv::Mat hull_mask = cv::Mat::zeros(region.size(), CV_8U);
  if (contours.empty()) return hull_mask;
  std::vector<cv::Point> all_points;
  for (const auto& contour : contours) all_points.insert(all_points.end(), contour.begin(), contour.end());
  std::vector<cv::Point> hull;
  cv::convexHull(all_points, hull);
  cv::fillConvexPoly(hull_mask, hull, cv::Scalar(255));
  return hull_mask;
}

struct Line {  // x = slope * y + intercept
  double slope = 0.0, intercept = 0.0;
  bool valid = false;
};

// Least squares x = a*y + b, refitted once without points further than 2 px from the first fit.
Line fit_side(const std::vector<cv::Point2d>& points) {
  Line line;
  std::vector<cv::Point2d> used = points;
  for (int pass = 0; pass < 2; ++pass) {
    if (used.size() < 6) return Line{};
    double sy = 0, sx = 0, syy = 0, sxy = 0;
    for (const auto& p : used) {
      sy += p.y;
      sx += p.x;
      syy += p.y * p.y;
      sxy += p.x * p.y;
    }
    const double n = static_cast<double>(used.size());
    const double denominator = n * syy - sy * sy;
    if (std::abs(denominator) < 1e-9) return Line{};
    line.slope = (n * sxy - sx * sy) / denominator;
    line.intercept = (sx - line.slope * sy) / n;
    line.valid = true;
    std::vector<cv::Point2d> kept;
    for (const auto& p : points) {
      if (std::abs(p.x - (line.slope * p.y + line.intercept)) <= 2.0) kept.push_back(p);
    }
    used.swap(kept);
  }
  return line;
}

double percentile(std::vector<float> values, double fraction) {
  if (values.empty()) return 0.0;
  const std::size_t k = std::min(values.size() - 1, static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1)));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

struct FanFit {
  bool ok = false;
  Point2 apex;
  double start_radius = 0.0, radius = 0.0, left = 0.0, right = 0.0;
  std::string why_not;
};

// Fits a fan to a convex region (coordinates of the region's own frame).
FanFit fit_fan(const cv::Mat& hull) {
  FanFit fit;
  std::vector<int> left_x(hull.rows, -1), right_x(hull.rows, -1);
  int top = -1, bottom = -1, max_width = 0;
  for (int y = 0; y < hull.rows; ++y) {
    const std::uint8_t* row = hull.ptr<std::uint8_t>(y);
    int first = -1, last = -1;
    for (int x = 0; x < hull.cols; ++x) {
      if (row[x] != 0) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    left_x[y] = first;
    right_x[y] = last;
    if (top < 0) top = y;
    bottom = y;
    max_width = std::max(max_width, last - first + 1);
  }
  if (top < 0 || bottom - top < 16) {
    fit.why_not = "region too small for a fan";
    return fit;
  }
  // The straight sides run from the top to about the widest row; the arc follows below.
  int widest = bottom;
  for (int y = top; y <= bottom; ++y) {
    if (left_x[y] >= 0 && right_x[y] - left_x[y] + 1 >= 0.97 * max_width) {
      widest = y;
      break;
    }
  }
  const int span = widest - top;
  std::vector<cv::Point2d> left_points, right_points;
  for (int y = top + span / 10; y <= top + span * 17 / 20; ++y) {
    if (left_x[y] < 0) continue;
    if (left_x[y] > 1) left_points.emplace_back(left_x[y], y);                 // not the image border
    if (right_x[y] < hull.cols - 2) right_points.emplace_back(right_x[y], y);
  }
  const Line left = fit_side(left_points);
  const Line right = fit_side(right_points);
  if (!left.valid || !right.valid) {
    fit.why_not = "too few straight side points";
    return fit;
  }
  const double left_angle = std::atan(left.slope);
  const double right_angle = std::atan(right.slope);
  const double kMinOpening = 10.0 * M_PI / 180.0;
  if (right_angle - left_angle < kMinOpening) {
    fit.why_not = "sides do not diverge (linear probe or no fan)";
    return fit;
  }
  const double apex_y = (right.intercept - left.intercept) / (left.slope - right.slope);
  fit.apex = {left.slope * apex_y + left.intercept, apex_y};
  if (apex_y > top + 0.5 * (bottom - top)) {
    fit.why_not = "fitted apex below the middle of the region";
    return fit;
  }
  std::vector<float> distances;
  distances.reserve(static_cast<std::size_t>(cv::countNonZero(hull)));
  for (int y = top; y <= bottom; ++y) {
    const std::uint8_t* row = hull.ptr<std::uint8_t>(y);
    for (int x = left_x[y]; x <= right_x[y]; ++x) {
      if (row[x] != 0) distances.push_back(static_cast<float>(std::hypot(x - fit.apex.x, y - fit.apex.y)));
    }
  }
  fit.radius = percentile(distances, 0.998);
  fit.start_radius = percentile(distances, 0.002);
  fit.left = left_angle;
  fit.right = right_angle;
  fit.ok = true;
  return fit;
}

double overlap_iou(const cv::Mat& a, const cv::Mat& b) {
  const double intersection = cv::countNonZero(a & b);
  const double united = cv::countNonZero(a | b);
  return united > 0 ? intersection / united : 0.0;
}

void set_box_from_mask(SectorGeometry& sector) {
  const cv::Mat mask(sector.mask.height, sector.mask.width, CV_8U, sector.mask.pixels.data());
  const cv::Rect box = cv::boundingRect(mask);
  sector.box_x0 = box.x;
  sector.box_y0 = box.y;
  sector.box_x1 = box.x + box.width - 1;
  sector.box_y1 = box.y + box.height - 1;
  sector.mask_fraction = static_cast<double>(cv::countNonZero(mask)) / static_cast<double>(mask.total());
}

SectorGeometry whole_image(const Cine& cine, std::string note) {
  SectorGeometry sector;
  sector.found = false;
  sector.source = "none";
  sector.mask = Image8(cine.cols, cine.rows, 255);
  sector.note = std::move(note);
  sector.apex_px = {0.5 * (cine.cols - 1), 0.0};
  sector.radius_px = cine.rows;
  if (cine.cols > 0 && cine.rows > 0) set_box_from_mask(sector);
  return sector;
}

// A fan fitted on a copy reduced by `reduction` in the coordinates of the full-size box: reduced pixel
// centre j lies at full-size (j + 0.5) * reduction - 0.5.
FanFit to_full_size(FanFit fit, int reduction) {
  if (reduction == 1 || !fit.ok) return fit;
  const double shift = 0.5 * (reduction - 1);
  fit.apex = {shift + reduction * fit.apex.x, shift + reduction * fit.apex.y};
  fit.radius *= reduction;
  fit.start_radius *= reduction;
  return fit;
}

// A reduced mask brought back to the box's full size (each reduced pixel covers reduction² pixels).
cv::Mat to_full_size(const cv::Mat& reduced, int reduction, const Box& box) {
  if (reduction == 1) return reduced;
  cv::Mat full;
  cv::resize(reduced, full, cv::Size(reduced.cols * reduction, reduced.rows * reduction), 0, 0, cv::INTER_NEAREST);
  return full(cv::Rect(0, 0, box.width(), box.height())).clone();
}

}  // namespace

Image8 render_fan_mask(int width, int height, Point2 apex_px, double start_radius_px, double radius_px,
                       double left_angle_rad, double right_angle_rad) {
  Image8 mask(std::max(0, width), std::max(0, height), 0);
  const double cos_left = std::cos(left_angle_rad), sin_left = std::sin(left_angle_rad);
  const double cos_right = std::cos(right_angle_rad), sin_right = std::sin(right_angle_rad);
  const double r0 = start_radius_px * start_radius_px, r1 = radius_px * radius_px;
  for (int y = 0; y < mask.height; ++y) {
    const double dy = y - apex_px.y;
    for (int x = 0; x < mask.width; ++x) {
      const double dx = x - apex_px.x;
      const double r2 = dx * dx + dy * dy;
      // angle >= left: sin(angle - left) >= 0; angle <= right: sin(right - angle) >= 0 (opening < 180 deg).
      const bool inside = r2 >= r0 && r2 <= r1 && dx * cos_left - dy * sin_left >= 0.0 &&
                          dy * sin_right - dx * cos_right >= 0.0;
      if (inside) mask.at(x, y) = 255;
    }
  }
  return mask;
}

std::vector<int> sector_sample_frames(int frame_count, const SectorOptions& options) {
  return frame_count <= 0 ? std::vector<int>{} : sampled_frame_indices(frame_count, options.max_frames_sampled);
}

SectorSamples::SectorSamples(int rows, int cols)
    : rows_(std::max(0, rows)), cols_(std::max(0, cols)),
      lowest_(static_cast<std::size_t>(rows_) * cols_, 255), highest_(lowest_.size(), 0), sum_(lowest_.size(), 0.0f) {}

void SectorSamples::add(const std::uint8_t* frame) {
  const cv::Mat pixels(rows_, cols_, CV_8U, const_cast<std::uint8_t*>(frame));
  cv::Mat lowest(rows_, cols_, CV_8U, lowest_.data()), highest(rows_, cols_, CV_8U, highest_.data());
  cv::Mat sum(rows_, cols_, CV_32F, sum_.data());
  cv::min(lowest, pixels, lowest);
  cv::max(highest, pixels, highest);
  cv::accumulate(pixels, sum);
  ++count_;
}

SectorGeometry detect_sector(const Cine& cine, const SectorOptions& options) {
  if (cine.rows <= 0 || cine.cols <= 0 || cine.frame_count() <= 0) return whole_image(cine, "empty cine");
  SectorSamples samples(cine.rows, cine.cols);
  for (int index : sector_sample_frames(cine.frame_count(), options)) samples.add(cine.frame(index));
  return detect_sector(cine, samples, options);
}

SectorGeometry detect_sector(const Cine& cine, const SectorSamples& samples, const SectorOptions& options) {
  if (cine.rows <= 0 || cine.cols <= 0 || samples.count() <= 0 || samples.rows() != cine.rows || samples.cols() != cine.cols) {
    return whole_image(cine, "empty cine");
  }
  try {
    std::string note;
    Box box{0, 0, cine.cols - 1, cine.rows - 1};
    std::string source = "image";
    if (options.use_ultrasound_regions) {
      if (const auto region = trusted_2d_region(cine, note)) {
        box = *region;
        source = "ultrasound_region";
      }
    }
    int reduction = search_reduction(box, options);
    const cv::Mat region = candidate_region(samples, box, options, reduction);
    const double region_pixels = cv::countNonZero(region) * static_cast<double>(reduction * reduction);
    if (source == "image" && region_pixels < options.min_sector_fraction * static_cast<double>(box.area())) {
      return whole_image(cine, note + "no region that changes over the cine or is bright enough");
    }
    const cv::Mat reduced_hull = convex_hull_mask(region);
    const FanFit fit = to_full_size(fit_fan(reduced_hull), reduction);
    const cv::Mat hull = to_full_size(reduced_hull, reduction, box);

    SectorGeometry sector;
    sector.found = true;
    sector.source = source;
    cv::Mat full_mask = cv::Mat::zeros(cine.rows, cine.cols, CV_8U);
    const cv::Rect roi(box.x0, box.y0, box.width(), box.height());
    bool use_fan = false;
    if (fit.ok) {
      const Point2 apex{fit.apex.x + box.x0, fit.apex.y + box.y0};
      Image8 fan = render_fan_mask(cine.cols, cine.rows, apex, fit.start_radius, fit.radius, fit.left, fit.right);
      cv::Mat fan_mat(cine.rows, cine.cols, CV_8U, fan.pixels.data());
      cv::Mat fan_in_box = cv::Mat::zeros(fan_mat.size(), CV_8U);
      fan_mat(roi).copyTo(fan_in_box(roi));
      cv::Mat hull_full = cv::Mat::zeros(fan_mat.size(), CV_8U);
      hull.copyTo(hull_full(roi));
      const double iou = overlap_iou(fan_in_box, hull_full);
      if (iou >= 0.85) {
        use_fan = true;
        full_mask = fan_in_box;
        sector.apex_px = apex;
        sector.radius_px = fit.radius;
        sector.start_radius_px = fit.start_radius;
        sector.left_angle_rad = fit.left;
        sector.right_angle_rad = fit.right;
      } else {
        note += "fitted fan overlaps the region by only " + std::to_string(iou) + "; region hull used; ";
      }
    } else {
      note += fit.why_not + "; region hull used; ";
    }
    // A trusted region is the fan's bounding box: when the image gives little evidence (a dim, under-gained
    // or blurred cine) the fan inscribed in it is a better answer than a small bright patch inside it.
    if (source == "ultrasound_region" && (!use_fan || cv::countNonZero(full_mask) < 0.3 * box.area())) {
      const double radius = box.height();
      const double half_angle = std::asin(std::min(1.0, 0.5 * box.width() / radius));
      const Point2 apex{box.x0 + 0.5 * (box.width() - 1), static_cast<double>(box.y0)};
      Image8 fan = render_fan_mask(cine.cols, cine.rows, apex, 0.0, radius, -half_angle, half_angle);
      full_mask = cv::Mat::zeros(cine.rows, cine.cols, CV_8U);
      cv::Mat(cine.rows, cine.cols, CV_8U, fan.pixels.data())(roi).copyTo(full_mask(roi));
      use_fan = true;
      sector.apex_px = apex;
      sector.radius_px = radius;
      sector.start_radius_px = 0.0;
      sector.left_angle_rad = -half_angle;
      sector.right_angle_rad = half_angle;
      note += "image evidence weak inside the ultrasound region; the fan inscribed in the region used; ";
    }
    if (!use_fan) {
      if (source == "ultrasound_region") {
        full_mask(roi).setTo(255);  // the region itself is the image area
      } else {
        hull.copyTo(full_mask(roi));
      }
      sector.apex_px = {box.x0 + 0.5 * (box.width() - 1), static_cast<double>(box.y0)};
      sector.radius_px = box.height();
    }
    sector.fan = use_fan;
    sector.mask = Image8(cine.cols, cine.rows, 0);
    std::copy(full_mask.datastart, full_mask.dataend, sector.mask.pixels.begin());
    set_box_from_mask(sector);
    sector.note = note;
    if (sector.mask_fraction <= 0.0) return whole_image(cine, note + "empty sector mask");
    return sector;
  } catch (const std::exception& error) {
    return whole_image(cine, std::string("sector detection failed: ") + error.what());
  }
}

}  // namespace echo
