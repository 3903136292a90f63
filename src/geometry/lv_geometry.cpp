// LV geometry on one frame: contour -> annulus -> apex -> long axis -> discs -> volumes.
// The rules (and why) are in docs/measurement.md; the comments here say what each step relies on.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "echo/geometry.hpp"

namespace echo {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Vec2 {
  double x = 0, y = 0;
};
Vec2 operator+(Vec2 a, Vec2 b) { return {a.x + b.x, a.y + b.y}; }
Vec2 operator-(Vec2 a, Vec2 b) { return {a.x - b.x, a.y - b.y}; }
Vec2 operator*(double s, Vec2 a) { return {s * a.x, s * a.y}; }
double dot(Vec2 a, Vec2 b) { return a.x * b.x + a.y * b.y; }
double cross(Vec2 a, Vec2 b) { return a.x * b.y - a.y * b.x; }
double norm(Vec2 a) { return std::sqrt(a.x * a.x + a.y * a.y); }  // std::hypot is ~10x slower
Vec2 unit(Vec2 a) {
  const double n = norm(a);
  return n > 0 ? Vec2{a.x / n, a.y / n} : Vec2{0, 0};
}

using Polygon = std::vector<Vec2>;

double signed_area(const Polygon& poly) {
  double twice = 0;
  for (std::size_t i = 0, n = poly.size(); i < n; ++i) twice += cross(poly[i], poly[(i + 1) % n]);
  return 0.5 * twice;
}

double perimeter(const Polygon& poly) {
  double length = 0;
  for (std::size_t i = 0, n = poly.size(); i < n; ++i) length += norm(poly[(i + 1) % n] - poly[i]);
  return length;
}

std::size_t wrap(long i, std::size_t n) {
  const long m = static_cast<long>(n);
  return static_cast<std::size_t>(((i % m) + m) % m);
}

// The outer boundary of the largest connected component, as the chain of boundary pixel centres.
// RETR_EXTERNAL ignores inner boundaries, which fills the holes. The mask is padded by one pixel so
// that a cavity touching the image edge still gives a closed contour.
std::vector<cv::Point> largest_outer_boundary(const Image8& mask) {
  cv::Mat view(mask.height, mask.width, CV_8U, const_cast<std::uint8_t*>(mask.pixels.data()));
  const cv::Rect box = cv::boundingRect(view);  // of the nonzero pixels: work on that box only
  if (box.empty()) return {};
  cv::Mat binary;
  cv::copyMakeBorder(view(box) > 0, binary, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(binary, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE, cv::Point(box.x - 1, box.y - 1));
  std::size_t best = contours.size();
  double best_area = -1;
  for (std::size_t i = 0; i < contours.size(); ++i) {
    const double area = cv::contourArea(contours[i]);
    if (area > best_area) best_area = area, best = i;
  }
  return best < contours.size() ? contours[best] : std::vector<cv::Point>{};
}

// Gaussian smoothing along the closed contour (sigma in points).
Polygon smooth_closed(const Polygon& poly, double sigma) {
  const std::size_t n = poly.size();
  if (sigma <= 0 || n < 5) return poly;
  const int radius = std::min(static_cast<int>(std::ceil(3 * sigma)), static_cast<int>(n / 2) - 1);
  std::vector<double> weights(static_cast<std::size_t>(2 * radius + 1));
  double total = 0;
  for (int k = -radius; k <= radius; ++k) total += weights[static_cast<std::size_t>(k + radius)] = std::exp(-0.5 * k * k / (sigma * sigma));
  Polygon out(n);
  for (std::size_t i = 0; i < n; ++i) {
    Vec2 sum;
    for (int k = -radius; k <= radius; ++k)
      sum = sum + weights[static_cast<std::size_t>(k + radius)] * poly[wrap(static_cast<long>(i) + k, n)];
    out[i] = (1.0 / total) * sum;
  }
  return out;
}

// Moves each boundary pixel centre out to where the shape's edge lies on average. A pixel is on the
// boundary when one of its 4-neighbours is outside; for an edge with unit normal n those pixels lie
// between 0 and max(|nx|,|ny|) inside the true edge, uniformly, so the mean offset is half of that
// (0.5 px for an axis-aligned edge, 0.35 px at 45 degrees). Without it every diameter is ~1 px short.
Polygon offset_to_pixel_edge(const Polygon& centres) {
  const std::size_t n = centres.size();
  const double orientation = signed_area(centres) >= 0 ? 1.0 : -1.0;
  Polygon out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Vec2 tangent = unit(centres[wrap(static_cast<long>(i) + 1, n)] - centres[wrap(static_cast<long>(i) - 1, n)]);
    const Vec2 outward = orientation * Vec2{tangent.y, -tangent.x};
    const double offset = 0.5 * std::max(std::abs(outward.x), std::abs(outward.y));
    out[i] = centres[i] + offset * outward;
  }
  return out;
}

// Uniform resampling by arc length; index_of[k] is the nearest original vertex of sample k.
struct Resampled {
  Polygon points;
  std::vector<std::size_t> index_of;
};

Resampled resample(const Polygon& poly, std::size_t count) {
  Resampled out;
  const std::size_t n = poly.size();
  const double step = perimeter(poly) / static_cast<double>(count);
  double walked = 0, next = 0;
  for (std::size_t i = 0; i < n && out.points.size() < count; ++i) {
    const Vec2 a = poly[i], b = poly[(i + 1) % n];
    const double length = norm(b - a);
    while (next <= walked + length && out.points.size() < count) {
      const double t = length > 0 ? (next - walked) / length : 0;
      out.points.push_back(a + t * (b - a));
      out.index_of.push_back(t < 0.5 ? i : (i + 1) % n);
      next += step;
    }
    walked += length;
  }
  return out;
}

// --- Mitral annulus ---------------------------------------------------------------------------
// The basal hinge points close the cavity with a roughly straight segment (the mitral valve plane)
// that the rest of the cavity lies entirely beyond, and the apex is far from it. Search (coarse): on
// the contour resampled to ~64 points, every chord (i, j) whose arc i->j (at most 45% of the perimeter)
// stays within a straightness tolerance of the chord, and with no wall point crossing to the arc's side
// of the chord beyond that tolerance, scored by chord * height^2 (height: farthest wall point from the
// chord). The squared height prefers the elongated direction of the LV, so a long straight side wall
// never beats the base. Refinement (fine): each hinge is the corner where the contour turns away from
// the base direction by more than 40 degrees, walking out from the middle of the base.
struct Annulus {
  bool found = false;
  std::size_t first = 0, second = 0;  // contour indices; the base arc runs first -> second
};

Annulus coarse_annulus(const Resampled& samples, double min_tolerance) {
  const Polygon& r = samples.points;
  const std::size_t n = r.size();
  const std::size_t max_arc = n * 45 / 100;
  // No height exceeds the polygon's diameter: chords whose best possible score cannot beat the best
  // so far are skipped before any work.
  Vec2 centre;
  for (const Vec2& p : r) centre = centre + p;
  centre = (1.0 / static_cast<double>(n)) * centre;
  double radius = 0;
  for (const Vec2& p : r) radius = std::max(radius, norm(p - centre));
  const double max_height_sq = 4 * radius * radius;
  Annulus best;
  double best_score = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t len = 2; len <= max_arc; ++len) {
      const std::size_t j = (i + len) % n;
      const Vec2 chord = r[j] - r[i];
      const double chord_length = norm(chord);
      if (chord_length <= 0 || chord_length * max_height_sq <= best_score) continue;
      const Vec2 along = (1.0 / chord_length) * chord;
      const double tolerance = std::max(min_tolerance, 0.06 * chord_length);
      // The base arc: straight within tolerance (its middle, where a curve bulges most, tested first).
      bool straight = std::abs(cross(along, r[(i + len / 2) % n] - r[i])) <= tolerance;
      for (std::size_t k = 1; k < len && straight; ++k) straight = std::abs(cross(along, r[(i + k) % n] - r[i])) <= tolerance;
      if (!straight) continue;
      // The wall: on one side of the chord (within tolerance), as far from it as possible.
      double positive = 0, negative = 0;
      for (std::size_t k = len + 1; k < n; ++k) {
        const double d = cross(along, r[(i + k) % n] - r[i]);
        positive = std::max(positive, d);
        negative = std::max(negative, -d);
      }
      const double height = std::max(positive, negative);
      if (std::min(positive, negative) > tolerance) continue;  // the chord cuts through the cavity
      const double score = chord_length * height * height;
      if (score > best_score) best_score = score, best = Annulus{true, samples.index_of[i], samples.index_of[j]};
    }
  }
  return best;
}

