#include "synth/scene.hpp"

#include <algorithm>
#include <cmath>

namespace echo::synth {
namespace {

double smoothstep(double edge0, double edge1, double x) {
  const double t = std::clamp((x - edge0) / (edge1 - edge0), 0.0, 1.0);
  return t * t * (3.0 - 2.0 * t);
}

double segment_distance2(double px, double py, const Capsule& c) {
  const double vx = c.bx - c.ax, vy = c.by - c.ay;
  const double len2 = vx * vx + vy * vy;
  double t = len2 > 0 ? ((px - c.ax) * vx + (py - c.ay) * vy) / len2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  const double dx = px - (c.ax + t * vx), dy = py - (c.ay + t * vy);
  return dx * dx + dy * dy;
}

}  // namespace

LvAtPoint Scene::lv_at(const FrameState& f, const Vec3& p, bool with_wall) const {
  LvAtPoint q;
  q.rho = std::sqrt(p.x * p.x + p.y * p.y);
  q.cos_phi = q.rho > 1e-9 ? p.x / q.rho : 1.0;
  q.sin_phi = q.rho > 1e-9 ? p.y / q.rho : 0.0;
  const double L0 = a_.lv_length_mm;
  q.sp = std::clamp(p.z * f.stretch, 0.0, L0);
  const double H = shape_.harmonic(q.cos_phi, q.sin_phi, q.sp);
  const double w = shape_.motion_weight(q.cos_phi, q.sin_phi, q.sp);
  const double r0 = shape_.base_radius(q.sp) * H;
  q.r_ref = r0;
  q.r = r0 * (1.0 - f.kc * w);
  if (with_wall) {
    q.h_ref = shape_.wall_mm(q.sp);
    q.h = q.h_ref * f.thickening(w);
  } else {
    q.h_ref = q.h = 0;
  }
  return q;
}

double Scene::lv_cavity_level(const FrameState& f, const Vec3& p) const {
  const LvAtPoint q = lv_at(f, p, false);
  double level = q.rho - q.r;
  level = std::max(level, p.z - f.length_mm);
  level = std::max(level, -p.z);
  return level;
}

bool Scene::in_rv_cavity(const FrameState& f, const Vec3& p) const {
  const double epi_mid = a_.lv_radius_mm + a_.wall_mm;
  if (p.x >= -0.4 * epi_mid || p.z > f.tricuspid_s) return false;
  const double dx = p.x - f.rv_center_x, ds = p.z - f.rv_center_s;
  if (dx * dx / (f.rv_ax * f.rv_ax) + p.y * p.y / (f.rv_ay * f.rv_ay) + ds * ds / (f.rv_as * f.rv_as) > 1.0) return false;
  const LvAtPoint lv = lv_at(f, p);
  return p.z < 0 || lv.rho >= lv.r + lv.h;
}

void Scene::place_chambers(FrameState& f) const {
  const double L0 = a_.lv_length_mm;
  const double L = f.length_mm;
  const double base_weight = 1.0 + a_.motion_slope * 0.5;
  const double r_base = shape_.base_radius(L0) * (1.0 - f.kc * base_weight);
  // LA: its roof follows the mitral annulus, its floor (pulmonary veins) stays put.
  f.la_r = a_.la_radius_mm;
  const double q = std::clamp(r_base / f.la_r, 0.0, 0.95);
  const double root = std::sqrt(1.0 - q * q);
  const double la_bottom = L0 + a_.la_length_mm;
  f.la_axis_s = (la_bottom - L) / (1.0 + root);
  f.la_center_s = L + f.la_axis_s * root;
  // RA beside it, below the (apically displaced) tricuspid annulus.
  f.tricuspid_s = L - a_.tricuspid_offset_mm;
  f.ra_r = a_.ra_radius_mm;
  f.ra_center_x = -(a_.la_radius_mm + a_.interatrial_gap_mm + a_.ra_radius_mm);
  const double ra_bottom = L0 - a_.tricuspid_offset_mm + a_.ra_length_mm;
  f.ra_axis_s = (ra_bottom - f.tricuspid_s) / 1.6;
  f.ra_center_s = f.tricuspid_s + 0.6 * f.ra_axis_s;
  // RV wrapped around the septum; it empties with the LV.
  const double epi = a_.lv_radius_mm + a_.wall_mm;
  f.rv_center_x = -0.95 * epi;
  f.rv_ax = std::min(a_.rv_width_mm, 0.92 * epi) * (1.0 - 0.3 * f.kc);
  f.rv_ay = a_.rv_depth_mm * (1.0 - 0.15 * f.kc);
  f.rv_apex_s = a_.rv_apex_fraction * L0;
  f.rv_as = (f.tricuspid_s - f.rv_apex_s) / 1.6;
  f.rv_center_s = f.rv_apex_s + f.rv_as;
  f.atria_bottom_s = std::max(la_bottom, ra_bottom);
  f.apex_wall_mm = a_.apex_wall_mm * shape_.thickening(f.thickening_c, 1.0);
  for (int i = 0; i < 65; ++i) f.thickening_table[i] = static_cast<float>(shape_.thickening(f.thickening_c, 0.6 + i / 80.0));
  // Papillary muscles: anterolateral and posteromedial, standing off the mid-ventricular wall and
  // moving with it.
  const double angles[2] = {-0.45 - 0.3 * a_.papillary_offset, kPi + 0.75 + 0.3 * a_.papillary_offset};
  for (int k = 0; k < 2; ++k) {
    const double c = std::cos(angles[k]), s = std::sin(angles[k]);
    const double sp = 0.56 * L0;
    const double r = shape_.base_radius(sp) * shape_.harmonic(c, s, sp) * (1.0 - f.kc * shape_.motion_weight(c, s, sp));
    FrameState::Papillary& pm = f.papillary[k];
    pm.radial = {c, s, 0};
    pm.tangential = {-s, c, 0};
    pm.centre = {0.8 * r * c, 0.8 * r * s, sp / f.stretch};
  }
}

TissueSample Scene::evaluate(const FrameState& f, double X, double Y, double dX, double dY) const {
  TissueSample out;
  if (X >= f.valve_box[0] && X <= f.valve_box[2] && Y >= f.valve_box[1] && Y <= f.valve_box[3]) {
    for (const Capsule& c : f.valves) {
      if (segment_distance2(X, Y, c) < c.radius_mm * c.radius_mm) {
        out.label = Label::valve;
        out.echo = static_cast<float>(c.echo);
        double u, w;
        f.to_plane(X, Y, u, w);
        out.mat_u = static_cast<float>(u);
        out.mat_w = static_cast<float>(w);
        return out;
      }
    }
  }
  const Vec3 p = f.to_heart(X, Y);
  const LvAtPoint lv = lv_at(f, p);
  const double L0 = a_.lv_length_mm;
  const double L = f.length_mm;
  const double s = p.z;
  const bool in_lv_range = s >= 0 && s <= L;
  const double h_apex = f.apex_wall_mm;

  // Material coordinates: where this bit of tissue sits at end-diastole.
  double rho_ref = lv.rho;
  const double s_ref = s <= L ? s * f.stretch : s + (L0 - L) * std::exp(-(s - L) / 35.0);
  const double epi = lv.r + lv.h;
  if (in_lv_range) {
    if (lv.rho < lv.r) {
      rho_ref = lv.rho * lv.r_ref / std::max(lv.r, 1e-6);
    } else if (lv.rho < epi) {
      rho_ref = lv.r_ref + (lv.rho - lv.r) / lv.h * lv.h_ref;
    } else {
      rho_ref = lv.rho + (lv.r_ref + lv.h_ref - epi) * std::exp(-(lv.rho - epi) / 12.0);
    }
  }
  const Vec3 p_ref{lv.cos_phi * rho_ref, lv.sin_phi * rho_ref, s_ref};
  const Vec3 rel = p_ref - f.plane.origin;
  out.mat_u = static_cast<float>(dot(rel, f.plane.e_u));
  out.mat_w = static_cast<float>(dot(rel, f.plane.e_w));

  const Vec3 beam = dX * f.mx + dY * f.my;
  // LV cavity and myocardium.
  if (in_lv_range && lv.rho < lv.r) {
    out.label = Label::lv_cavity;
    out.echo = static_cast<float>(a_.blood_echo);
    for (const auto& pm : f.papillary) {
      const Vec3 d = p - pm.centre;
      const double a = dot(d, pm.radial) / 6.0, b = dot(d, pm.tangential) / 6.5, c = d.z / (11.0 / f.stretch);
      if (a * a + b * b + c * c < 1.0) out.echo = static_cast<float>(0.75 * a_.myocardium_echo);
    }
    return out;
  }
  const bool in_cap = s < 0 && s > -h_apex &&
                      (lv.rho * lv.rho) / (lv.h * lv.h) + (s * s) / (h_apex * h_apex) < 1.0;
  if ((in_lv_range && lv.rho < epi) || in_cap) {
    out.label = Label::lv_myocardium;
    // Wall normal (outward) in 3D: radial, tilted by the profile slope.
    const double slope = shape_.base_radius_slope(lv.sp) * f.stretch * (1.0 - f.kc);
    Vec3 n{lv.cos_phi, lv.sin_phi, in_cap ? -1.0 : -slope};
    const double cosine = std::abs(dot(n, beam)) / std::sqrt(dot(n, n));
    out.wall_cos = static_cast<float>(cosine);
    double echo = a_.myocardium_echo * (0.5 + 0.5 * cosine * std::sqrt(cosine));
    // Specular endocardial and epicardial surfaces: bright where the beam meets them head-on.
    const double to_endo = lv.rho - lv.r, to_epi = epi - lv.rho;
    const double c4 = cosine * cosine * cosine * cosine;
    if (in_lv_range && to_endo < 1.4) echo += 1.6 * c4;
    if (in_lv_range && to_epi < 1.6) echo += 1.2 * c4;
    out.echo = static_cast<float>(echo);
    return out;
  }

  // Right heart and atria (x < 0 is the septal / right side).
  const double epi_mid = a_.lv_radius_mm + a_.wall_mm;
  double d_heart = in_lv_range ? lv.rho - epi : 1e9;
  if (s < 0) {
    const double e = std::sqrt((lv.rho * lv.rho) / (lv.h * lv.h) + (s * s) / (h_apex * h_apex));
    d_heart = (e - 1.0) * h_apex;
  }
  if (p.x < -0.4 * epi_mid) {
    const double dx = (p.x - f.rv_center_x), ds = s - f.rv_center_s;
    const double e_in = dx * dx / (f.rv_ax * f.rv_ax) + p.y * p.y / (f.rv_ay * f.rv_ay) + ds * ds / (f.rv_as * f.rv_as);
    const double ax = f.rv_ax + a_.rv_wall_mm, ay = f.rv_ay + a_.rv_wall_mm, as = f.rv_as + a_.rv_wall_mm;
    const double e_out = dx * dx / (ax * ax) + p.y * p.y / (ay * ay) + ds * ds / (as * as);
    if (s <= f.tricuspid_s && e_in <= 1.0) {
      out.label = Label::rv;
      out.echo = static_cast<float>(a_.blood_echo);
      return out;
    }
    if (s <= f.tricuspid_s + 2.0 && e_out <= 1.0) {
      out.label = Label::other_wall;
      out.echo = static_cast<float>(0.9 * a_.myocardium_echo);
      return out;
    }
    if (s <= f.tricuspid_s + 2.0) d_heart = std::min(d_heart, (std::sqrt(e_out) - 1.0) * std::min(ax, as));
  }
  const double t_wall = a_.atrial_wall_mm;
  if (s >= L - 2.0) {  // LA
    const double ds = s - f.la_center_s;
    const double rho2 = p.x * p.x + p.y * p.y;
    const double e_in = rho2 / (f.la_r * f.la_r) + ds * ds / (f.la_axis_s * f.la_axis_s);
    const double ro = f.la_r + t_wall, so = f.la_axis_s + t_wall;
    const double e_out = rho2 / (ro * ro) + ds * ds / (so * so);
    if (s >= L && e_in <= 1.0) {
      out.label = Label::la;
      out.echo = static_cast<float>(a_.blood_echo);
      return out;
    }
    if (e_out <= 1.0) {
      out.label = Label::other_wall;
      const double gx = p.x / (ro * ro), gy = p.y / (ro * ro), gz = ds / (so * so);
      const double cosine = std::abs(dot(Vec3{gx, gy, gz}, beam)) / std::sqrt(gx * gx + gy * gy + gz * gz + 1e-12);
      out.wall_cos = static_cast<float>(cosine);
      out.echo = static_cast<float>(a_.myocardium_echo * (0.25 + 0.5 * cosine));
      return out;
    }
    d_heart = std::min(d_heart, (std::sqrt(e_out) - 1.0) * std::min(ro, so));
  }
  if (s >= f.tricuspid_s - 2.0 && p.x < -2.0) {  // RA
    const double dx = p.x - f.ra_center_x, ds = s - f.ra_center_s;
    const double rr2 = dx * dx + p.y * p.y;
    const double e_in = rr2 / (f.ra_r * f.ra_r) + ds * ds / (f.ra_axis_s * f.ra_axis_s);
    const double ro = f.ra_r + t_wall, so = f.ra_axis_s + t_wall;
    const double e_out = rr2 / (ro * ro) + ds * ds / (so * so);
    if (s >= f.tricuspid_s && e_in <= 1.0) {
      out.label = Label::ra;
      out.echo = static_cast<float>(a_.blood_echo);
      return out;
    }
    if (e_out <= 1.0) {
      out.label = Label::other_wall;
      const double gx = dx / (ro * ro), gy = p.y / (ro * ro), gz = ds / (so * so);
      const double cosine = std::abs(dot(Vec3{gx, gy, gz}, beam)) / std::sqrt(gx * gx + gy * gy + gz * gz + 1e-12);
      out.wall_cos = static_cast<float>(cosine);
      out.echo = static_cast<float>(a_.myocardium_echo * (0.25 + 0.5 * cosine));
      return out;
    }
    d_heart = std::min(d_heart, (std::sqrt(e_out) - 1.0) * std::min(ro, so));
  }
  // Pericardium: a bright sheet around the whole heart, thicker behind the atria (AV-groove fat,
  // descending aorta).
  const double thickness = a_.pericardium_mm + 7.0 * smoothstep(L0 + 15.0, f.atria_bottom_s, s);
  if (d_heart > 0 && d_heart < thickness) {
    out.label = Label::pericardium;
    // Brightest behind the atria and at the apex, fainter beside the ventricles.
    const double where = std::max(smoothstep(L0 - 10.0, L0 + 25.0, s), 1.0 - smoothstep(-5.0, 25.0, s));
    out.echo = static_cast<float>(a_.pericardium_echo * (0.35 + 0.65 * where) * (1.0 - 0.35 * d_heart / thickness));
    return out;
  }
  out.label = Label::background;
  out.echo = static_cast<float>(a_.background_echo);
  return out;
}

}  // namespace echo::synth
