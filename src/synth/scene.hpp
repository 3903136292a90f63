// The phantom's scene: where the imaging plane cuts the 3D heart on each frame, and what tissue lies at
// a point of the image (label, echogenicity, and the material coordinates its speckle is attached to).
// Private to src/synth.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "synth/heart.hpp"

namespace echo::synth {

struct Vec3 {
  double x = 0, y = 0, z = 0;  // LV-local: z is s, the long axis from the apex (0) toward the base
};
inline Vec3 operator+(Vec3 a, Vec3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec3 operator-(Vec3 a, Vec3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec3 operator*(double k, Vec3 a) { return {k * a.x, k * a.y, k * a.z}; }
inline double dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }

// The imaging plane in LV-local coordinates: p = origin + u * e_u + w * e_w (u screen-right, w down the
// screen along the plane's long axis).
struct Plane {
  Vec3 origin, e_u{1, 0, 0}, e_w{0, 0, 1};
};

enum class Label : std::uint8_t {
  background = 0, lv_cavity = 1, lv_myocardium = 2, la = 3, rv = 4, ra = 5, other_wall = 6, pericardium = 7,
  valve = 8, chest_wall = 9,
};

// A capsule (thick segment) in screen millimetres: a valve leaflet or the annulus.
struct Capsule {
  double ax, ay, bx, by, radius_mm, echo;
};

// Everything the tissue evaluation needs for one frame.
struct FrameState {
  double t_ms = 0;
  double c = 0;          // LV contraction state
  double kc = 0;         // gain * c
  double length_mm = 0;  // LV cavity length at this state
  double stretch = 1;    // L0 / L
  double thickening_c = 0;
  double apex_wall_mm = 7;  // apical wall thickness at this state
  float thickening_table[65];  // wall thickening factor for motion weights 0.6 .. 1.4
  double thickening(double weight) const {
    const double x = std::clamp((weight - 0.6) * 80.0, 0.0, 63.999);
    const int i = static_cast<int>(x);
    return thickening_table[i] + (x - i) * (thickening_table[i + 1] - thickening_table[i]);
  }
  // screen (X, Y) mm from the sector apex -> LV-local: p = m0 + X * mx + Y * my
  Vec3 m0, mx, my;
  // screen <-> plane: u = (X - ax) cos_t - (Y - ay) sin_t, w = (X - ax) sin_t + (Y - ay) cos_t
  double anchor_x = 0, anchor_y = 0, cos_t = 1, sin_t = 0;
  Plane plane;
  // Atria and RV at this state.
  double la_center_s = 0, la_axis_s = 1, la_r = 20;
  double ra_center_x = 0, ra_center_s = 0, ra_axis_s = 1, ra_r = 18, tricuspid_s = 0;
  double rv_center_x = 0, rv_center_s = 0, rv_ax = 20, rv_ay = 30, rv_as = 30, rv_apex_s = 0;
  double atria_bottom_s = 0;
  // Papillary muscles (LV-local centre and the radial / tangential unit vectors of their position).
  struct Papillary {
    Vec3 centre, radial, tangential;
  } papillary[2];
  std::vector<Capsule> valves;
  double valve_box[4] = {0, 0, 0, 0};  // x0, y0, x1, y1 screen mm bounding box of the capsules
  // Mitral orifice (plane coordinates) and flow, for colour Doppler.
  double mitral_u = 0, mitral_w = 0, mitral_open = 0, tricuspid_open = 0;
  double inflow_rate = 0, ejection_rate = 0;

  Vec3 to_heart(double X, double Y) const { return m0 + X * mx + Y * my; }
  void to_plane(double X, double Y, double& u, double& w) const {
    const double dx = X - anchor_x, dy = Y - anchor_y;
    u = dx * cos_t - dy * sin_t;
    w = dx * sin_t + dy * cos_t;
  }
  void to_screen(double u, double w, double& X, double& Y) const {
    X = anchor_x + u * cos_t + w * sin_t;
    Y = anchor_y - u * sin_t + w * cos_t;
  }
};

struct TissueSample {
  float echo = 0;   // linear amplitude, myocardium about 1
  float mat_u = 0, mat_w = 0;  // material coordinates (mm) in the reference plane: the speckle moves with them
  Label label = Label::background;
  float wall_cos = 1;  // |cos| of the angle between the beam and the wall normal (1 when not a wall)
};

// Geometry queries on the LV shape at a state.
struct LvAtPoint {
  double rho, cos_phi, sin_phi, sp, r, h, r_ref, h_ref;
};

class Scene {
 public:
  Scene(const LvShape& shape) : shape_(shape), a_(shape.anatomy()) {}

  // State-dependent chamber placement (atria follow the base, the RV shrinks a little).
  void place_chambers(FrameState& f) const;

  // Is p (LV-local) inside the LV cavity? (exact ground truth: s in [0, L], rho < r(s, phi))
  bool in_lv_cavity(const FrameState& f, const Vec3& p) const {
    if (p.z < 0 || p.z > f.length_mm) return false;
    const double rho2 = p.x * p.x + p.y * p.y;
    const double rho = std::sqrt(rho2);
    const double cp = rho > 1e-9 ? p.x / rho : 1.0, sp_ = rho > 1e-9 ? p.y / rho : 0.0;
    const double sp = p.z * f.stretch;
    const double r = shape_.base_radius(sp) * shape_.harmonic(cp, sp_, sp) *
                     (1.0 - f.kc * shape_.motion_weight(cp, sp_, sp));
    return rho < r;
  }
  // Is p inside the RV cavity? (used to find the tricuspid annulus)
  bool in_rv_cavity(const FrameState& f, const Vec3& p) const;
  // Signed cavity function: negative inside (used for bisection of the contour).
  double lv_cavity_level(const FrameState& f, const Vec3& p) const;

  // Full tissue evaluation at screen point (X, Y) with beam direction (dX, dY) (unit, pointing away from
  // the probe).
  TissueSample evaluate(const FrameState& f, double X, double Y, double dX, double dY) const;

  // Chamber label only (for label maps).
  Label label_at(const FrameState& f, double X, double Y) const {
    return evaluate(f, X, Y, 0.0, 1.0).label;
  }

  const LvShape& shape() const { return shape_; }
  const Anatomy& anatomy() const { return a_; }

 private:
  LvAtPoint lv_at(const FrameState& f, const Vec3& p, bool with_wall = true) const;
  const LvShape& shape_;
  const Anatomy& a_;
};

}  // namespace echo::synth