// Walks from `start` in steps of `direction` (+1/-1) until the contour tangent (taken in contour order,
// which runs along `base_direction` on the base) turns more than 40 degrees away from the base
// direction and stays turned, for at most `max_steps`. Returns that corner index, or `fallback` when no
// such corner is met.
std::size_t walk_to_corner(const Polygon& c, std::size_t start, int direction, Vec2 base_direction, std::size_t max_steps,
                           int tangent_half_window, std::size_t fallback) {
  const std::size_t n = c.size();
  const double cos_limit = std::cos(40.0 * kPi / 180.0);
  auto turned = [&](long index) {
    const Vec2 tangent = unit(c[wrap(index + tangent_half_window, n)] - c[wrap(index - tangent_half_window, n)]);
    return dot(tangent, base_direction) < cos_limit;
  };
  for (std::size_t step = 0; step <= max_steps; ++step) {
    const long index = static_cast<long>(start) + direction * static_cast<long>(step);
    if (!turned(index)) continue;
    bool sustained = true;
    for (int k = 1; k <= tangent_half_window && sustained; ++k) sustained = turned(index + direction * k);
    if (sustained) return wrap(index, n);
  }
  return fallback;
}

// The annulus as two points on the base line: each hinge corner projected onto the line fitted (total
// least squares) through the base arc between the corners, leaving out the rounded corners themselves.
// A pixel mask's corner is rounded over about a pixel, so the contour point at the corner lies ~1 px
// inside the true corner; the projection puts the annulus back on the valve plane, which keeps the
// long axis unbiased.
struct AnnulusPoints {
  Vec2 first, second;
};

