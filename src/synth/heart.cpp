#include "synth/heart.hpp"

#include <algorithm>
#include <cmath>

#include "synth/rng.hpp"

namespace echo::synth {
namespace {

double smoothstep(double edge0, double edge1, double x) {
  if (edge1 <= edge0) return x >= edge1 ? 1.0 : 0.0;
  const double t = std::clamp((x - edge0) / (edge1 - edge0), 0.0, 1.0);
  return t * t * (3.0 - 2.0 * t);
}

// Monotone ease from 0 to 1 over x in [0,1]; power < 1 front-loads the change.
double ease(double x, double power) {
  x = std::clamp(x, 0.0, 1.0);
  return 0.5 - 0.5 * std::cos(kPi * std::pow(x, power));
}

double ease_slope(double x, double power) {  // d ease / dx
  x = std::clamp(x, 1e-6, 1.0);
  return 0.5 * kPi * std::sin(kPi * std::pow(x, power)) * power * std::pow(x, power - 1.0);
}

}  // namespace

Anatomy draw_anatomy(std::uint64_t seed, double ef_percent, double shape_irregularity) {
  Rng rng(seed, "anatomy");
  Anatomy a;
  const double irr = std::clamp(shape_irregularity, 0.0, 2.0);
  a.lv_length_mm = rng.uniform(74, 96);
  // A failing ventricle dilates: the diameter grows as the EF falls.
  const double diameter = std::clamp(rng.uniform(40, 50) + std::max(0.0, 52.0 - ef_percent) * 0.28, 36.0, 60.0);
  a.lv_radius_mm = diameter / 2;
  a.equator_fraction = rng.uniform(0.55, 0.68);
  a.apex_exponent = rng.uniform(2.0, 2.8);
  a.base_fraction = rng.uniform(0.66, 0.76);
  a.wall_mm = rng.uniform(8.5, 13.0);
  a.apex_wall_mm = a.wall_mm * rng.uniform(0.6, 0.75);
  // Cross-sections: smooth shapes keep an ellipse aligned with the A4C/A2C planes.
  const double eps2 = rng.uniform(-0.07, 0.07);
  const double theta2 = rng.uniform(0, 2 * kPi);
  const double eps3 = rng.uniform(-0.04, 0.04);
  const double theta3 = rng.uniform(0, 2 * kPi);
  const double bump = rng.uniform(0.01, 0.03);
  const double bump_phase = rng.uniform(0, 2 * kPi);
  const double bump_theta = rng.uniform(0, 2 * kPi);
  const double motion_a1 = rng.uniform(0.0, 0.15);
  const double motion_psi1 = rng.uniform(0, 2 * kPi);
  const double motion_slope = rng.uniform(0.1, 0.35);
  a.eps2 = eps2;
  a.theta2 = irr > 0 ? theta2 : 0.0;  // smooth: the ellipse's axes lie in the A4C and A2C planes
  a.eps3 = eps3 * irr;
  a.theta3 = theta3;
  a.bump = bump * irr;
  a.bump_phase = bump_phase;
  a.bump_theta = bump_theta;
  a.motion_a1 = motion_a1 * irr;
  a.motion_psi1 = motion_psi1;
  a.motion_slope = motion_slope * irr;
  a.long_shortening = rng.uniform(0.35, 0.48);
  a.rv_width_mm = rng.uniform(20, 28);
  a.rv_depth_mm = rng.uniform(32, 40);
  a.rv_apex_fraction = rng.uniform(0.22, 0.35);
  a.rv_wall_mm = rng.uniform(3.5, 5.0);
  a.tricuspid_offset_mm = rng.uniform(5, 10);
  a.la_radius_mm = rng.uniform(15.5, 20);
  a.la_length_mm = rng.uniform(38, 50);
  a.ra_radius_mm = rng.uniform(14, 18);
  a.ra_length_mm = rng.uniform(34, 46);
  a.atrial_wall_mm = rng.uniform(2.2, 3.2);
  a.interatrial_gap_mm = rng.uniform(3, 5);
  a.pericardium_mm = rng.uniform(2.0, 3.5);
  a.mitral_anterior_mm = rng.uniform(19, 25);
  a.mitral_posterior_mm = rng.uniform(12, 16);
  a.tricuspid_septal_mm = rng.uniform(13, 17);
  a.tricuspid_anterior_mm = rng.uniform(17, 22);
  a.papillary_offset = rng.uniform(0, 1);
  a.myocardium_echo = rng.uniform(0.85, 1.15);
  a.pericardium_echo = rng.uniform(3.0, 4.5);
  a.blood_echo = rng.uniform(0.014, 0.024);
  a.background_echo = rng.uniform(0.1, 0.17);
  return a;
}

// ---------------------------------------------------------------------------------------------- LvShape

LvShape::LvShape(const Anatomy& anatomy, double ef_percent)
    : anatomy_(anatomy), length0_(anatomy.lv_length_mm), alpha_(anatomy.long_shortening) {
  c2_ = std::cos(anatomy.theta2);
  s2_ = std::sin(anatomy.theta2);
  c3_ = std::cos(anatomy.theta3);
  s3_ = std::sin(anatomy.theta3);
  cb_ = std::cos(anatomy.bump_theta);
  sb_ = std::sin(anatomy.bump_theta);
  cm_ = std::cos(anatomy.motion_psi1);
  sm_ = std::sin(anatomy.motion_psi1);
  const int n = 2048;
  table_step_ = length0_ / (n - 1);
  radius_table_.resize(n);
  slope_table_.resize(n);
  bump_table_.resize(n);
  wall_table_.resize(n);
  const double s_eq = anatomy.equator_fraction * length0_;
  const double rmax = anatomy.lv_radius_mm;
  const double q = anatomy.apex_exponent;
  const double f = anatomy.base_fraction;
  const double b_len = (length0_ - s_eq) / std::sqrt(1.0 - f * f);
  for (int i = 0; i < n; ++i) {
    const double s = i * table_step_;
    double r;
    if (s <= s_eq) {
      const double t = 1.0 - s / s_eq;  // 1 at the apex, 0 at the equator
      r = rmax * std::pow(std::max(0.0, 1.0 - std::pow(t, q)), 1.0 / q);
    } else {
      const double t = (s - s_eq) / b_len;
      r = rmax * std::sqrt(std::max(0.0, 1.0 - t * t));
    }
    radius_table_[i] = r;
    bump_table_[i] = anatomy.bump * std::sin(2 * kPi * 1.3 * s / length0_ + anatomy.bump_phase);
    wall_table_[i] = anatomy.apex_wall_mm + (anatomy.wall_mm - anatomy.apex_wall_mm) * smoothstep(0, 0.35 * length0_, s);
  }
  for (int i = 0; i < n; ++i) {
    const int i0 = std::max(0, i - 1), i1 = std::min(n - 1, i + 1);
    slope_table_[i] = (radius_table_[i1] - radius_table_[i0]) / ((i1 - i0) * table_step_);
  }

  // A0, A1, A2 = integrals of r0^2/2 * w^m over phi and s' (midpoint rule; r0^2 is smooth in s').
  const int ns = 1024, nphi = 128;
  const double ds = length0_ / ns, dphi = 2 * kPi / nphi;
  double max_w = 0;
  for (int i = 0; i < ns; ++i) {
    const double sp = (i + 0.5) * ds;
    const double r0 = base_radius(sp);
    for (int j = 0; j < nphi; ++j) {
      const double phi = (j + 0.5) * dphi;
      const double c = std::cos(phi), s = std::sin(phi);
      const double r = r0 * harmonic(c, s, sp);
      const double w = motion_weight(c, s, sp);
      max_w = std::max(max_w, w);
      const double e = 0.5 * r * r * dphi * ds;
      a0_ += e;
      a1_ += e * w;
      a2_ += e * w * w;
    }
  }
  // Solve k: (1 - alpha k)(A0 - 2k A1 + k^2 A2) / A0 = 1 - EF.
  const double target = 1.0 - ef_percent / 100.0;
  const double k_hi_limit = 0.9 / max_w;
  auto ratio = [&](double k) { return (1.0 - alpha_ * k) * (a0_ - 2 * k * a1_ + k * k * a2_) / a0_; };
  double lo = 0, hi = k_hi_limit;
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (ratio(mid) > target ? lo : hi) = mid;
  }
  k_ = 0.5 * (lo + hi);
  max_state_ = 0.93 / (k_ * max_w);
}

