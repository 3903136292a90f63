#include "synth/render.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "synth/rng.hpp"

namespace echo::synth {
namespace {

// Complex Gaussian scatterer amplitudes on a regular grid, sampled bilinearly in millimetres.
struct ComplexField {
  int nx = 0, ny = 0;
  float u0 = 0, w0 = 0, inv_h = 1;
  std::vector<float> re, im;

  void build(Rng& rng, float u_min, float u_max, float w_min, float w_max, float spacing_mm) {
    u0 = u_min;
    w0 = w_min;
    inv_h = 1.0f / spacing_mm;
    nx = static_cast<int>((u_max - u_min) / spacing_mm) + 2;
    ny = static_cast<int>((w_max - w_min) / spacing_mm) + 2;
    re.resize(static_cast<std::size_t>(nx) * ny);
    im.resize(re.size());
    for (std::size_t i = 0; i < re.size(); ++i) rng.normal_pair(re[i], im[i]);
  }
  // Clamped at the edges: material coordinates stay well inside the field.
  inline void sample(float u, float w, float& out_re, float& out_im) const {
    const float fx = std::clamp((u - u0) * inv_h, 0.0f, static_cast<float>(nx) - 1.001f);
    const float fy = std::clamp((w - w0) * inv_h, 0.0f, static_cast<float>(ny) - 1.001f);
    const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
    const float ax = fx - x0, ay = fy - y0;
    const std::size_t i00 = static_cast<std::size_t>(y0) * nx + x0, i10 = i00 + nx;
    const float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
    out_re = w00 * re[i00] + w01 * re[i00 + 1] + w10 * re[i10] + w11 * re[i10 + 1];
    out_im = w00 * im[i00] + w01 * im[i00 + 1] + w10 * im[i10] + w11 * im[i10 + 1];
  }
};

// A smooth positive field (log-normal) for slow echogenicity variation and patchy dropout.
struct MottleField {
  int nx = 0, ny = 0;
  float u0 = 0, w0 = 0, inv_h = 1;
  std::vector<float> v;
  void build(Rng& rng, float u_min, float u_max, float w_min, float w_max, float spacing_mm, float sigma) {
    u0 = u_min;
    w0 = w_min;
    inv_h = 1.0f / spacing_mm;
    nx = static_cast<int>((u_max - u_min) / spacing_mm) + 2;
    ny = static_cast<int>((w_max - w_min) / spacing_mm) + 2;
    v.resize(static_cast<std::size_t>(nx) * ny);
    for (float& x : v) x = static_cast<float>(std::exp(sigma * rng.normal() - 0.5 * sigma * sigma));
  }
  inline float sample(float u, float w) const {
    float fx = std::clamp((u - u0) * inv_h, 0.0f, static_cast<float>(nx) - 1.001f);
    float fy = std::clamp((w - w0) * inv_h, 0.0f, static_cast<float>(ny) - 1.001f);
    const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
    const float ax = fx - x0, ay = fy - y0;
    const std::size_t i = static_cast<std::size_t>(y0) * nx + x0;
    return (1 - ay) * ((1 - ax) * v[i] + ax * v[i + 1]) + ay * ((1 - ax) * v[i + nx] + ax * v[i + nx + 1]);
  }
};

struct ScanEntry {
  std::uint32_t out;    // pixel index in the frame
  std::uint32_t in;     // polar index of the top-left neighbour (sample * beams + beam)
  std::uint8_t wb, wj;  // bilinear weights (0..255) toward beam + 1 and sample + 1
  std::uint8_t edge;    // 255 inside, less on the antialiased sector edge
  std::uint8_t in_box;  // inside the colour-flow box
};

void convolve_rows(const float* in, float* out, int rows, int cols, const std::vector<std::vector<float>>& kernels) {
  for (int j = 0; j < rows; ++j) {
    const std::vector<float>& k = kernels[j];
    const int half = static_cast<int>(k.size() / 2);
    const float* src = in + static_cast<std::size_t>(j) * cols;
    float* dst = out + static_cast<std::size_t>(j) * cols;
    for (int b = 0; b < cols; ++b) {
      float acc = 0;
      const int lo = std::max(-half, -b), hi = std::min(half, cols - 1 - b);
      for (int t = lo; t <= hi; ++t) acc += k[t + half] * src[b + t];
      dst[b] = acc;
    }
  }
}

void convolve_columns(const float* in, float* out, int rows, int cols, const std::vector<float>& k) {
  const int half = static_cast<int>(k.size() / 2);
  for (int j = 0; j < rows; ++j) {
    float* dst = out + static_cast<std::size_t>(j) * cols;
    std::fill(dst, dst + cols, 0.0f);
    const int lo = std::max(-half, -j), hi = std::min(half, rows - 1 - j);
    for (int t = lo; t <= hi; ++t) {
      const float w = k[t + half];
      const float* src = in + static_cast<std::size_t>(j + t) * cols;
      for (int b = 0; b < cols; ++b) dst[b] += w * src[b];
    }
  }
}

// Moving-average blur of radius r along rows (in place through tmp), O(1) per sample.
void box_rows(float* data, float* tmp, int rows, int cols, int r) {
  const float inv = 1.0f / (2 * r + 1);
  for (int j = 0; j < rows; ++j) {
    float* row = data + static_cast<std::size_t>(j) * cols;
    float acc = 0;
    for (int b = -r; b <= r; ++b) acc += row[std::clamp(b, 0, cols - 1)];
    for (int b = 0; b < cols; ++b) {
      tmp[b] = acc * inv;
      acc += row[std::min(b + r + 1, cols - 1)] - row[std::max(b - r, 0)];
    }
    std::copy(tmp, tmp + cols, row);
  }
}

// Moving-average blur of radius r down the columns, all columns at once.
void box_columns(const float* in, float* out, int rows, int cols, int r) {
  const float inv = 1.0f / (2 * r + 1);
  std::vector<float> acc(cols, 0.0f);
  for (int t = -r; t <= r; ++t) {
    const float* src = in + static_cast<std::size_t>(std::clamp(t, 0, rows - 1)) * cols;
    for (int b = 0; b < cols; ++b) acc[b] += src[b];
  }
  for (int j = 0; j < rows; ++j) {
    float* dst = out + static_cast<std::size_t>(j) * cols;
    const float* add = in + static_cast<std::size_t>(std::min(j + r + 1, rows - 1)) * cols;
    const float* sub = in + static_cast<std::size_t>(std::max(j - r, 0)) * cols;
    for (int b = 0; b < cols; ++b) {
      dst[b] = acc[b] * inv;
      acc[b] += add[b] - sub[b];
    }
  }
}

std::vector<float> gaussian_kernel(double sigma, bool unit_energy) {
  sigma = std::max(sigma, 0.3);
  const int half = std::max(1, static_cast<int>(std::ceil(2.5 * sigma)));
  std::vector<float> k(2 * half + 1);
  double norm = 0;
  for (int i = -half; i <= half; ++i) {
    const double v = std::exp(-0.5 * i * i / (sigma * sigma));
    k[i + half] = static_cast<float>(v);
    norm += unit_energy ? v * v : v;
  }
  norm = unit_energy ? std::sqrt(norm) : norm;
  for (float& v : k) v = static_cast<float>(v / norm);
  return k;
}

// Colour-flow map: toward the probe red -> yellow, away blue -> cyan (velocity as a fraction of Nyquist).
void flow_color(float v, std::uint8_t rgb[3]) {
  const float a = std::min(1.0f, std::abs(v));
  if (v > 0) {
    rgb[0] = static_cast<std::uint8_t>(110 + 145 * std::min(1.0f, a * 1.6f));
    rgb[1] = static_cast<std::uint8_t>(a > 0.6f ? 230 * (a - 0.6f) / 0.4f : 10 * a);
    rgb[2] = static_cast<std::uint8_t>(a > 0.85f ? 120 * (a - 0.85f) / 0.15f : 0);
  } else {
    rgb[0] = static_cast<std::uint8_t>(a > 0.85f ? 120 * (a - 0.85f) / 0.15f : 0);
    rgb[1] = static_cast<std::uint8_t>(a > 0.6f ? 220 * (a - 0.6f) / 0.4f : 30 * a);
    rgb[2] = static_cast<std::uint8_t>(120 + 135 * std::min(1.0f, a * 1.6f));
  }
}

std::uint8_t luma(const std::uint8_t* rgb) {
  return static_cast<std::uint8_t>((299 * rgb[0] + 587 * rgb[1] + 114 * rgb[2] + 500) / 1000);
}

double ecg_value(double t_ms, const std::vector<double>& r_waves, bool irregular) {
  double v = 0;
  for (std::size_t i = 0; i < r_waves.size(); ++i) {
    const double rr = i + 1 < r_waves.size() ? r_waves[i + 1] - r_waves[i] : (i > 0 ? r_waves[i] - r_waves[i - 1] : 850);
    const double d = t_ms - r_waves[i];
    if (d < -400 || d > 700) continue;
    auto g = [&](double centre, double sigma, double amp) { return amp * std::exp(-0.5 * (d - centre) * (d - centre) / (sigma * sigma)); };
    if (!irregular) v += g(-165, 22, 0.12);
    v += g(-28, 7, -0.10) + g(0, 8, 1.0) + g(26, 9, -0.28) + g(90 + 0.18 * rr, 45, 0.24);
  }
  if (irregular) v += 0.035 * std::sin(t_ms * 0.045) * std::sin(t_ms * 0.011 + 1.0);
  return v;
}

}  // namespace

struct Renderer::Impl {
  ImageGeometry geo;
  DisplaySettings display;
  DopplerBox doppler;
  OverlaySettings overlays;
  const Scene& scene;
  int nb = 0, ns = 0;
  double dtheta = 0, dz = 0, start_mm = 0;
  std::vector<double> sin_b, cos_b, depth;
  std::vector<std::vector<float>> lateral_kernels;
  std::vector<float> axial_kernel, smooth_axial;
  std::vector<std::vector<float>> smooth_lateral;
  int haze_axial_radius = 8;
  float haze_level = 0.12f;
  std::vector<float> tgc_db, attenuation, clutter_amp, chest_depth, lateral_gain_db;
  ComplexField speckle_a, speckle_b, fixed;
  MottleField mottle, fixed_mottle, dropout;
  std::vector<float> thermal_re, thermal_im;
  float thermal_amp = 1e-4f;
  std::vector<std::uint8_t> gray_lut;
  float lut_lo = -120, lut_step = 0.25f;
  std::vector<ScanEntry> scan;
  // Static overlay layer: colour and coverage.
  std::vector<std::uint8_t> overlay_rgb, overlay_mask;
  int ecg_x0 = 0, ecg_x1 = 0, ecg_y_base = 0, ecg_amp = 0;
  std::uint64_t seed = 0;