AnnulusPoints project_on_base_line(const Polygon& c, const Annulus& corners, std::size_t trim) {
  const std::size_t n = c.size();
  const std::size_t arc = wrap(static_cast<long>(corners.second) - static_cast<long>(corners.first), n);
  AnnulusPoints out{c[corners.first], c[corners.second]};
  if (arc < 2 * trim + 3) return out;
  Vec2 mean;
  const std::size_t count = arc - 2 * trim + 1;
  for (std::size_t k = trim; k <= arc - trim; ++k) mean = mean + c[(corners.first + k) % n];
  mean = (1.0 / static_cast<double>(count)) * mean;
  double sxx = 0, sxy = 0, syy = 0;
  for (std::size_t k = trim; k <= arc - trim; ++k) {
    const Vec2 d = c[(corners.first + k) % n] - mean;
    sxx += d.x * d.x, sxy += d.x * d.y, syy += d.y * d.y;
  }
  const double angle = 0.5 * std::atan2(2 * sxy, sxx - syy);  // principal direction
  const Vec2 direction{std::cos(angle), std::sin(angle)};
  out.first = mean + dot(c[corners.first] - mean, direction) * direction;
  out.second = mean + dot(c[corners.second] - mean, direction) * direction;
  return out;
}

Annulus find_annulus(const Polygon& c, double pixel_mm, int* corner_half_window) {
  const std::size_t n = c.size();
  const std::size_t sample_count = std::min<std::size_t>(64, n);
  const Resampled samples = resample(c, sample_count);
  Annulus coarse = coarse_annulus(samples, 1.0 * pixel_mm);
  if (!coarse.found) return coarse;
  const std::size_t arc = wrap(static_cast<long>(coarse.second) - static_cast<long>(coarse.first), n);
  const std::size_t middle = (coarse.first + arc / 2) % n;
  const Vec2 base_direction = unit(c[coarse.second] - c[coarse.first]);
  const std::size_t points_per_sample = std::max<std::size_t>(1, n / sample_count);
  const std::size_t max_steps = arc / 2 + 2 * points_per_sample;
  const double point_spacing = perimeter(c) / static_cast<double>(n);
  const int half_window = std::max(2, static_cast<int>(std::lround(0.03 * norm(c[coarse.second] - c[coarse.first]) / point_spacing)));
  *corner_half_window = half_window;
  Annulus fine{true, 0, 0};
  fine.second = walk_to_corner(c, middle, +1, base_direction, max_steps, half_window, coarse.second);
  fine.first = walk_to_corner(c, middle, -1, base_direction, max_steps, half_window, coarse.first);
  return fine;
}