double LvShape::table_lookup(const std::vector<double>& table, double sp) const {
  const double x = sp / table_step_;
  if (x <= 0) return table.front();
  const int n = static_cast<int>(table.size());
  if (x >= n - 1) return table.back();
  const int i = static_cast<int>(x);
  const double f = x - i;
  return table[i] + f * (table[i + 1] - table[i]);
}

double LvShape::base_radius(double sp) const {
  if (sp < 0 || sp > length0_) return 0.0;
  return table_lookup(radius_table_, sp);
}
double LvShape::base_radius_slope(double sp) const { return table_lookup(slope_table_, sp); }
double LvShape::wall_mm(double sp) const { return table_lookup(wall_table_, sp); }

double LvShape::harmonic(double c, double s, double sp) const {
  const Anatomy& a = anatomy_;
  const double c2 = c * c - s * s, s2 = 2 * c * s;
  const double c3 = c * (4 * c * c - 3), s3 = s * (3 - 4 * s * s);
  return 1.0 + a.eps2 * (c2 * c2_ + s2 * s2_) + a.eps3 * (c3 * c3_ + s3 * s3_) +
         table_lookup(bump_table_, sp) * (c * cb_ + s * sb_);
}

double LvShape::motion_weight(double c, double s, double sp) const {
  const Anatomy& a = anatomy_;
  const double w = 1.0 + a.motion_a1 * (c * cm_ + s * sm_) +
                   a.motion_slope * (sp / length0_ - 0.5);
  return std::clamp(w, 0.6, 1.4);
}