  Impl(const ImageGeometry& g, const DisplaySettings& d, const DopplerBox& dop, const OverlaySettings& o,
       const Scene& s, std::uint64_t speckle_seed)
      : geo(g), display(d), doppler(dop), overlays(o), scene(s), seed(speckle_seed) {}

  void build_tables();
  void build_fields();
  void build_scan_table();
  void build_overlay();
  void draw_dynamic_overlay(std::uint8_t* rgb, std::uint8_t* gray, double t_ms) const;
  double flow_velocity(const FrameState& f, double X, double Y, double dX, double dY, Label label) const;
};

Renderer::Renderer(const ImageGeometry& geometry, const DisplaySettings& display, const DopplerBox& doppler,
                   const OverlaySettings& overlays, const Scene& scene, std::uint64_t speckle_seed, bool color_output)
    : impl_(new Impl(geometry, display, doppler, overlays, scene, speckle_seed)), color_output_(color_output) {
  impl_->build_tables();
  impl_->build_fields();
  impl_->build_scan_table();
  impl_->build_overlay();
  n_beams_ = impl_->nb;
  n_samples_ = impl_->ns;
}

Renderer::~Renderer() { delete impl_; }

double Renderer::beam_angle(int b) const { return -impl_->geo.half_angle_rad + b * impl_->dtheta; }
double Renderer::sample_depth_mm(int j) const { return impl_->depth[j]; }

bool Renderer::polar_of(double X, double Y, double& beam, double& sample) const {
  const double r = std::hypot(X, Y);
  const double th = std::atan2(X, Y);
  if (std::abs(th) > impl_->geo.half_angle_rad || r < impl_->start_mm || r > impl_->geo.depth_mm) return false;
  beam = (th + impl_->geo.half_angle_rad) / impl_->dtheta;
  sample = (r - impl_->start_mm) / impl_->dz;
  return true;
}

void Renderer::Impl::build_tables() {
  const double arc_px = geo.radius_px * 2 * geo.half_angle_rad;
  nb = std::clamp(static_cast<int>(arc_px / 3.4), 64, 200);
  ns = std::clamp(static_cast<int>(geo.radius_px * 0.95), 160, 520);
  start_mm = geo.start_radius_px * geo.mm_per_px;
  dtheta = 2 * geo.half_angle_rad / (nb - 1);
  dz = (geo.depth_mm - start_mm) / (ns - 1);
  sin_b.resize(nb);
  cos_b.resize(nb);
  for (int b = 0; b < nb; ++b) {
    const double th = -geo.half_angle_rad + b * dtheta;
    sin_b[b] = std::sin(th);
    cos_b[b] = std::cos(th);
  }
  Rng rng(seed, "probe-gain");
  const double focus_mm = geo.depth_mm * rng.uniform(0.45, 0.6);
  const double tgc_error_db = rng.uniform(1.5, 3.5), tgc_phase = rng.uniform(0, 2 * kPi);
  const double atten_db_per_mm = rng.uniform(0.22, 0.3);  // round trip, about 0.5 dB/cm/MHz at 2.5 MHz
  const double clutter_level = rng.uniform(0.3, 0.55) * display.clutter;
  depth.resize(ns);
  tgc_db.resize(ns);
  attenuation.resize(ns);
  clutter_amp.resize(ns);
  lateral_kernels.resize(ns);
  for (int j = 0; j < ns; ++j) {
    const double z = start_mm + j * dz;
    depth[j] = z;
    const double att_db = atten_db_per_mm * z;
    attenuation[j] = static_cast<float>(std::pow(10.0, -att_db / 20.0));
    // TGC compensates most of the attenuation; what remains is a slow, imperfect depth-gain curve.
    tgc_db[j] = static_cast<float>(0.94 * att_db + tgc_error_db * std::sin(kPi * z / geo.depth_mm * 1.3 + tgc_phase) +
                                   2.0 * std::exp(-z / 25.0));
    clutter_amp[j] = static_cast<float>(clutter_level * std::exp(-z / 30.0) + 0.01 * clutter_level);
    const double sigma_mm = 1.1 * std::sqrt(1.0 + std::pow((z - focus_mm) / 38.0, 2.0)) * display.psf_lateral_scale;
    const double sigma_beams = std::clamp(sigma_mm / (std::max(z, 5.0) * dtheta), 0.5, 9.0 * display.psf_lateral_scale);
    lateral_kernels[j] = gaussian_kernel(sigma_beams, true);
  }
  axial_kernel = gaussian_kernel(0.65 * display.psf_axial_scale / dz, true);
  haze_axial_radius = std::max(1, static_cast<int>(std::lround(3.0 / dz)));
  haze_level = static_cast<float>(rng.uniform(0.15, 0.22) * (display.clutter > 1 ? 2.0 : 1.0));
  // Post-detection smoothing of the log image (the scanner's video filter): softens speckle nulls.
  smooth_lateral.assign(ns, gaussian_kernel(0.5, false));
  smooth_axial = gaussian_kernel(0.2 / dz, false);
  if (doppler.enabled) {
    auto beam_of = [&](double angle) { return std::clamp(static_cast<int>(std::lround((angle + geo.half_angle_rad) / dtheta)), 0, nb - 1); };
    auto sample_of = [&](double mm) { return std::clamp(static_cast<int>(std::lround((mm - start_mm) / dz)), 0, ns - 1); };
    doppler.beam0 = beam_of(std::min(doppler.angle0_rad, doppler.angle1_rad));
    doppler.beam1 = beam_of(std::max(doppler.angle0_rad, doppler.angle1_rad));
    doppler.sample0 = sample_of(std::min(doppler.depth0_mm, doppler.depth1_mm));
    doppler.sample1 = sample_of(std::max(doppler.depth0_mm, doppler.depth1_mm));
    doppler.enabled = doppler.beam1 > doppler.beam0 && doppler.sample1 > doppler.sample0;
  }
  lateral_gain_db.resize(nb);
  chest_depth.resize(nb);
  const double lat_phase = rng.uniform(0, 2 * kPi);
  for (int b = 0; b < nb; ++b) {
    const double X = geo.chest_wall_mm * sin_b[b];
    chest_depth[b] = static_cast<float>(geo.chest_wall_mm + 2.0 * std::sin(X / 17.0 + lat_phase));
    const double x = static_cast<double>(b) / (nb - 1);  // 0..1 across the sector
    const double edge = std::min(x, 1.0 - x);
    // Weaker at the edges of the sector (element directivity), slight lateral unevenness.
    lateral_gain_db[b] = static_cast<float>(1.2 * std::sin(2 * kPi * x * 1.5 + lat_phase) -
                                            9.0 * std::exp(-edge / 0.035));
  }
  // Grey map: dB -> 0..255 with a soft toe, then the display's offset / scale.
  const int n_lut = static_cast<int>((40.0 - lut_lo) / lut_step) + 1;
  gray_lut.resize(n_lut);
  for (int i = 0; i < n_lut; ++i) {
    const double db = lut_lo + i * lut_step;
    double v = (db - (display.top_db - display.dynamic_range_db)) / display.dynamic_range_db;
    v = std::clamp(v, 0.0, 1.0);
    double g = 255.0 * std::pow(v, display.gamma);
    g = display.gray_offset + display.gray_scale * g;
    gray_lut[i] = static_cast<std::uint8_t>(std::clamp(std::lround(g), 0L, 255L));
  }
  thermal_amp = static_cast<float>(std::pow(10.0, (-38.0 - 0.94 * atten_db_per_mm * geo.depth_mm) / 20.0));
}

void Renderer::Impl::build_fields() {
  Rng rng(seed, "speckle");
  // Material coordinates live in the reference plane (mm); the fields are periodic so motion never
  // runs off their edge.
  speckle_a.build(rng, -150, 150, -90, 260, 0.45f);
  speckle_b.build(rng, -150, 150, -90, 260, 0.45f);
  fixed.build(rng, -140, 140, -10, 220, 0.45f);
  mottle.build(rng, -160, 160, -100, 280, 3.5f, 0.45f);
  fixed_mottle.build(rng, -160, 160, -20, 240, 2.5f, 0.5f);
  dropout.build(rng, -160, 160, -100, 280, 9.0f, 0.9f);
  const std::size_t n_thermal = std::size_t{1} << 17;
  thermal_re.resize(n_thermal);
  thermal_im.resize(n_thermal);
  for (std::size_t i = 0; i < n_thermal; ++i) rng.normal_pair(thermal_re[i], thermal_im[i]);
}

void Renderer::Impl::build_scan_table() {
  scan.clear();
  const double r0 = geo.start_radius_px, r1 = geo.radius_px;
  const int y_max = std::min(geo.height - 1, static_cast<int>(std::ceil(geo.apex_y_px + r1 + 1)));
  for (int y = std::max(0, static_cast<int>(geo.apex_y_px)); y <= y_max; ++y) {
    for (int x = 0; x < geo.width; ++x) {
      const double dx = x - geo.apex_x_px, dy = y - geo.apex_y_px;
      const double r = std::sqrt(dx * dx + dy * dy);
      if (r < r0 - 1 || r > r1 + 1) continue;
      const double th = std::atan2(dx, dy);
      // Distance (px) inside the sector boundary, for antialiased edges.
      const double inside = std::min({r - r0, r1 - r, (geo.half_angle_rad - std::abs(th)) * r});
      if (inside < -0.5) continue;
      const double edge = std::clamp(inside + 0.5, 0.0, 1.0);
      const double fb = std::clamp((th + geo.half_angle_rad) / dtheta, 0.0, nb - 1.0001);
      const double fj = std::clamp((r * geo.mm_per_px - start_mm) / dz, 0.0, ns - 1.0001);
      const int b0 = static_cast<int>(fb), j0 = static_cast<int>(fj);
      ScanEntry e;
      e.out = static_cast<std::uint32_t>(y * geo.width + x);
      e.in = static_cast<std::uint32_t>(j0 * nb + b0);
      e.wb = static_cast<std::uint8_t>(std::min(255L, std::lround((fb - b0) * 256)));
      e.wj = static_cast<std::uint8_t>(std::min(255L, std::lround((fj - j0) * 256)));
      e.edge = static_cast<std::uint8_t>(std::lround(edge * 255));
      e.in_box = doppler.enabled && b0 >= doppler.beam0 && b0 <= doppler.beam1 && j0 >= doppler.sample0 &&
                 j0 <= doppler.sample1;
      scan.push_back(e);
    }
  }
}

void Renderer::Impl::build_overlay() {
  const int W = geo.width, H = geo.height;
  overlay_rgb.assign(static_cast<std::size_t>(W) * H * 3, 0);
  overlay_mask.assign(static_cast<std::size_t>(W) * H, 0);
  if (!overlays.enabled && !doppler.enabled) return;
  cv::Mat layer(H, W, CV_8UC3, cv::Scalar(0, 0, 0));
  cv::Mat mask(H, W, CV_8UC1, cv::Scalar(0));
  const double scale = std::max(0.3, W / 640.0 * 0.42);
  const int thick = 1;
  const cv::Scalar text_color(205, 205, 205);  // RGB order in our buffers
  auto put = [&](const std::string& s, int x, int y, const cv::Scalar& color) {
    cv::putText(layer, s, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, color, thick, cv::LINE_AA);
    cv::putText(mask, s, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255), thick, cv::LINE_AA);
  };
  const int line_h = static_cast<int>(std::lround(22 * scale / 0.42 * 0.75));
  if (overlays.enabled) {
    put("ECHOANALYZER PHANTOM", 6, line_h, text_color);
    put("SYNTHETIC", 6, 2 * line_h, text_color);
    put(overlays.view_name, 6, 3 * line_h, text_color);
    char buf[64];
    std::snprintf(buf, sizeof buf, "HR %.0f", overlays.heart_rate_bpm);
    const int right_x = W - static_cast<int>(90 * scale / 0.42);
    put(buf, right_x, line_h, text_color);
    std::snprintf(buf, sizeof buf, "%.0f Hz", overlays.fps);
    put(buf, right_x, 2 * line_h, text_color);
    std::snprintf(buf, sizeof buf, "%.1f cm", geo.depth_mm / 10.0);
    put(buf, right_x, 3 * line_h, text_color);
    // Orientation marker beside the top of the sector.
    const cv::Point marker(static_cast<int>(geo.apex_x_px + geo.radius_px * 0.12 + 14),
                           static_cast<int>(geo.apex_y_px + 6));
    cv::circle(layer, marker, std::max(2, W / 160), text_color, cv::FILLED, cv::LINE_AA);
    cv::circle(mask, marker, std::max(2, W / 160), cv::Scalar(255), cv::FILLED, cv::LINE_AA);
    // Depth scale: a dot every centimetre, a bigger one every 5 cm, right of the sector.
    const int scale_x = std::min(W - 6, static_cast<int>(geo.apex_x_px + geo.radius_px * std::sin(geo.half_angle_rad) + 10));
    for (int cm = 0; cm * 10.0 <= geo.depth_mm; ++cm) {
      const int y = static_cast<int>(std::lround(geo.apex_y_px + cm * 10.0 / geo.mm_per_px));
      if (y >= H) break;
      const int rad = cm % 5 == 0 ? 2 : 1;
      cv::circle(layer, cv::Point(scale_x, y), rad, text_color, cv::FILLED);
      cv::circle(mask, cv::Point(scale_x, y), rad, cv::Scalar(255), cv::FILLED);
    }
    std::snprintf(buf, sizeof buf, "%.0f", std::floor(geo.depth_mm / 10.0));
    put(buf, std::max(0, scale_x - 22), std::min(H - 4, static_cast<int>(geo.apex_y_px + geo.radius_px)), text_color);
    // ECG trace along the bottom: the whole loop, R waves where the heart's R waves are.
    ecg_x0 = static_cast<int>(W * 0.1);
    ecg_x1 = static_cast<int>(W * 0.9);
    ecg_y_base = H - std::max(6, static_cast<int>(H * 0.035));
    ecg_amp = std::max(4, static_cast<int>(H * 0.05));
    std::vector<cv::Point> trace;
    for (int x = ecg_x0; x <= ecg_x1; ++x) {
      const double t = overlays.loop_ms * (x - ecg_x0) / std::max(1, ecg_x1 - ecg_x0);
      const double v = ecg_value(t, overlays.r_waves_ms, overlays.irregular);
      trace.emplace_back(x, static_cast<int>(std::lround(ecg_y_base - v * ecg_amp)));
    }
    const cv::Scalar green(60, 215, 90);
    cv::polylines(layer, trace, false, green, 1, cv::LINE_AA);
    cv::polylines(mask, trace, false, cv::Scalar(255), 1, cv::LINE_AA);
  }
  if (doppler.enabled) {
    // Colour bar with its Nyquist scale, left of the sector top.
    const int bar_x = static_cast<int>(W * 0.06), bar_y = static_cast<int>(H * 0.25);
    const int bar_h = static_cast<int>(H * 0.2), bar_w = std::max(5, W / 90);
    for (int y = 0; y < bar_h; ++y) {
      const float v = 1.0f - 2.0f * y / (bar_h - 1);
      std::uint8_t c[3];
      flow_color(v, c);
      if (std::abs(v) < 0.04f) c[0] = c[1] = c[2] = 0;
      cv::line(layer, cv::Point(bar_x, bar_y + y), cv::Point(bar_x + bar_w, bar_y + y), cv::Scalar(c[0], c[1], c[2]));
      cv::line(mask, cv::Point(bar_x, bar_y + y), cv::Point(bar_x + bar_w, bar_y + y), cv::Scalar(255));
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "+%.0f", doppler.nyquist_m_s * 100);
    put(buf, bar_x - 2, bar_y - 4, text_color);
    std::snprintf(buf, sizeof buf, "-%.0f", doppler.nyquist_m_s * 100);
    put(buf, bar_x - 2, bar_y + bar_h + line_h, text_color);
    // Box outline: two radial lines and two arcs.
    const cv::Scalar box_color(190, 190, 190);
    auto px = [&](double beam, double sample) {
      const double th = -geo.half_angle_rad + beam * dtheta;
      const double r_px = (start_mm + sample * dz) / geo.mm_per_px;
      return cv::Point(static_cast<int>(std::lround(geo.apex_x_px + r_px * std::sin(th))),
                       static_cast<int>(std::lround(geo.apex_y_px + r_px * std::cos(th))));
    };
    std::vector<cv::Point> outline;
    for (int b = doppler.beam0; b <= doppler.beam1; ++b) outline.push_back(px(b, doppler.sample0));
    for (int j = doppler.sample0; j <= doppler.sample1; j += 2) outline.push_back(px(doppler.beam1, j));
    for (int b = doppler.beam1; b >= doppler.beam0; --b) outline.push_back(px(b, doppler.sample1));
    for (int j = doppler.sample1; j >= doppler.sample0; j -= 2) outline.push_back(px(doppler.beam0, j));
    cv::polylines(layer, outline, true, box_color, 1, cv::LINE_8);
    cv::polylines(mask, outline, true, cv::Scalar(255), 1, cv::LINE_8);
  }
  std::copy(layer.data, layer.data + overlay_rgb.size(), overlay_rgb.begin());
  std::copy(mask.data, mask.data + overlay_mask.size(), overlay_mask.begin());
}