// The apex: the contour point farthest from the annulus midpoint. Near a rounded tip that distance is
// flat to within pixel noise over many points, so the middle of the points within a quarter pixel of
// the maximum is taken (the farthest single point wanders along the tip with the noise).
std::size_t find_apex(const Polygon& c, Vec2 middle, double pixel_mm) {
  const std::size_t n = c.size();
  std::size_t farthest = 0;
  double farthest_distance = -1;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = norm(c[i] - middle);
    if (d > farthest_distance) farthest_distance = d, farthest = i;
  }
  const double level = farthest_distance - 0.25 * pixel_mm;
  long back = 0, ahead = 0;
  while (back < static_cast<long>(n / 4) && norm(c[wrap(static_cast<long>(farthest) - back - 1, n)] - middle) >= level) ++back;
  while (ahead < static_cast<long>(n / 4) && norm(c[wrap(static_cast<long>(farthest) + ahead + 1, n)] - middle) >= level) ++ahead;
  return wrap(static_cast<long>(farthest) + (ahead - back) / 2, n);
}

// --- Discs ----------------------------------------------------------------------------------------
struct AxisFrame {
  Vec2 origin;  // annulus midpoint
  Vec2 along;   // unit vector to the apex
  Vec2 across;  // unit, perpendicular
  double length = 0;
};

struct DiscCut {
  double diameter = 0;
  Vec2 a, b;
};

// Disc k (0 = basal) is cut at (k + 0.5) * L / n from the annulus midpoint, perpendicular to the axis;
// its diameter is the span between the outermost crossings of the contour on that line.
std::vector<DiscCut> cut_discs(const Polygon& c, const AxisFrame& axis, int disc_count) {
  const std::size_t n = c.size();
  std::vector<double> s(n), t(n);
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = dot(c[i] - axis.origin, axis.along);
    t[i] = dot(c[i] - axis.origin, axis.across);
  }
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> t_min(static_cast<std::size_t>(disc_count), inf), t_max(static_cast<std::size_t>(disc_count), -inf);
  const double step = axis.length / disc_count;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = (i + 1) % n;
    const double lo = std::min(s[i], s[j]), hi = std::max(s[i], s[j]);
    if (hi <= lo) continue;
    const int k_first = std::max(0, static_cast<int>(std::floor(lo / step - 0.5)));
    const int k_last = std::min(disc_count - 1, static_cast<int>(std::ceil(hi / step - 0.5)));
    for (int k = k_first; k <= k_last; ++k) {
      const double level = (k + 0.5) * step;
      if (level < lo || level >= hi) continue;  // half-open: a vertex exactly on the level counts once
      const double f = (level - s[i]) / (s[j] - s[i]);
      const double crossing = t[i] + f * (t[j] - t[i]);
      const std::size_t kk = static_cast<std::size_t>(k);
      t_min[kk] = std::min(t_min[kk], crossing);
      t_max[kk] = std::max(t_max[kk], crossing);
    }
  }
  std::vector<DiscCut> cuts(static_cast<std::size_t>(disc_count));
  for (std::size_t k = 0; k < cuts.size(); ++k) {
    const Vec2 centre = axis.origin + ((static_cast<double>(k) + 0.5) * step) * axis.along;
    if (t_max[k] < t_min[k]) {  // no crossing (cannot happen for a closed contour around the axis)
      cuts[k] = DiscCut{0, centre, centre};
      continue;
    }
    cuts[k] = DiscCut{t_max[k] - t_min[k], centre + t_min[k] * axis.across, centre + t_max[k] * axis.across};
  }
  return cuts;
}

Vec2 to_metric(const Point2& p, const PixelSpacing& scale) { return {p.x * scale.mm_per_px_x, p.y * scale.mm_per_px_y}; }
Point2 to_pixels(Vec2 p, const PixelSpacing& scale) { return {p.x / scale.mm_per_px_x, p.y / scale.mm_per_px_y}; }

// The spacing used for arithmetic: the real one, or 1 mm per pixel when unknown (results then in px).
PixelSpacing working_scale(const PixelSpacing& spacing) { return spacing.known() ? spacing : PixelSpacing{1.0, 1.0}; }

