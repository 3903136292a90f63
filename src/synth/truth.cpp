#include "synth/truth.hpp"

#include <algorithm>
#include <cmath>

namespace echo::synth {
namespace {

Vec3 plane_point(const FrameState& f, double u, double w) {
  return f.plane.origin + u * f.plane.e_u + w * f.plane.e_w;
}

Point2 to_pixel(const FrameState& f, const ImageGeometry& g, double u, double w) {
  double X, Y;
  f.to_screen(u, w, X, Y);
  return Point2{g.apex_x_px + X / g.mm_per_px, g.apex_y_px + Y / g.mm_per_px};
}

}  // namespace

bool extent_on_level_line(const FrameState& f, double s_line, PlanePoint near,
                          const std::function<bool(const Vec3&)>& inside, PlanePoint& a, PlanePoint& b) {
  // s(u, w) = origin.z + u e_u.z + w e_w.z: its gradient in the plane is (e_u.z, e_w.z).
  const double gu = f.plane.e_u.z, gw = f.plane.e_w.z;
  const double g2 = gu * gu + gw * gw;
  if (g2 < 1e-6) return false;  // the plane is parallel to the annulus plane
  const double s_near = f.plane.origin.z + near.u * gu + near.w * gw;
  const PlanePoint p0{near.u + (s_line - s_near) * gu / g2, near.w + (s_line - s_near) * gw / g2};
  const double g = std::sqrt(g2);
  const double tu = -gw / g, tw = gu / g;  // along the line
  auto in = [&](double lambda) { return inside(plane_point(f, p0.u + lambda * tu, p0.w + lambda * tw)); };
  // Find an inside point near p0, then the two ends by bisection.
  double start = 0;
  bool found = false;
  for (int k = 0; k <= 160 && !found; ++k) {
    const double lambda = (k % 2 == 0 ? 1 : -1) * 0.5 * ((k + 1) / 2);
    if (in(lambda)) {
      start = lambda;
      found = true;
    }
  }
  if (!found) return false;
  double ends[2];
  for (int side = 0; side < 2; ++side) {
    const double dir = side == 0 ? -1.0 : 1.0;
    double lo = start, hi = start;
    do {
      lo = hi;
      hi += dir * 2.0;
    } while (in(hi) && std::abs(hi - start) < 200);
    for (int it = 0; it < 40; ++it) {
      const double mid = 0.5 * (lo + hi);
      (in(mid) ? lo : hi) = mid;
    }
    ends[side] = 0.5 * (lo + hi);
  }
  a = PlanePoint{p0.u + ends[0] * tu, p0.w + ends[0] * tw};
  b = PlanePoint{p0.u + ends[1] * tu, p0.w + ends[1] * tw};
  if (a.u > b.u) std::swap(a, b);
  return true;
}

bool cut_lv(const Scene& scene, const FrameState& f, PlaneCut& cut) {
  cut = PlaneCut{};
  auto level = [&](double u, double w) { return scene.lv_cavity_level(f, plane_point(f, u, w)); };
  // An interior point: the centroid of a coarse scan of the cut.
  double su = 0, sw = 0;
  int count = 0;
  const double L = f.length_mm;
  for (double w = -40; w <= L + 60; w += 2.5) {
    for (double u = -70; u <= 70; u += 2.5) {
      if (level(u, w) < 0) {
        su += u;
        sw += w;
        ++count;
      }
    }
  }
  if (count < 3) return false;
  const PlanePoint centre{su / count, sw / count};
  if (level(centre.u, centre.w) >= 0) return false;  // not star-shaped about its centroid: give up

  const int rays = 240;
  std::vector<std::pair<double, PlanePoint>> points;
  points.reserve(rays + 2);
  for (int k = 0; k < rays; ++k) {
    const double psi = 2 * kPi * k / rays;
    const double du = std::cos(psi), dw = std::sin(psi);
    double lo = 0, hi = 0;
    do {
      lo = hi;
      hi += 3.0;
    } while (level(centre.u + hi * du, centre.w + hi * dw) < 0 && hi < 250);
    for (int it = 0; it < 30; ++it) {
      const double mid = 0.5 * (lo + hi);
      (level(centre.u + mid * du, centre.w + mid * dw) < 0 ? lo : hi) = mid;
    }
    const double r = 0.5 * (lo + hi);
    points.push_back({psi, PlanePoint{centre.u + r * du, centre.w + r * dw}});
  }
  // The annulus corners, exactly: ends of the cavity's section just inside the base plane.
  auto inside = [&](const Vec3& p) { return scene.lv_cavity_level(f, p) < 0; };
  PlanePoint a, b;
  if (extent_on_level_line(f, L - 1e-7, centre, inside, a, b)) {
    cut.annulus_a = a;
    cut.annulus_b = b;
    cut.has_annulus = true;
    for (const PlanePoint& p : {a, b}) {
      double psi = std::atan2(p.w - centre.w, p.u - centre.u);
      if (psi < 0) psi += 2 * kPi;
      points.push_back({psi, p});
    }
  }
  std::sort(points.begin(), points.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (const auto& p : points) cut.contour.push_back(p.second);
  return true;
}

double polygon_area(const Contour& c) {
  double a = 0;
  for (std::size_t i = 0, n = c.size(); i < n; ++i) {
    const Point2& p = c[i];
    const Point2& q = c[(i + 1) % n];
    a += p.x * q.y - q.x * p.y;
  }
  return 0.5 * a;
}

std::vector<double> disc_diameters_px(const Contour& contour, Point2 apex, Point2 mid, int n, double& long_axis_px) {
  std::vector<double> d(n, 0.0);
  const double ax = apex.x - mid.x, ay = apex.y - mid.y;
  long_axis_px = std::hypot(ax, ay);
  if (long_axis_px <= 0 || contour.size() < 3) return d;
  const double ux = ax / long_axis_px, uy = ay / long_axis_px;  // base -> apex
  const double px = -uy, py = ux;                               // across
  for (int i = 0; i < n; ++i) {
    const double t = (i + 0.5) / n * long_axis_px;
    const double cx = mid.x + t * ux, cy = mid.y + t * uy;
    // Intersections of the line through (cx, cy) along (px, py) with every edge.
    double lo = 1e300, hi = -1e300;
    for (std::size_t k = 0, m = contour.size(); k < m; ++k) {
      const Point2& p = contour[k];
      const Point2& q = contour[(k + 1) % m];
      // Signed distances along the axis from the disc's line.
      const double sp = (p.x - cx) * ux + (p.y - cy) * uy;
      const double sq = (q.x - cx) * ux + (q.y - cy) * uy;
      if ((sp > 0) == (sq > 0)) continue;
      const double f = sp / (sp - sq);
      const double ix = p.x + f * (q.x - p.x), iy = p.y + f * (q.y - p.y);
      const double along = (ix - cx) * px + (iy - cy) * py;
      lo = std::min(lo, along);
      hi = std::max(hi, along);
    }
    if (hi > lo) d[i] = hi - lo;
  }
  return d;
}

void frame_truth(const Scene& scene, const FrameState& f, const ImageGeometry& g, double volume_ml, bool with_labels,
                 SynthFrameTruth& out) {
  out.lv_volume_ml = volume_ml;
  out.time_ms = f.t_ms;
  out.lv_mask = Image8(g.width, g.height, 0);
  PlaneCut cut;
  if (!cut_lv(scene, f, cut)) {
    out.lv_contour.clear();
    out.lv_area_mm2 = 0;
    out.lv_volume_discs_ml = 0;
  } else {
    out.lv_contour.clear();
    for (const PlanePoint& p : cut.contour) out.lv_contour.push_back(to_pixel(f, g, p.u, p.w));
    if (polygon_area(out.lv_contour) < 0) std::reverse(out.lv_contour.begin(), out.lv_contour.end());
    out.lv_area_mm2 = polygon_area(out.lv_contour) * g.mm_per_px * g.mm_per_px;
    Point2 a = to_pixel(f, g, cut.annulus_a.u, cut.annulus_a.w);
    Point2 b = to_pixel(f, g, cut.annulus_b.u, cut.annulus_b.w);
    if (!cut.has_annulus) {  // no base in this plane: use the two deepest points as a stand-in
      a = b = out.lv_contour.front();
      for (const Point2& p : out.lv_contour) {
        if (p.y > a.y) a = p;
      }
    }
    if (a.x > b.x) std::swap(a, b);
    out.annulus_left_px = a;
    out.annulus_right_px = b;
    const Point2 mid{0.5 * (a.x + b.x), 0.5 * (a.y + b.y)};
    double best = -1;
    for (const Point2& p : out.lv_contour) {
      const double d = std::hypot(p.x - mid.x, p.y - mid.y);
      if (d > best) {
        best = d;
        out.apex_px = p;
      }
    }
    out.lv_volume_discs_ml = discs_volume_ml(out, g.mm_per_px);
    // Mask: the same inside test at every pixel centre of the contour's bounding box.
    double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
    for (const Point2& p : out.lv_contour) {
      x0 = std::min(x0, p.x);
      y0 = std::min(y0, p.y);
      x1 = std::max(x1, p.x);
      y1 = std::max(y1, p.y);
    }
    const int ix0 = std::max(0, static_cast<int>(std::floor(x0)) - 1);
    const int iy0 = std::max(0, static_cast<int>(std::floor(y0)) - 1);
    const int ix1 = std::min(g.width - 1, static_cast<int>(std::ceil(x1)) + 1);
    const int iy1 = std::min(g.height - 1, static_cast<int>(std::ceil(y1)) + 1);
    for (int y = iy0; y <= iy1; ++y) {
      for (int x = ix0; x <= ix1; ++x) {
        const double X = (x - g.apex_x_px) * g.mm_per_px, Y = (y - g.apex_y_px) * g.mm_per_px;
        if (scene.in_lv_cavity(f, f.to_heart(X, Y))) out.lv_mask.at(x, y) = 255;
      }
    }
  }
  if (with_labels) {
    out.labels = Image8(g.width, g.height, 0);
    for (int y = 0; y < g.height; ++y) {
      for (int x = 0; x < g.width; ++x) {
        const double X = (x - g.apex_x_px) * g.mm_per_px, Y = (y - g.apex_y_px) * g.mm_per_px;
        const double r = std::hypot(X, Y);
        if (r > g.depth_mm || r < g.start_radius_px * g.mm_per_px || std::abs(std::atan2(X, Y)) > g.half_angle_rad) continue;
        Label l = scene.label_at(f, X, Y);
        if (l == Label::valve) l = Label::other_wall;
        if (l == Label::chest_wall) l = Label::background;
        out.labels.at(x, y) = static_cast<std::uint8_t>(l);
      }
    }
  }
}

}  // namespace echo::synth