void Renderer::Impl::draw_dynamic_overlay(std::uint8_t* rgb, std::uint8_t* gray, double t_ms) const {
  if (!overlays.enabled || ecg_x1 <= ecg_x0) return;
  // A short bright cursor on the ECG at the current time.
  const int x = ecg_x0 + static_cast<int>(std::lround((ecg_x1 - ecg_x0) * t_ms / std::max(1.0, overlays.loop_ms)));
  for (int dx = 0; dx < 2; ++dx) {
    const int xx = std::clamp(x + dx, 0, geo.width - 1);
    for (int y = ecg_y_base - ecg_amp - 2; y <= ecg_y_base + ecg_amp / 2; ++y) {
      if (y < 0 || y >= geo.height) continue;
      const std::size_t i = static_cast<std::size_t>(y) * geo.width + xx;
      if (rgb != nullptr) {
        rgb[3 * i] = 240;
        rgb[3 * i + 1] = 240;
        rgb[3 * i + 2] = 120;
        gray[i] = luma(rgb + 3 * i);
      } else {
        gray[i] = 226;
      }
    }
  }
}

double Renderer::Impl::flow_velocity(const FrameState& f, double X, double Y, double dX, double dY, Label label) const {
  double u, w;
  f.to_plane(X, Y, u, w);
  // Unit vector along the plane's long axis (apex -> base) in screen coordinates.
  const double ax = f.sin_t, ay = f.cos_t;
  const double toward_apex_is_toward_probe = ax * dX + ay * dY;  // cos between the long axis and the beam
  const double du = u - f.mitral_u, dw = w - f.mitral_w;
  double v = 0;
  // Diastolic inflow: a jet from the mitral orifice toward the apex (toward the probe).
  const double inflow = 0.95 * f.mitral_open * std::min(1.0, f.inflow_rate * 90.0);
  const double jet = std::exp(-0.5 * du * du / (9.0 * 9.0));
  if (label == Label::lv_cavity) {
    v += inflow * jet * std::exp(-std::max(0.0, -dw) / 45.0);
    // Systole: blood leaves toward the outflow tract (away from the probe in this view).
    v -= 0.4 * std::min(1.0, f.ejection_rate * 120.0) * std::exp(-0.5 * du * du / (14.0 * 14.0)) *
         std::exp(-std::max(0.0, -dw) / 25.0);
  } else if (label == Label::la) {
    v += inflow * 0.8 * std::exp(-0.5 * du * du / (14.0 * 14.0)) * std::exp(-std::max(0.0, dw) / 20.0);
    v += 0.25 * std::min(1.0, f.ejection_rate * 120.0) * std::exp(-std::max(0.0, dw - 20.0) / 20.0);  // venous inflow
  }
  return v * toward_apex_is_toward_probe;
}