LvGeometry invalid(std::string reason, const PixelSpacing& spacing) {
  LvGeometry out;
  out.valid = false;
  out.invalid_reason = std::move(reason);
  out.spacing = spacing;
  out.volumes_in_ml = spacing.known();
  return out;
}

AxisFrame axis_of(const LvGeometry& lv) {
  const PixelSpacing scale = working_scale(lv.spacing);
  AxisFrame axis;
  axis.origin = to_metric(lv.annulus_mid_px, scale);
  const Vec2 apex = to_metric(lv.apex_px, scale);
  axis.length = norm(apex - axis.origin);
  axis.along = unit(apex - axis.origin);
  axis.across = Vec2{-axis.along.y, axis.along.x};
  return axis;
}

Polygon metric_polygon(const Contour& contour_px, const PixelSpacing& scale) {
  Polygon poly;
  poly.reserve(contour_px.size());
  for (const Point2& p : contour_px) poly.push_back(to_metric(p, scale));
  return poly;
}

// Everything after the contour: annulus, apex, axis, discs, volumes. `metric` is contour_px scaled.
LvGeometry measure_from_polygon(Contour contour_px, const Polygon& metric, const PixelSpacing& spacing,
                                const LvGeometryOptions& options) {
  const PixelSpacing scale = working_scale(spacing);
  const double pixel_mm = std::max(scale.mm_per_px_x, scale.mm_per_px_y);
  const double area = std::abs(signed_area(metric));
  if (metric.size() < 8 || area < 16 * scale.mm_per_px_x * scale.mm_per_px_y) return invalid("mask too small", spacing);

  int corner_half_window = 2;
  const Annulus annulus = find_annulus(metric, pixel_mm, &corner_half_window);
  if (!annulus.found || annulus.first == annulus.second) return invalid("no annulus found", spacing);
  const AnnulusPoints hinges = project_on_base_line(metric, annulus, static_cast<std::size_t>(corner_half_window));
  const Vec2 hinge_a = hinges.first, hinge_b = hinges.second;
  const Vec2 middle = 0.5 * (hinge_a + hinge_b);
  const std::size_t apex_index = find_apex(metric, middle, pixel_mm);
  const double apex_distance = norm(metric[apex_index] - middle);
  if (apex_distance < 4 * pixel_mm) return invalid("degenerate long axis", spacing);

  LvGeometry lv;
  lv.valid = true;
  lv.spacing = spacing;
  lv.volumes_in_ml = spacing.known();
  lv.contour_px = std::move(contour_px);
  const Point2 pa = to_pixels(hinge_a, scale), pb = to_pixels(hinge_b, scale);
  lv.annulus_left_px = pa.x <= pb.x ? pa : pb;
  lv.annulus_right_px = pa.x <= pb.x ? pb : pa;
  lv.annulus_mid_px = to_pixels(middle, scale);
  lv.apex_px = to_pixels(metric[apex_index], scale);
  lv.long_axis_mm = apex_distance;
  lv.area_mm2 = area;

  const AxisFrame axis = axis_of(lv);
  const int disc_count = std::max(1, options.disc_count);
  double sum_d2 = 0;
  for (const DiscCut& cut : cut_discs(metric, axis, disc_count)) {
    lv.discs.push_back(Disc{to_pixels(cut.a, scale), to_pixels(cut.b, scale), cut.diameter});
    sum_d2 += cut.diameter * cut.diameter;
  }
  const double per_ml = spacing.known() ? 1e-3 : 1.0;  // mm^3 -> mL; px^3 stay px^3
  lv.volume_discs_ml = kPi / 4.0 * sum_d2 * axis.length / disc_count * per_ml;
  lv.volume_area_length_ml = 0.85 * area * area / axis.length * per_ml;
  return lv;
}

bool usable_spacing(const PixelSpacing& spacing) {
  // Unknown is 0/0; anything else must be finite and positive in both directions.
  if (spacing.mm_per_px_x == 0 && spacing.mm_per_px_y == 0) return true;
  return spacing.known() && std::isfinite(spacing.mm_per_px_x) && std::isfinite(spacing.mm_per_px_y);
}

}  // namespace

