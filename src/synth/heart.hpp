// The phantom's heart: anatomy drawn from the seed, the LV shape family with its exact volume, and the
// cardiac cycle (R waves, volume curve, valve opening). Private to src/synth.
#pragma once
#include <cstdint>
#include <vector>

namespace echo::synth {

constexpr double kPi = 3.14159265358979323846;

// Everything about the heart that comes from the seed alone (and the EF, which sizes a failing LV):
// the same seed in the other view gives the same heart.
struct Anatomy {
  // LV cavity at end-diastole, in LV-local coordinates: s along the long axis from the endocardial apex
  // (s = 0) to the mitral annulus plane (s = L0), phi around it (phi = 0: lateral wall, the A4C plane's
  // screen-right side; phi = pi: septum; phi = pi/2: the A2C plane).
  double lv_length_mm = 85;       // L0
  double lv_radius_mm = 24;       // largest cavity radius
  double equator_fraction = 0.6;  // where the radius is largest, fraction of L0 from the apex
  double apex_exponent = 2.3;     // 2 = ellipsoidal apex, larger = blunter (bullet)
  double base_fraction = 0.72;    // annulus radius / largest radius
  double wall_mm = 10;            // myocardium at end-diastole
  double apex_wall_mm = 7;
  double eps2 = 0, theta2 = 0, eps3 = 0, theta3 = 0;     // cross-section harmonics (non-circular)
  double bump = 0, bump_phase = 0, bump_theta = 0;       // slow irregularity along the axis
  double motion_a1 = 0, motion_psi1 = 0, motion_slope = 0;  // regional wall-motion weights
  double long_shortening = 0.42;  // long-axis shortening per unit radial contraction gain
  // Other chambers (mm).
  double rv_width_mm = 24, rv_depth_mm = 36, rv_apex_fraction = 0.3, rv_wall_mm = 4;
  double tricuspid_offset_mm = 7;  // tricuspid annulus closer to the apex than the mitral annulus
  double la_radius_mm = 20, la_length_mm = 48, ra_radius_mm = 18, ra_length_mm = 44, atrial_wall_mm = 2.5;
  double interatrial_gap_mm = 4;
  double pericardium_mm = 2.5;
  double mitral_anterior_mm = 21, mitral_posterior_mm = 14, tricuspid_septal_mm = 15, tricuspid_anterior_mm = 19;
  double papillary_offset = 0;     // position of the papillary muscle along the wall, 0..1
  // Echogenicity (linear amplitude, myocardium = 1).
  double myocardium_echo = 1.0, pericardium_echo = 3.2, blood_echo = 0.035, background_echo = 0.3;
};

Anatomy draw_anatomy(std::uint64_t seed, double ef_percent, double shape_irregularity);

// The LV shape family. At contraction state c (0 = end-diastole, 1 = nominal end-systole) the cavity is
//   r(s, phi) = R0(s * L0 / L(c), phi) * (1 - k c w(phi, s')),   L(c) = L0 (1 - alpha k c)
// so its volume is (1 - alpha k c) (A0 - 2 k c A1 + k^2 c^2 A2): a cubic in c, exact, and k is solved
// so that V(1) / V(0) = 1 - EF exactly.
class LvShape {
 public:
  LvShape(const Anatomy& anatomy, double ef_percent);

  double length_mm(double c) const { return length0_ * (1.0 - alpha_ * k_ * c); }
  double volume_ml(double c) const;
  // Contraction state whose volume is relative_volume * V(0) (bisection on the cubic).
  double state_for_relative_volume(double relative_volume) const;
  double gain() const { return k_; }

  // ED radius profile at material height sp in [0, L0] (0 outside), its derivative, and the wall.
  double base_radius(double sp) const;
  double base_radius_slope(double sp) const;
  double wall_mm(double sp) const;
  double harmonic(double cos_phi, double sin_phi, double sp) const;   // H(phi, s'), about 1
  double motion_weight(double cos_phi, double sin_phi, double sp) const;  // w(phi, s'), about 1
  double thickening(double c, double weight) const;  // wall thickness factor at state c

  const Anatomy& anatomy() const { return anatomy_; }
  double max_state() const { return max_state_; }

 private:
  double table_lookup(const std::vector<double>& table, double sp) const;
  Anatomy anatomy_;
  double length0_;
  double alpha_;
  double k_ = 0;
  double a0_ = 0, a1_ = 0, a2_ = 0;  // mm^3
  double max_state_ = 1.5;
  std::vector<double> radius_table_, slope_table_, bump_table_, wall_table_;
  // cos / sin of the anatomy's phases, so that no trigonometry runs per sample.
  double c2_, s2_, c3_, s3_, cb_, sb_, cm_, sm_;
  double table_step_;
};

// One heartbeat, from its R wave to the next.
struct Beat {
  double r_ms = 0, rr_ms = 0;
  double ef_percent = 0;           // this beat's EF (3D volumes)
  double ivc_ms = 50, lvet_ms = 300, ivr_ms = 75;
  double rapid_ms = 150, diastasis_ms = 200, atrial_ms = 100;
  bool atrial_kick = true;
  double end_systolic_relative() const { return 1.0 - ef_percent / 100.0; }
};

struct CycleOptions {
  double heart_rate_bpm = 70;
  double ef_percent = 55;
  double fps = 50;
  int beats = 3;
  int frame_count = 0;   // > 0 overrides beats
  bool partial = false;  // fewer frames than one beat
  bool irregular = false;
};

class CardiacCycle {
 public:
  CardiacCycle(const CycleOptions& options, std::uint64_t seed);
  int frame_count() const { return frame_count_; }
  double frame_time_ms(int i) const { return 1000.0 * i / fps_; }
  double relative_volume(double t_ms) const;   // V / EDV, EDV = 1
  double mitral_opening(double t_ms) const;    // 0 closed .. 1 wide open
  double tricuspid_opening(double t_ms) const;
  double ejection_rate(double t_ms) const;     // -dV/dt / (EDV - ESV) per ms, > 0 during ejection
  double filling_rate(double t_ms) const;      // dV/dt / (EDV - ESV) per ms during filling
  const std::vector<Beat>& beats() const { return beats_; }  // beats_[0] starts before the loop
  // Indices into beats() of the beats that lie entirely inside the loop.
  std::vector<int> complete_beats() const;
  double loop_end_ms() const { return frame_time_ms(frame_count_ - 1); }

 private:
  const Beat& beat_at(double t_ms, double& tau_ms) const;
  double fps_;
  int frame_count_ = 0;
  std::vector<Beat> beats_;
};

}  // namespace echo::synth