void Renderer::render(const FrameState& f, int frame_index, RenderWorkspace& ws, std::uint8_t* gray,
                      std::uint8_t* rgb) const {
  const Impl& m = *impl_;
  const int nb = m.nb, ns = m.ns;
  const std::size_t n = static_cast<std::size_t>(nb) * ns;
  ws.re.resize(n);
  ws.im.resize(n);
  ws.tmp_re.resize(n);
  ws.tmp_im.resize(n);
  ws.polar_gray.resize(n);
  ws.echo.resize(n);
  ws.echo_tmp.resize(n);
  const int box_w = m.doppler.beam1 - m.doppler.beam0 + 1, box_h = m.doppler.sample1 - m.doppler.sample0 + 1;
  if (m.doppler.enabled) ws.velocity.assign(static_cast<std::size_t>(box_w) * box_h, 0.0f);

  // Speckle decorrelates slowly (out-of-plane motion): blend two fields along a quarter turn per 1.6 s.
  const double theta = 0.5 * kPi * f.t_ms / 1600.0;
  const float ca = static_cast<float>(std::cos(theta)), sa = static_cast<float>(std::sin(theta));
  // Blood speckle is redrawn as the blood flows: a new window of the field every frame.
  const float blood_du = static_cast<float>(std::fmod(7.3 * frame_index, 60.0) - 30.0);
  const float blood_dw = static_cast<float>(std::fmod(3.1 * frame_index, 40.0) - 20.0);

  // 1. Scatterers times echogenicity, in beam space.
  for (int j = 0; j < ns; ++j) {
    const double z = m.depth[j];
    const float clutter = m.clutter_amp[j];
    for (int b = 0; b < nb; ++b) {
      const double X = z * m.sin_b[b], Y = z * m.cos_b[b];
      const std::size_t idx = static_cast<std::size_t>(j) * nb + b;
      float e_re, e_im;
      if (z < m.chest_depth[b]) {
        // Chest wall: skin, fat and muscle layers that stay with the probe.
        const float layers = static_cast<float>(0.55 + 0.45 * std::sin(2 * kPi * z / 4.3 + 0.6 * std::sin(X / 11.0)));
        const float skin = z < 3.0 ? 1.6f : 0.0f;
        const float echo = (0.5f + 1.1f * layers * layers + skin) * m.fixed_mottle.sample(static_cast<float>(X), static_cast<float>(z));
        float n_re, n_im;
        m.fixed.sample(static_cast<float>(X), static_cast<float>(z) + 150.0f, n_re, n_im);
        e_re = echo * n_re;
        e_im = echo * n_im;
      } else {
        const TissueSample t = m.scene.evaluate(f, X, Y, m.sin_b[b], m.cos_b[b]);
        float echo = t.echo;
        float n_re, n_im;
        if (t.label == Label::lv_cavity || t.label == Label::la || t.label == Label::rv || t.label == Label::ra) {
          m.speckle_a.sample(t.mat_u + blood_du, t.mat_w + blood_dw, n_re, n_im);
          if (m.doppler.enabled && b >= m.doppler.beam0 && b <= m.doppler.beam1 && j >= m.doppler.sample0 &&
              j <= m.doppler.sample1) {
            ws.velocity[static_cast<std::size_t>(j - m.doppler.sample0) * box_w + (b - m.doppler.beam0)] =
                static_cast<float>(m.flow_velocity(f, X, Y, m.sin_b[b], m.cos_b[b], t.label));
          }
        } else {
          float a_re, a_im, b_re, b_im;
          m.speckle_a.sample(t.mat_u, t.mat_w, a_re, a_im);
          m.speckle_b.sample(t.mat_u, t.mat_w, b_re, b_im);
          n_re = ca * a_re + sa * b_re;
          n_im = ca * a_im + sa * b_im;
          const float mot = m.mottle.sample(t.mat_u, t.mat_w);
          // Patchy dropout: large, slowly varying regions where the wall returns little echo.
          const float drop = std::min(1.0f, m.dropout.sample(t.mat_u, t.mat_w));
          if (t.label == Label::background) {
            echo *= mot * mot;
          } else if (t.label == Label::lv_myocardium || t.label == Label::other_wall) {
            echo *= (0.35f + 0.65f * mot) * (0.3f + 0.7f * drop);
          } else if (t.label == Label::pericardium) {
            echo *= (0.6f + 0.4f * mot) * (0.5f + 0.5f * drop);
          }
        }
        e_re = echo * n_re;
        e_im = echo * n_im;
      }
      // Near-field clutter: reverberation haze fixed to the probe, strongest at the top.
      float c_re, c_im;
      m.fixed.sample(static_cast<float>(X) + 0.5f, static_cast<float>(Y) * 0.8f + 40.0f, c_re, c_im);
      const float cm = clutter * m.fixed_mottle.sample(static_cast<float>(X) * 0.7f, static_cast<float>(z) * 0.5f + 60.0f);
      ws.re[idx] = e_re + cm * c_re;
      ws.im[idx] = e_im + cm * c_im;
      ws.echo[idx] = std::sqrt(e_re * e_re + e_im * e_im);
    }
  }

  // Side lobes and multipath: a faint, broad smear of the surrounding echoes that fills the cavities
  // with haze near bright walls.
  for (int pass = 0; pass < 2; ++pass) {  // two box passes: a smooth, triangular smear
    box_rows(ws.echo.data(), ws.echo_tmp.data(), ns, nb, 5);
    box_columns(ws.echo.data(), ws.echo_tmp.data(), ns, nb, m.haze_axial_radius);
    ws.echo.swap(ws.echo_tmp);
  }
  {
    std::uint64_t hz = m.seed ^ (0xD1B54A32D192ED03ULL * static_cast<std::uint64_t>(frame_index + 7));
    const std::size_t off = static_cast<std::size_t>(splitmix64(hz)) & (m.thermal_re.size() - 1);
    const std::size_t msk = m.thermal_re.size() - 1;
    const float level = m.haze_level;
    for (std::size_t k = 0; k < n; ++k) {
      const float a = level * ws.echo[k];
      ws.re[k] += a * m.thermal_re[(k * 5 + off) & msk];
      ws.im[k] += a * m.thermal_im[(k * 5 + off) & msk];
    }
  }

  // 2. Point-spread function: lateral (depth-dependent width), then axial.
  convolve_rows(ws.re.data(), ws.tmp_re.data(), ns, nb, m.lateral_kernels);
  convolve_rows(ws.im.data(), ws.tmp_im.data(), ns, nb, m.lateral_kernels);
  convolve_columns(ws.tmp_re.data(), ws.re.data(), ns, nb, m.axial_kernel);
  convolve_columns(ws.tmp_im.data(), ws.im.data(), ns, nb, m.axial_kernel);

  // 3. Attenuation, thermal noise, envelope, TGC, log compression, grey map.
  const std::size_t mask = m.thermal_re.size() - 1;
  std::uint64_t h = m.seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(frame_index + 1));
  const std::size_t offset = static_cast<std::size_t>(splitmix64(h)) & mask;
  const float gain_db = static_cast<float>(m.display.gain_db + m.display.haze);
  const float inv_step = 1.0f / m.lut_step;
  const int lut_max = static_cast<int>(m.gray_lut.size()) - 1;
  for (int j = 0; j < ns; ++j) {
    const float att = m.attenuation[j];
    const float row_db = m.tgc_db[j] + gain_db;
    for (int b = 0; b < nb; ++b) {
      const std::size_t idx = static_cast<std::size_t>(j) * nb + b;
      const std::size_t k = (idx * 7 + offset) & mask;
      const float r = ws.re[idx] * att + m.thermal_amp * m.thermal_re[k];
      const float i = ws.im[idx] * att + m.thermal_amp * m.thermal_im[k];
      ws.tmp_re[idx] = 10.0f * std::log10(r * r + i * i + 1e-30f) + row_db + m.lateral_gain_db[b];
    }
  }
  convolve_rows(ws.tmp_re.data(), ws.re.data(), ns, nb, m.smooth_lateral);
  convolve_columns(ws.re.data(), ws.tmp_re.data(), ns, nb, m.smooth_axial);
  for (std::size_t idx = 0; idx < n; ++idx) {
    const int li = std::clamp(static_cast<int>((ws.tmp_re[idx] - m.lut_lo) * inv_step), 0, lut_max);
    ws.polar_gray[idx] = m.gray_lut[li];
  }

  // 4. Scan conversion.
  const int W = m.geo.width, H = m.geo.height;
  std::fill(gray, gray + static_cast<std::size_t>(W) * H, 0);
  const std::uint8_t* pg = ws.polar_gray.data();
  for (const ScanEntry& e : m.scan) {
    const std::uint8_t* p = pg + e.in;
    // Weights w and 256 - w sum to 256 exactly, so the shifts divide exactly.
    const int top = p[0] * (256 - e.wb) + p[1] * e.wb;
    const int bottom = p[nb] * (256 - e.wb) + p[nb + 1] * e.wb;
    const int v = (top * (256 - e.wj) + bottom * e.wj) >> 16;
    gray[e.out] = static_cast<std::uint8_t>(e.edge == 255 ? v : (v * e.edge * 257 + 32768) >> 16);
  }
  if (m.display.post_blur_px > 0) {
    cv::Mat frame(H, W, CV_8UC1, gray);
    cv::GaussianBlur(frame, frame, cv::Size(0, 0), m.display.post_blur_px);
  }

  // 5. Colour: overlays and colour flow.
  if (rgb == nullptr) {
    for (std::size_t i = 0; i < m.overlay_mask.size(); ++i) {
      if (m.overlay_mask[i] != 0) gray[i] = std::max(gray[i], luma(&m.overlay_rgb[3 * i]));
    }
    m.draw_dynamic_overlay(nullptr, gray, f.t_ms);
    return;
  }
  const std::size_t npx = static_cast<std::size_t>(W) * H;
  for (std::size_t i = 0; i < npx; ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = gray[i];
  if (m.doppler.enabled) {
    // Smooth the velocities a little (the colour estimator averages an ensemble), add estimator noise,
    // alias at the Nyquist velocity, and let tissue win over colour.
    std::vector<float> smooth(ws.velocity.size(), 0.0f);
    for (int y = 0; y < box_h; ++y) {
      for (int x = 0; x < box_w; ++x) {
        float acc = 0;
        int cnt = 0;
        for (int dy = -2; dy <= 2; ++dy) {
          for (int dx = -1; dx <= 1; ++dx) {
            const int yy = y + dy, xx = x + dx;
            if (yy < 0 || yy >= box_h || xx < 0 || xx >= box_w) continue;
            acc += ws.velocity[static_cast<std::size_t>(yy) * box_w + xx];
            ++cnt;
          }
        }
        smooth[static_cast<std::size_t>(y) * box_w + x] = acc / cnt;
      }
    }
    const float nyq = static_cast<float>(m.doppler.nyquist_m_s);
    for (const ScanEntry& e : m.scan) {
      if (!e.in_box) continue;
      const int j = static_cast<int>(e.in / nb) - m.doppler.sample0;
      const int b = static_cast<int>(e.in % nb) - m.doppler.beam0;
      const int jj = std::clamp(j + (e.wj > 127 ? 1 : 0), 0, box_h - 1);
      const int bb = std::clamp(b + (e.wb > 127 ? 1 : 0), 0, box_w - 1);
      float v = smooth[static_cast<std::size_t>(jj) * box_w + bb];
      if (std::abs(v) < 0.05f || gray[e.out] > 105) continue;
      const std::size_t k = (e.in * 13 + offset) & mask;
      v += 0.07f * m.thermal_re[k];
      float frac = v / nyq;
      frac = frac - 2.0f * std::floor((frac + 1.0f) / 2.0f);  // alias into [-1, 1)
      flow_color(frac, &rgb[3 * e.out]);
      gray[e.out] = luma(&rgb[3 * e.out]);
    }
  }
  for (std::size_t i = 0; i < npx; ++i) {
    if (m.overlay_mask[i] == 0) continue;
    const int a = m.overlay_mask[i];
    for (int c = 0; c < 3; ++c) {
      // The layer was drawn antialiased on black, so its colour is already weighted by the coverage.
      rgb[3 * i + c] = static_cast<std::uint8_t>(std::min(255, m.overlay_rgb[3 * i + c] + rgb[3 * i + c] * (255 - a) / 255));
    }
    gray[i] = luma(&rgb[3 * i]);
  }
  m.draw_dynamic_overlay(rgb, gray, f.t_ms);
}

}  // namespace echo::synth
