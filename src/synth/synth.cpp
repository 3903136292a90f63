// generate_phantom: resolves the parameters, places the heart under the probe, builds every frame's
// state (contraction, motion, chambers, valves), renders the frames and their exact ground truth in
// parallel, then assembles the Cine and the per-beat truth.
#include "echo/synth.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <sstream>
#include <thread>

#include "synth/heart.hpp"
#include "synth/render.hpp"
#include "synth/rng.hpp"
#include "synth/scene.hpp"
#include "synth/truth.hpp"

namespace echo {

namespace {

struct ArtifactName {
  Artifact artifact;
  const char* name;
};
constexpr ArtifactName kArtifactNames[] = {
    {Artifact::blur, "blur"},           {Artifact::overgain, "overgain"},
    {Artifact::undergain, "undergain"}, {Artifact::lowcontrast, "lowcontrast"},
    {Artifact::motion, "motion"},       {Artifact::foreshortened, "foreshortened"},
    {Artifact::offaxis, "offaxis"},     {Artifact::outside, "outside"},
    {Artifact::partial, "partial"},     {Artifact::doppler, "doppler"},
};

}  // namespace

const char* artifact_name(Artifact artifact) {
  for (const auto& a : kArtifactNames) {
    if (a.artifact == artifact) return a.name;
  }
  return "unknown";
}

std::optional<Artifact> artifact_from_name(const std::string& name) {
  for (const auto& a : kArtifactNames) {
    if (name == a.name) return a.artifact;
  }
  return std::nullopt;
}

const std::vector<Artifact>& all_artifacts() {
  static const std::vector<Artifact> all = [] {
    std::vector<Artifact> v;
    for (const auto& a : kArtifactNames) v.push_back(a.artifact);
    return v;
  }();
  return all;
}

const char* synth_view_name(SynthView view) { return view == SynthView::a4c ? "a4c" : "a2c"; }

std::optional<SynthView> synth_view_from_name(const std::string& name) {
  if (name == "a4c") return SynthView::a4c;
  if (name == "a2c") return SynthView::a2c;
  return std::nullopt;
}

namespace {

using namespace echo::synth;

bool in_range(double v, double lo, double hi) { return v >= lo && v <= hi; }  // false for NaN

std::string check_params(const SynthParams& p) {
  std::ostringstream why;
  if (!in_range(p.ef_percent, 10, 80)) why << "ef_percent " << p.ef_percent << " outside 10..80";
  else if (!in_range(p.heart_rate_bpm, 40, 150)) why << "heart_rate_bpm " << p.heart_rate_bpm << " outside 40..150";
  else if (p.width < 64 || p.width > 800 || p.height < 64 || p.height > 600)
    why << "image size " << p.width << "x" << p.height << " outside 64x64..800x600";
  else if (!in_range(p.fps, 25, 100)) why << "fps " << p.fps << " outside 25..100";
  else if (p.beats < 1 || p.beats > 20) why << "beats " << p.beats << " outside 1..20";
  else if (!(p.depth_mm == 0 || in_range(p.depth_mm, 80, 250))) why << "depth_mm " << p.depth_mm << " not 0 or 80..250";
  else if (!(p.sector_angle_deg == 0 || in_range(p.sector_angle_deg, 30, 100)))
    why << "sector_angle_deg " << p.sector_angle_deg << " not 0 or 30..100";
  else if (p.frame_count < 0 || p.frame_count > 2000) why << "frame_count " << p.frame_count << " outside 0..2000";
  else if (!in_range(p.shape_irregularity, 0, 2)) why << "shape_irregularity " << p.shape_irregularity << " outside 0..2";
  else if (p.threads < 0 || p.threads > 256) why << "threads " << p.threads << " outside 0..256";
  return why.str();
}

bool has(const std::vector<Artifact>& v, Artifact a) { return std::find(v.begin(), v.end(), a) != v.end(); }

Vec3 cross(Vec3 a, Vec3 b) { return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x}; }
Vec3 normalized(Vec3 a) { return (1.0 / std::sqrt(dot(a, a))) * a; }

// Where the heart sits under the probe for the whole loop (before respiration and probe motion).
struct ViewPlacement {
  Plane plane;
  double anchor_x = 0, anchor_y = 0;  // screen mm of plane point (0, 0)
  double tilt_rad = 0;                // screen angle of the plane's w axis from straight down
};

struct Motion {
  double dx = 0, dy = 0, rot = 0;
};

// Valve leaflets of one valve as capsules in screen millimetres.
void add_valve(const FrameState& f, const PlanePoint& left, const PlanePoint& right, double left_len_mm,
               double right_len_mm, double coapt_fraction, double opening, std::vector<Capsule>& out) {
  const PlanePoint c{left.u + coapt_fraction * (right.u - left.u), left.w + coapt_fraction * (right.w - left.w) + 3.0};
  for (int side = 0; side < 2; ++side) {
    const PlanePoint h = side == 0 ? left : right;
    const double inward = side == 0 ? 1.0 : -1.0;
    const double nominal = side == 0 ? left_len_mm : right_len_mm;
    double cu = c.u - h.u, cw = c.w - h.w;
    const double closed_len = std::hypot(cu, cw);
    cu /= closed_len;
    cw /= closed_len;
    double ou = 0.22 * inward, ow = -1.0;
    const double on = std::hypot(ou, ow);
    ou /= on;
    ow /= on;
    double du = cu + opening * (ou - cu), dw = cw + opening * (ow - cw);
    const double dn = std::hypot(du, dw);
    du /= dn;
    dw /= dn;
    const double len = closed_len + opening * (nominal - closed_len);
    const PlanePoint m{h.u + 0.55 * len * du, h.w + 0.55 * len * dw};
    double eu = du + inward * 0.3 * opening, ew = dw;
    const double en = std::hypot(eu, ew);
    eu /= en;
    ew /= en;
    const PlanePoint t{m.u + 0.45 * len * eu, m.w + 0.45 * len * ew};
    auto capsule = [&](PlanePoint a, PlanePoint b, double radius, double echo) {
      Capsule cap;
      f.to_screen(a.u, a.w, cap.ax, cap.ay);
      f.to_screen(b.u, b.w, cap.bx, cap.by);
      cap.radius_mm = radius;
      cap.echo = echo;
      out.push_back(cap);
    };
    capsule(h, m, 0.9, 1.9);
    capsule(m, t, 1.25, 1.9);
    capsule(PlanePoint{h.u, h.w - 1.0}, PlanePoint{h.u, h.w + 2.5}, 2.3, 2.4);  // fibrous annulus
  }
}

void place_valves(const Scene& scene, const Anatomy& a, FrameState& f, double mitral_open, double tricuspid_open) {
  f.valves.clear();
  f.mitral_open = mitral_open;
  f.tricuspid_open = tricuspid_open;
  const Vec3 base_centre{0, 0, f.length_mm};
  const Vec3 rel = base_centre - f.plane.origin;
  const PlanePoint near{dot(rel, f.plane.e_u), dot(rel, f.plane.e_w)};
  PlanePoint left, right;
  auto in_lv = [&](const Vec3& p) { return scene.in_lv_cavity(f, p); };
  if (extent_on_level_line(f, f.length_mm - 0.3, near, in_lv, left, right)) {
    // A4C: the septum is on the left, where the long anterior leaflet hinges.
    add_valve(f, left, right, a.mitral_anterior_mm, a.mitral_posterior_mm, 0.6, mitral_open, f.valves);
    f.mitral_u = 0.5 * (left.u + right.u);
    f.mitral_w = 0.5 * (left.w + right.w);
  }
  const Vec3 tv_centre{f.rv_center_x - 0.3 * f.rv_ax, 0, f.tricuspid_s};
  const Vec3 rel_tv = tv_centre - f.plane.origin;
  const PlanePoint near_tv{dot(rel_tv, f.plane.e_u), dot(rel_tv, f.plane.e_w)};
  auto in_rv = [&](const Vec3& p) { return scene.in_rv_cavity(f, p); };
  if (extent_on_level_line(f, f.tricuspid_s - 0.3, near_tv, in_rv, left, right) && right.u - left.u > 6.0) {
    add_valve(f, left, right, a.tricuspid_anterior_mm, a.tricuspid_septal_mm, 0.55, tricuspid_open, f.valves);
  }
  double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
  for (const Capsule& c : f.valves) {
    x0 = std::min({x0, c.ax - c.radius_mm, c.bx - c.radius_mm});
    y0 = std::min({y0, c.ay - c.radius_mm, c.by - c.radius_mm});
    x1 = std::max({x1, c.ax + c.radius_mm, c.bx + c.radius_mm});
    y1 = std::max({y1, c.ay + c.radius_mm, c.by + c.radius_mm});
  }
  f.valve_box[0] = x0;
  f.valve_box[1] = y0;
  f.valve_box[2] = x1;
  f.valve_box[3] = y1;
}

void set_transform(FrameState& f, const ViewPlacement& view, const Motion& motion) {
  // Rotation about the probe (screen origin), then the heart's own tilt.
  const double cr = std::cos(motion.rot), sr = std::sin(motion.rot);
  const double ax = view.anchor_x + motion.dx, ay = view.anchor_y + motion.dy;
  f.anchor_x = ax * cr + ay * sr;
  f.anchor_y = -ax * sr + ay * cr;
  const double tilt = view.tilt_rad + motion.rot;
  f.cos_t = std::cos(tilt);
  f.sin_t = std::sin(tilt);
  f.plane = view.plane;
  f.mx = f.cos_t * f.plane.e_u + f.sin_t * f.plane.e_w;
  f.my = (-f.sin_t) * f.plane.e_u + f.cos_t * f.plane.e_w;
  f.m0 = f.plane.origin - f.anchor_x * f.mx - f.anchor_y * f.my;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

}  // namespace

double discs_volume_ml(const SynthFrameTruth& frame, double mm_per_px) {
  const Point2 a = frame.annulus_left_px, b = frame.annulus_right_px;
  const Point2 mid{0.5 * (a.x + b.x), 0.5 * (a.y + b.y)};
  double length_px = 0;
  const std::vector<double> d = disc_diameters_px(frame.lv_contour, frame.apex_px, mid, 20, length_px);
  double sum = 0;
  for (double x : d) sum += x * x;
  const double mm3 = kPi / 4.0 * sum * length_px / 20.0 * mm_per_px * mm_per_px * mm_per_px;
  return mm3 / 1000.0;
}

double biplane_discs_volume_ml(const SynthFrameTruth& a4c, const SynthFrameTruth& a2c, double mm_per_px) {
  auto diameters = [](const SynthFrameTruth& f, double& length_px) {
    const Point2 a = f.annulus_left_px, b = f.annulus_right_px;
    const Point2 mid{0.5 * (a.x + b.x), 0.5 * (a.y + b.y)};
    return disc_diameters_px(f.lv_contour, f.apex_px, mid, 20, length_px);
  };
  double l4 = 0, l2 = 0;
  const std::vector<double> d4 = diameters(a4c, l4), d2 = diameters(a2c, l2);
  double sum = 0;
  for (int i = 0; i < 20; ++i) sum += d4[i] * d2[i];
  const double length = std::max(l4, l2);
  return kPi / 4.0 * sum * length / 20.0 * mm_per_px * mm_per_px * mm_per_px / 1000.0;
}

Expected<SynthCase> generate_phantom(const SynthParams& params_in) {
  const std::string problem = check_params(params_in);
  if (!problem.empty()) return make_error(ErrorCode::invalid_argument, "generate_phantom: " + problem);
  try {
    SynthParams params = params_in;
    std::vector<Artifact> artifacts;
    for (Artifact a : params.artifacts) {
      if (!has(artifacts, a)) artifacts.push_back(a);
    }
    std::sort(artifacts.begin(), artifacts.end());
    params.artifacts = artifacts;
    const std::uint64_t seed = params.seed;
    const bool is_a4c = params.view == SynthView::a4c;

    // Probe settings drawn from the seed (the same for both views of a heart).
    Rng probe_rng(seed, "probe");
    const double drawn_depth = probe_rng.uniform(150, 195);
    const double drawn_angle = probe_rng.uniform(72, 90);
    const double chest_wall_mm = probe_rng.uniform(11, 20);
    if (params.depth_mm == 0) params.depth_mm = std::round(drawn_depth);
    if (params.sector_angle_deg == 0) params.sector_angle_deg = std::round(drawn_angle);

    const Anatomy anatomy = draw_anatomy(seed, params.ef_percent, params.shape_irregularity);
    const LvShape shape(anatomy, params.ef_percent);
    const Scene scene(shape);

    CycleOptions cycle_options;
    cycle_options.heart_rate_bpm = params.heart_rate_bpm;
    cycle_options.ef_percent = params.ef_percent;
    cycle_options.fps = params.fps;
    cycle_options.beats = params.beats;
    cycle_options.frame_count = params.frame_count;
    cycle_options.partial = has(artifacts, Artifact::partial);
    cycle_options.irregular = params.irregular_rhythm;
    const CardiacCycle cycle(cycle_options, seed);
    const int n_frames = cycle.frame_count();

    // Image geometry: the fan fills the image, leaving room for text, depth scale and ECG.
    ImageGeometry geo;
    geo.width = params.width;
    geo.height = params.height;
    geo.depth_mm = params.depth_mm;
    geo.chest_wall_mm = chest_wall_mm;
    geo.half_angle_rad = params.sector_angle_deg / 2.0 * kPi / 180.0;
    geo.apex_y_px = std::round(params.height * 0.045);
    geo.apex_x_px = std::round(params.width / 2.0);
    const double bottom_margin = params.overlays ? params.height * 0.13 : params.height * 0.02;
    const double side_margin = params.overlays ? params.width * 0.075 : params.width * 0.01;
    const double by_height = params.height - geo.apex_y_px - bottom_margin;
    const double by_width = (params.width / 2.0 - side_margin) / std::sin(std::min(geo.half_angle_rad, kPi / 2 - 1e-3));
    geo.radius_px = std::floor(std::min(by_height, by_width));
    geo.mm_per_px = geo.depth_mm / geo.radius_px;
    geo.start_radius_px = 5.0 / geo.mm_per_px;

    // View placement.
    Rng view_rng(seed, is_a4c ? "view-a4c" : "view-a2c");
    ViewPlacement view;
    if (is_a4c) {
      view.plane.e_u = {1, 0, 0};  // lateral wall screen-right, septum and RV screen-left
    } else {
      view.plane.e_u = {0, 1, 0};  // the plane at 90 degrees about the long axis
    }
    view.plane.e_w = {0, 0, 1};
    view.tilt_rad = (is_a4c ? view_rng.uniform(7, 16) : view_rng.uniform(2, 10)) * kPi / 180.0;
    view.anchor_x = view_rng.uniform(-6, 3);
    view.anchor_y = chest_wall_mm + anatomy.pericardium_mm + anatomy.apex_wall_mm + view_rng.uniform(2, 6);
    Rng artifact_rng(seed, "artifacts");
    const double fore_beta = artifact_rng.uniform(22, 30) * kPi / 180.0;
    const double off_gamma = artifact_rng.uniform(24, 34) * kPi / 180.0 * (artifact_rng.uniform() < 0.5 ? -1 : 1);
    const double off_shift = artifact_rng.uniform(9, 13);
    const double outside_extra = artifact_rng.uniform(0.45, 0.75);
    const std::uint64_t motion_seed = artifact_rng.next();
    const double L0 = anatomy.lv_length_mm;
    if (has(artifacts, Artifact::offaxis)) {
      const double c = std::cos(off_gamma), s = std::sin(off_gamma);
      const Vec3 e_u = view.plane.e_u;
      view.plane.e_u = {c * e_u.x - s * e_u.y, s * e_u.x + c * e_u.y, 0};
      const Vec3 n = normalized(cross(view.plane.e_u, view.plane.e_w));
      view.plane.origin = off_shift * n;
    }
    if (has(artifacts, Artifact::foreshortened)) {
      // Tilt the plane about the lateral line through the base centre: it misses the true apex.
      const Vec3 n = normalized(cross(view.plane.e_u, view.plane.e_w));
      const Vec3 e_w = normalized(std::cos(fore_beta) * view.plane.e_w + std::sin(fore_beta) * n);
      const Vec3 base{view.plane.origin.x, view.plane.origin.y, L0};
      view.plane.e_w = e_w;
      view.plane.origin = base - L0 * e_w;
      view.anchor_x -= 0.3 * L0 * std::sin(view.tilt_rad);
      view.anchor_y -= 0.3 * L0 * std::cos(view.tilt_rad);
    }
    if (has(artifacts, Artifact::outside)) {
      // Move the heart sideways until a good part of the LV's lateral wall leaves the fan.
      const double r = anatomy.lv_radius_mm;
      const double x_lat = view.anchor_x + 0.5 * L0 * std::sin(view.tilt_rad) + r * std::cos(view.tilt_rad);
      const double y_lat = view.anchor_y + 0.5 * L0 * std::cos(view.tilt_rad) - r * std::sin(view.tilt_rad);
      const double x_edge = y_lat * std::tan(geo.half_angle_rad);
      view.anchor_x += std::max(0.0, x_edge - x_lat + outside_extra * 2 * r);
    }

    // Respiration and probe motion, per frame.
    Rng resp_rng(seed, "respiration");
    const double resp_period = resp_rng.uniform(3500, 5000), resp_phase = resp_rng.uniform(0, 2 * kPi);
    const double resp_x = resp_rng.uniform(0.5, 2.0), resp_y = resp_rng.uniform(2.0, 4.5);
    const double resp_rot = resp_rng.uniform(0.4, 1.4) * kPi / 180.0;
    std::vector<Motion> motion(n_frames);
    Rng motion_rng(motion_seed);
    Motion drift;
    for (int i = 0; i < n_frames; ++i) {
      const double t = cycle.frame_time_ms(i);
      Motion m;
      if (params.respiration) {
        const double s = std::sin(2 * kPi * t / resp_period + resp_phase);
        m.dx = resp_x * s;
        m.dy = resp_y * s;
        m.rot = resp_rot * s;
      }
      if (has(artifacts, Artifact::motion)) {
        drift.dx = 0.85 * drift.dx + 2.2 * motion_rng.normal();
        drift.dy = 0.85 * drift.dy + 2.2 * motion_rng.normal();
        drift.rot = 0.85 * drift.rot + 2.0 * kPi / 180.0 * motion_rng.normal();
        m.dx += drift.dx + 2.5 * motion_rng.normal();
        m.dy += drift.dy + 2.0 * motion_rng.normal();
        m.rot += drift.rot + 2.5 * kPi / 180.0 * motion_rng.normal();
      }
      motion[i] = m;
    }

    std::vector<FrameState> states(n_frames);
    std::vector<double> volumes(n_frames);
    for (int i = 0; i < n_frames; ++i) {
      FrameState& f = states[i];
      f.t_ms = cycle.frame_time_ms(i);
      f.c = shape.state_for_relative_volume(cycle.relative_volume(f.t_ms));
      f.kc = shape.gain() * f.c;
      f.length_mm = shape.length_mm(f.c);
      f.stretch = L0 / f.length_mm;
      f.thickening_c = f.c;
      f.inflow_rate = cycle.filling_rate(f.t_ms);
      f.ejection_rate = cycle.ejection_rate(f.t_ms);
      set_transform(f, view, motion[i]);
      scene.place_chambers(f);
      place_valves(scene, anatomy, f, cycle.mitral_opening(f.t_ms), cycle.tricuspid_opening(f.t_ms));
      volumes[i] = shape.volume_ml(f.c);
    }

    // Display and defects.
    DisplaySettings display;
    Rng display_rng(seed, "display");
    display.gain_db = display_rng.uniform(-2.5, 2.5);
    display.dynamic_range_db = display_rng.uniform(48, 56);
    if (has(artifacts, Artifact::blur)) {
      display.psf_lateral_scale = 3.0;
      display.psf_axial_scale = 5.0;
      display.post_blur_px = std::max(1.5, params.width / 260.0);
    }
    if (has(artifacts, Artifact::overgain)) {
      display.gain_db += 24;  // tissue saturates, blood pools fill with grey noise
      display.gamma = 1.2;
    }
    if (has(artifacts, Artifact::undergain)) display.gain_db -= 21;
    if (has(artifacts, Artifact::lowcontrast)) {
      display.gray_offset = 70;
      display.gray_scale = 0.32;
      display.dynamic_range_db = 70;
      display.clutter = 2.5;
    }
    DopplerBox doppler;
    if (has(artifacts, Artifact::doppler)) {
      // Box around the mitral valve: the LV base above it and the LA roof below.
      const FrameState& f0 = states[0];
      double mx, my;
      f0.to_screen(f0.mitral_u, f0.mitral_w, mx, my);
      const double angle = std::atan2(mx, my), depth = std::hypot(mx, my);
      const double half_width = std::min(geo.half_angle_rad * 0.8, std::atan2(anatomy.lv_radius_mm * 1.1, depth));
      doppler.enabled = true;
      doppler.angle0_rad = std::max(-geo.half_angle_rad, angle - half_width);
      doppler.angle1_rad = std::min(geo.half_angle_rad, angle + half_width);
      doppler.depth0_mm = std::max(geo.chest_wall_mm, depth - 0.6 * L0);
      doppler.depth1_mm = std::min(geo.depth_mm, depth + 28.0);
    }
    OverlaySettings overlays;
    overlays.enabled = params.overlays;
    overlays.view_name = is_a4c ? "A4C" : "A2C";
    overlays.heart_rate_bpm = params.heart_rate_bpm;
    overlays.fps = params.fps;
    overlays.irregular = params.irregular_rhythm;
    overlays.loop_ms = cycle.loop_end_ms() + 1000.0 / params.fps;
    for (const Beat& b : cycle.beats()) overlays.r_waves_ms.push_back(b.r_ms);

    const bool color = params.overlays || doppler.enabled;
    const Renderer renderer(geo, display, doppler, overlays, scene, stream_seed(seed, is_a4c ? "speckle-a4c" : "speckle-a2c"),
                            color);

    SynthCase out;
    Cine& cine = out.cine;
    cine.rows = geo.height;
    cine.cols = geo.width;
    const std::size_t frame_px = static_cast<std::size_t>(geo.width) * geo.height;
    cine.gray.assign(frame_px * n_frames, 0);
    if (color) {
      cine.color.resize(n_frames);
      for (int i = 0; i < n_frames; ++i) {
        cine.color[i].frame_index = i;
        cine.color[i].rgb.width = geo.width;
        cine.color[i].rgb.height = geo.height;
        cine.color[i].rgb.pixels.assign(frame_px * 3, 0);
      }
    }
    SynthTruth& truth = out.truth;
    truth.frames.resize(n_frames);

    // Frames are independent: render them in parallel (the result does not depend on the thread count).
    int n_threads = params.threads > 0 ? params.threads : static_cast<int>(std::thread::hardware_concurrency());
    n_threads = std::clamp(n_threads, 1, std::max(1, n_frames));
    std::atomic<int> next{0};
    std::atomic<bool> failed{false};
    auto worker = [&]() {
      try {
        RenderWorkspace ws;
        for (int i = next++; i < n_frames; i = next++) {
          renderer.render(states[i], i, ws, cine.frame(i), color ? cine.color[i].rgb.pixels.data() : nullptr);
          frame_truth(scene, states[i], geo, volumes[i], params.chamber_labels, truth.frames[i]);
        }
      } catch (...) {
        failed = true;
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < n_threads; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool) t.join();
    if (failed) return make_error(ErrorCode::internal, "generate_phantom: rendering failed");

    // Per-beat truth: ED = the first frame of the isovolumic-contraction plateau (largest volume of the
    // beat), ES = the first frame of the isovolumic-relaxation plateau (smallest).
    const std::vector<Beat>& beats = cycle.beats();
    std::vector<double> efs, rrs;
    for (int bi : cycle.complete_beats()) {
      const Beat& b = beats[bi];
      SynthBeatTruth bt;
      bt.r_wave_time_ms = b.r_ms;
      int ed = -1, es = -1;
      for (int i = 0; i < n_frames; ++i) {
        const double t = cycle.frame_time_ms(i);
        if (t < b.r_ms || t >= b.r_ms + b.rr_ms) continue;
        if (ed < 0 || volumes[i] > volumes[ed]) ed = i;
        if (es < 0 || volumes[i] < volumes[es]) es = i;
      }
      if (ed < 0 || es < 0) continue;
      bt.ed_frame = ed;
      bt.es_frame = es;
      bt.edv_ml = volumes[ed];
      bt.esv_ml = volumes[es];
      bt.ef_percent = 100.0 * (bt.edv_ml - bt.esv_ml) / bt.edv_ml;
      truth.beats.push_back(bt);
      efs.push_back(bt.ef_percent);
      rrs.push_back(b.rr_ms);
    }
    truth.params = params;
    truth.mm_per_px = geo.mm_per_px;
    truth.sector = SectorTruth{Point2{geo.apex_x_px, geo.apex_y_px}, geo.radius_px, geo.half_angle_rad, geo.start_radius_px};
    truth.ef_percent = efs.empty() ? std::numeric_limits<double>::quiet_NaN() : mean_of(efs);
    truth.heart_rate_bpm = rrs.empty() ? params.heart_rate_bpm : 60000.0 / mean_of(rrs);
    truth.artifacts = artifacts;
    truth.view_is_apical = true;
    for (const Beat& b : beats) {
      if (b.r_ms >= 0 && b.r_ms <= cycle.loop_end_ms()) truth.r_wave_times_ms.push_back(b.r_ms);
    }

    for (int i = 0; i < n_frames; ++i) cine.frame_times_ms.push_back(cycle.frame_time_ms(i));
    cine.calibration.mm_per_px_x = geo.mm_per_px;
    cine.calibration.mm_per_px_y = geo.mm_per_px;
    cine.calibration.source = CalibrationSource::synthetic;
    cine.calibration.trusted = true;
    cine.calibration.note = "phantom: exact by construction";
    CineMetadata& md = cine.metadata;
    md.source_kind = "synthetic";
    md.manufacturer = "EchoAnalyzer phantom";
    md.model_name = "echo phantom 1";
    md.sop_class_uid = "1.2.840.10008.5.1.4.1.1.3.1";
    md.photometric = color ? "RGB" : "MONOCHROME2";
    md.bits_stored = 8;
    md.heart_rate_bpm = truth.heart_rate_bpm;
    md.r_wave_times_ms = truth.r_wave_times_ms;
    md.timing_source = "synthetic";
    md.view_hint = synth_view_name(params.view);
    UltrasoundRegion region;
    const double half_width_px = geo.radius_px * std::sin(std::min(geo.half_angle_rad, kPi / 2));
    region.x0 = std::max(0, static_cast<int>(std::floor(geo.apex_x_px - half_width_px)));
    region.x1 = std::min(geo.width - 1, static_cast<int>(std::ceil(geo.apex_x_px + half_width_px)));
    region.y0 = std::max(0, static_cast<int>(std::floor(geo.apex_y_px)));
    region.y1 = std::min(geo.height - 1, static_cast<int>(std::ceil(geo.apex_y_px + geo.radius_px)));
    region.spatial_format = 1;
    region.data_type = 1;
    region.units_x = 3;
    region.units_y = 3;
    region.physical_delta_x = geo.mm_per_px / 10.0;
    region.physical_delta_y = geo.mm_per_px / 10.0;
    md.regions.push_back(region);
    return out;
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::out_of_memory, "generate_phantom: out of memory");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal, std::string("generate_phantom: ") + e.what());
  }
}

}  // namespace echo
