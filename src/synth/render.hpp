// Image formation of the phantom: scatterers attached to the tissue, sampled in beam (polar) space,
// depth-dependent separable point-spread function, attenuation, TGC, thermal noise, envelope and log
// compression, scan conversion through a precomputed table, then overlays and colour flow.
// Private to src/synth.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "synth/scene.hpp"

namespace echo::synth {

struct ImageGeometry {
  int width = 640, height = 480;
  double apex_x_px = 320, apex_y_px = 20;  // the sector's apex (virtual probe point)
  double radius_px = 400, start_radius_px = 10;
  double half_angle_rad = 0.6;
  double mm_per_px = 0.4;
  double depth_mm = 160;
  double chest_wall_mm = 16;  // skin, fat and muscle in front of the heart (moves with the probe)
};

struct DisplaySettings {
  double gain_db = 0;           // added to every sample
  double dynamic_range_db = 52;
  double top_db = 26;           // dB (myocardium = 0) shown as white
  double gamma = 1.6;
  double gray_offset = 0, gray_scale = 1;  // final affine on the 0..255 grey (low contrast)
  double psf_lateral_scale = 1, psf_axial_scale = 1;
  double post_blur_px = 0;      // extra Gaussian blur on the scan-converted image
  double clutter = 1;           // near-field clutter scale
  double haze = 0;              // additive uniform haze in dB-domain units (low contrast)
};

struct DopplerBox {
  bool enabled = false;
  double angle0_rad = 0, angle1_rad = 0, depth0_mm = 0, depth1_mm = 0;  // the colour box, in beam space
  double nyquist_m_s = 0.62;
  int beam0 = 0, beam1 = 0, sample0 = 0, sample1 = 0;  // filled by the renderer (inclusive)
};

struct OverlaySettings {
  bool enabled = true;
  std::string view_name = "A4C";
  double heart_rate_bpm = 70;
  double fps = 50;
  std::vector<double> r_waves_ms;  // every R wave (may start before 0)
  bool irregular = false;
  double loop_ms = 1000;
};

// Per-worker scratch buffers.
struct RenderWorkspace {
  std::vector<float> re, im, tmp_re, tmp_im, echo, echo_tmp;
  std::vector<std::uint8_t> polar_gray;
  std::vector<float> velocity;      // colour-flow box, m/s toward the probe (0 = no flow)
  std::vector<std::uint8_t> frame_gray, frame_rgb;
};

class Renderer {
 public:
  Renderer(const ImageGeometry& geometry, const DisplaySettings& display, const DopplerBox& doppler,
           const OverlaySettings& overlays, const Scene& scene, std::uint64_t speckle_seed, bool color_output);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Renders one frame into gray (width*height) and, when colour output is on, rgb (width*height*3).
  void render(const FrameState& frame, int frame_index, RenderWorkspace& ws, std::uint8_t* gray,
              std::uint8_t* rgb) const;

  int beams() const { return n_beams_; }
  int samples() const { return n_samples_; }
  bool color_output() const { return color_output_; }
  // Polar (beam, sample) of a screen point in mm, or false outside the sector.
  bool polar_of(double X, double Y, double& beam, double& sample) const;
  double beam_angle(int b) const;
  double sample_depth_mm(int j) const;

 private:
  struct Impl;
  Impl* impl_;
  int n_beams_, n_samples_;
  bool color_output_;
};

}  // namespace echo::synth