double LvShape::thickening(double c, double weight) const {
  const double radial = std::max(0.05, 1.0 - k_ * c * weight);
  const double axial = std::max(0.05, 1.0 - alpha_ * k_ * c);
  const double x = radial * axial;
  return std::clamp(1.0 / (std::sqrt(x) * std::sqrt(std::sqrt(x))), 0.7, 2.4);  // x^-0.75: the wall keeps its volume
}

double LvShape::volume_ml(double c) const {
  const double k = k_ * c;
  return (1.0 - alpha_ * k) * (a0_ - 2 * k * a1_ + k * k * a2_) / 1000.0;
}

double LvShape::state_for_relative_volume(double relative_volume) const {
  const double v0 = volume_ml(0);
  double lo = -0.6, hi = max_state_;
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (volume_ml(mid) / v0 > relative_volume ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// ----------------------------------------------------------------------------------------- CardiacCycle

CardiacCycle::CardiacCycle(const CycleOptions& o, std::uint64_t seed) : fps_(o.fps) {
  Rng rng(seed, "rhythm");
  const double rr_mean = 60000.0 / o.heart_rate_bpm;
  const double frame_ms = 1000.0 / o.fps;
  const double resp_period_ms = rng.uniform(3500, 5000), resp_phase = rng.uniform(0, 2 * kPi);

  // R-R intervals: beat 0 ends at the first R wave inside the loop.
  const int wanted_beats = o.partial ? 0 : (o.frame_count > 0 ? 1 + static_cast<int>(o.frame_count * frame_ms / rr_mean / 0.7) : o.beats);
  const int n_intervals = wanted_beats + 3;
  std::vector<double> rr(n_intervals);
  for (int i = 0; i < n_intervals; ++i) {
    double f;
    if (o.irregular) {
      f = std::clamp(1.0 + 0.17 * rng.normal(), 0.72, 1.35);
    } else {  // sinus arrhythmia: a little respiratory variation plus noise
      f = 1.0 + 0.025 * std::sin(2 * kPi * i * rr_mean / resp_period_ms + resp_phase) + 0.012 * rng.normal();
    }
    rr[i] = rr_mean * f;
  }
  // The beats fully inside the loop (1 .. wanted) have exactly the requested mean R-R.
  if (wanted_beats > 0 && o.frame_count == 0) {
    double sum = 0;
    for (int i = 1; i <= wanted_beats; ++i) sum += rr[i];
    const double scale = rr_mean * wanted_beats / sum;
    for (int i = 1; i <= wanted_beats; ++i) rr[i] *= scale;
  }

  double first_r_ms;
  if (o.partial) {
    first_r_ms = rng.uniform(0.15, 0.3) * rr[1];
    frame_count_ = std::max(4, static_cast<int>(std::floor(0.62 * rr_mean / frame_ms)));
  } else {
    first_r_ms = frame_ms * rng.uniform(0.3, 1.2) + rng.uniform(10, 50);
    if (o.frame_count > 0) {
      frame_count_ = o.frame_count;
    } else {
      double last_r = first_r_ms;
      for (int i = 1; i <= wanted_beats; ++i) last_r += rr[i];
      const double tail_ms = std::max(2 * frame_ms, 60.0);
      frame_count_ = static_cast<int>(std::ceil((last_r + tail_ms) / frame_ms)) + 1;
    }
  }

  beats_.resize(n_intervals);
  double r = first_r_ms - rr[0];
  for (int i = 0; i < n_intervals; ++i) {
    Beat& b = beats_[i];
    b.r_ms = r;
    b.rr_ms = rr[i];
    r += rr[i];
  }
  // Each beat's EF varies a little (more with an irregular rhythm, following the preceding R-R);
  // the variation is centred over the complete beats so their mean EF is exactly the requested one.
  for (int i = 0; i < n_intervals; ++i) {
    double delta;
    if (o.irregular) {
      const double previous = i > 0 ? rr[i - 1] : rr_mean;
      delta = std::clamp(10.0 * (previous / rr_mean - 1.0), -3.0, 3.0) + rng.uniform(-0.5, 0.5);
    } else {
      delta = rng.uniform(-0.4, 0.4);
    }
    beats_[i].ef_percent = o.ef_percent + delta;
  }
  const std::vector<int> complete = complete_beats();
  if (!complete.empty()) {
    double mean_delta = 0;
    for (int i : complete) mean_delta += beats_[i].ef_percent - o.ef_percent;
    mean_delta /= static_cast<double>(complete.size());
    for (Beat& b : beats_) b.ef_percent -= mean_delta;
  }
  for (Beat& b : beats_) {
    b.ef_percent = std::clamp(b.ef_percent, 5.0, 85.0);
    const double hr = 60000.0 / b.rr_ms;
    b.ivc_ms = 50;
    b.ivr_ms = 75;
    b.lvet_ms = std::clamp(413.0 - 1.7 * hr, 150.0, 350.0);
    const double min_diastole = 0.2 * b.rr_ms;
    if (b.rr_ms - b.ivc_ms - b.lvet_ms - b.ivr_ms < min_diastole) {
      b.lvet_ms = std::max(90.0, b.rr_ms - b.ivc_ms - b.ivr_ms - min_diastole);
    }
    const double diastole = b.rr_ms - b.ivc_ms - b.lvet_ms - b.ivr_ms;
    b.atrial_kick = !o.irregular;
    b.rapid_ms = std::min(170.0, 0.45 * diastole);
    b.atrial_ms = b.atrial_kick ? std::min(110.0, 0.3 * diastole) : 0.0;
    b.diastasis_ms = std::max(0.0, diastole - b.rapid_ms - b.atrial_ms);
  }
}

std::vector<int> CardiacCycle::complete_beats() const {
  std::vector<int> out;
  const double end = loop_end_ms();
  for (int i = 0; i < static_cast<int>(beats_.size()); ++i) {
    if (beats_[i].r_ms >= 0 && beats_[i].r_ms + beats_[i].rr_ms <= end) out.push_back(i);
  }
  return out;
}

const Beat& CardiacCycle::beat_at(double t, double& tau) const {
  for (std::size_t i = 0; i + 1 < beats_.size(); ++i) {
    if (t < beats_[i + 1].r_ms) {
      tau = t - beats_[i].r_ms;
      return beats_[i];
    }
  }
  tau = t - beats_.back().r_ms;
  return beats_.back();
}

namespace {
// Filling fractions of EDV - ESV: rapid filling, diastasis, atrial kick.
void filling_fractions(const Beat& b, double& rapid, double& diastasis) {
  rapid = b.atrial_kick ? 0.70 : 0.84;
  diastasis = b.atrial_kick ? 0.08 : 0.16;
}
}  // namespace

double CardiacCycle::relative_volume(double t) const {
  double tau;
  const Beat& b = beat_at(t, tau);
  const double esv = b.end_systolic_relative();
  const double stroke = 1.0 - esv;
  if (tau < b.ivc_ms) return 1.0;
  tau -= b.ivc_ms;
  if (tau < b.lvet_ms) return 1.0 - stroke * ease(tau / b.lvet_ms, 0.8);
  tau -= b.lvet_ms;
  if (tau < b.ivr_ms) return esv;
  tau -= b.ivr_ms;
  double f_rapid, f_diastasis;
  filling_fractions(b, f_rapid, f_diastasis);
  if (tau < b.rapid_ms) return esv + stroke * f_rapid * ease(tau / b.rapid_ms, 0.7);
  tau -= b.rapid_ms;
  if (tau < b.diastasis_ms) return esv + stroke * (f_rapid + f_diastasis * ease(tau / b.diastasis_ms, 1.0));
  tau -= b.diastasis_ms;
  if (b.atrial_ms <= 0) return 1.0;
  return esv + stroke * (f_rapid + f_diastasis + (1.0 - f_rapid - f_diastasis) * ease(tau / b.atrial_ms, 1.0));
}

double CardiacCycle::ejection_rate(double t) const {
  double tau;
  const Beat& b = beat_at(t, tau);
  tau -= b.ivc_ms;
  if (tau < 0 || tau >= b.lvet_ms) return 0.0;
  return ease_slope(tau / b.lvet_ms, 0.8) / b.lvet_ms;
}

double CardiacCycle::filling_rate(double t) const {
  double tau;
  const Beat& b = beat_at(t, tau);
  tau -= b.ivc_ms + b.lvet_ms + b.ivr_ms;
  if (tau < 0) return 0.0;
  double f_rapid, f_diastasis;
  filling_fractions(b, f_rapid, f_diastasis);
  if (tau < b.rapid_ms) return f_rapid * ease_slope(tau / b.rapid_ms, 0.7) / b.rapid_ms;
  tau -= b.rapid_ms;
  if (tau < b.diastasis_ms) return f_diastasis * ease_slope(tau / b.diastasis_ms, 1.0) / b.diastasis_ms;
  tau -= b.diastasis_ms;
  if (b.atrial_ms <= 0 || tau >= b.atrial_ms) return 0.0;
  return (1.0 - f_rapid - f_diastasis) * ease_slope(tau / b.atrial_ms, 1.0) / b.atrial_ms;
}

double CardiacCycle::mitral_opening(double t) const {
  double tau;
  const Beat& b = beat_at(t, tau);
  const double diastole_start = b.ivc_ms + b.lvet_ms + b.ivr_ms;
  const double x = tau - diastole_start;
  if (x <= 0) return 0.0;
  const double closing = smoothstep(0, 30, b.rr_ms - tau);  // shut at the R wave
  double open = smoothstep(0, 35, x);
  // Partial closure in diastasis, re-opening with the atrial kick.
  const double after_rapid = x - b.rapid_ms;
  if (after_rapid > 0) open *= 0.45 + 0.55 * std::exp(-after_rapid / 70.0);
  if (b.atrial_ms > 0) {
    const double atrial_start = b.rr_ms - b.atrial_ms;
    if (tau > atrial_start) open = std::max(open, 0.85 * smoothstep(atrial_start, atrial_start + 40, tau));
  }
  return std::clamp(open * closing, 0.0, 1.0);
}

double CardiacCycle::tricuspid_opening(double t) const { return mitral_opening(t - 15.0); }

}  // namespace echo::synth