LvGeometry measure_lv(const Image8& mask, const PixelSpacing& spacing, const LvGeometryOptions& options) {
  try {
    if (!usable_spacing(spacing)) return invalid("invalid pixel spacing (must be both > 0, or both 0 for unknown)", {});
    if (mask.empty()) return invalid("empty mask", spacing);
    if (mask.pixels.size() != static_cast<std::size_t>(mask.width) * static_cast<std::size_t>(mask.height))
      return invalid("invalid mask: pixel buffer does not match width x height", spacing);
    if (std::none_of(mask.pixels.begin(), mask.pixels.end(), [](std::uint8_t v) { return v != 0; }))
      return invalid("empty mask", spacing);
    const std::vector<cv::Point> boundary = largest_outer_boundary(mask);
    if (boundary.size() < 8) return invalid("mask too small", spacing);
    Polygon centres;
    centres.reserve(boundary.size());
    for (const cv::Point& p : boundary) centres.push_back(Vec2{static_cast<double>(p.x), static_cast<double>(p.y)});
    const Polygon edge = offset_to_pixel_edge(smooth_closed(centres, options.smoothing_px));
    Contour contour_px;
    contour_px.reserve(edge.size());
    for (const Vec2& p : edge) contour_px.push_back(Point2{p.x, p.y});
    const Polygon metric = metric_polygon(contour_px, working_scale(spacing));
    return measure_from_polygon(std::move(contour_px), metric, spacing, options);
  } catch (const std::exception& e) {
    return invalid(std::string("internal error: ") + e.what(), spacing);
  }
}

LvGeometry measure_lv_contour(const Contour& contour_px, const PixelSpacing& spacing, const LvGeometryOptions& options) {
  try {
    if (!usable_spacing(spacing)) return invalid("invalid pixel spacing (must be both > 0, or both 0 for unknown)", {});
    if (contour_px.size() < 3) return invalid("contour has fewer than 3 points", spacing);
    for (const Point2& p : contour_px)
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) return invalid("contour has a non-finite point", spacing);
    // A hand-drawn contour may be sparse: densify to about one point per pixel so the annulus search
    // and the corner walk see the shape, not the clicks.
    Contour dense;
    for (std::size_t i = 0, n = contour_px.size(); i < n; ++i) {
      const Point2 a = contour_px[i], b = contour_px[(i + 1) % n];
      const int pieces = std::max(1, static_cast<int>(std::ceil(std::hypot(b.x - a.x, b.y - a.y))));
      for (int k = 0; k < pieces; ++k) {
        const double f = static_cast<double>(k) / pieces;
        dense.push_back(Point2{a.x + f * (b.x - a.x), a.y + f * (b.y - a.y)});
      }
    }
    const Polygon metric = metric_polygon(dense, working_scale(spacing));
    return measure_from_polygon(std::move(dense), metric, spacing, options);
  } catch (const std::exception& e) {
    return invalid(std::string("internal error: ") + e.what(), spacing);
  }
}

std::vector<double> disc_diameters_mm(const LvGeometry& lv, int disc_count) {
  std::vector<double> diameters;
  if (!lv.valid || disc_count < 1) return diameters;
  const Polygon metric = metric_polygon(lv.contour_px, working_scale(lv.spacing));
  for (const DiscCut& cut : cut_discs(metric, axis_of(lv), disc_count)) diameters.push_back(cut.diameter);
  return diameters;
}

double biplane_volume_ml(const LvGeometry& a4c, const LvGeometry& a2c, int disc_count) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (!a4c.valid || !a2c.valid || disc_count < 1 || a4c.volumes_in_ml != a2c.volumes_in_ml) return nan;
  const std::vector<double> d4 = disc_diameters_mm(a4c, disc_count), d2 = disc_diameters_mm(a2c, disc_count);
  double sum = 0;
  for (std::size_t i = 0; i < d4.size(); ++i) sum += d4[i] * d2[i];
  const double long_axis = std::max(a4c.long_axis_mm, a2c.long_axis_mm);  // the longer: see the header
  const double per_ml = a4c.volumes_in_ml ? 1e-3 : 1.0;
  return kPi / 4.0 * sum * long_axis / disc_count * per_ml;
}

double biplane_long_axis_mismatch_percent(const LvGeometry& a4c, const LvGeometry& a2c) {
  if (!a4c.valid || !a2c.valid) return std::numeric_limits<double>::quiet_NaN();
  return 100.0 * std::abs(a4c.long_axis_mm - a2c.long_axis_mm) / std::max(a4c.long_axis_mm, a2c.long_axis_mm);
}

}  // namespace echo
