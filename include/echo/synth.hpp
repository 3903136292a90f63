// echo/synth.hpp: the echo phantom generator. Synthetic apical 4-chamber and 2-chamber cine loops of a
// beating 3D heart, imaged by a simulated phased-array scanner, with exact ground truth (LV contours,
// masks, volumes, keyframes, EF). Model, parameters and the ground-truth file layout: docs/phantom.md.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "echo/cine.hpp"
#include "echo/error.hpp"
#include "echo/image.hpp"

namespace echo {

enum class SynthView { a4c, a2c };

// Image defects on demand; each is recorded in the ground truth.
enum class Artifact {
  blur,           // strong widening of the point-spread function
  overgain,       // gain far too high: tissue saturated, blood grey
  undergain,      // gain far too low: dark image
  lowcontrast,    // compressed grey range, haze
  motion,         // large probe translation / rotation jitter between frames
  foreshortened,  // the imaging plane misses the true apex: LV short and rounded
  offaxis,        // plane rotated about and shifted off the LV long axis
  outside,        // LV partly outside the sector
  partial,        // less than one complete heartbeat of frames
  doppler,        // a colour-flow box over the LV / mitral region
};
const char* artifact_name(Artifact artifact);  // "blur", "overgain", ... (the CLI names)
std::optional<Artifact> artifact_from_name(const std::string& name);
const std::vector<Artifact>& all_artifacts();   // every artifact, in enum order

const char* synth_view_name(SynthView view);    // "a4c" / "a2c"
std::optional<SynthView> synth_view_from_name(const std::string& name);

struct SynthParams {
  SynthView view = SynthView::a4c;
  double ef_percent = 55.0;        // 10..80
  double heart_rate_bpm = 70.0;    // 40..150
  std::uint64_t seed = 7;          // anatomy and speckle; same seed + other view = same heart in the other plane
  int width = 640, height = 480;   // 64x64 .. 800x600
  double fps = 50.0;               // 25..100
  int beats = 3;                   // duration in complete beats (1..20); the partial artefact shortens it below one
  double depth_mm = 0, sector_angle_deg = 0;  // 0 = drawn from the seed within 140..195 mm / 70..90 deg
  bool overlays = true;            // burned-in text, depth scale, ECG trace synced to R-waves
  bool irregular_rhythm = false;   // atrial-fibrillation-like R-R variation, no atrial kick
  bool respiration = true;         // slow respiratory translation of the heart
  std::vector<Artifact> artifacts;
  // Additions beyond the first API:
  int frame_count = 0;             // > 0: exactly this many frames (overrides beats), 1..2000
  double shape_irregularity = 1.0; // 0 = smooth (elliptic cross-sections, uniform wall motion) .. 2
  bool chamber_labels = false;     // also fill SynthFrameTruth::labels (per-pixel chamber map)
  int threads = 0;                 // worker threads for rendering (0 = hardware threads); output does not depend on it
};

// The fan: apex at the top, pointing down. Pixels at distance start_radius_px..radius_px from the apex and
// within +-half_angle_rad of the vertical belong to the ultrasound image.
struct SectorTruth {
  Point2 apex_px;
  double radius_px;
  double half_angle_rad;
  double start_radius_px;
};

// Values of SynthFrameTruth::labels.
enum class ChamberLabel : std::uint8_t {
  background = 0, lv_cavity = 1, lv_myocardium = 2, la = 3, rv = 4, ra = 5, other_wall = 6, pericardium = 7,
};

struct SynthFrameTruth {
  Image8 lv_mask;                 // LV cavity, 255 inside (image size); the mitral annulus line closes it
  Contour lv_contour;             // pixel coordinates, counter-clockwise on screen, closed (first not repeated)
  Point2 apex_px, annulus_left_px, annulus_right_px;  // left/right: smaller/larger image x
  double lv_area_mm2 = 0;         // area enclosed by lv_contour
  double lv_volume_ml = 0;        // of the 3D shape (exact)
  double lv_volume_discs_ml = 0;  // single-plane method of discs (20 discs) on this plane's exact contour
  double time_ms = 0;             // frame time since the first frame
  Image8 labels;                  // ChamberLabel per pixel, only when SynthParams::chamber_labels
};

struct SynthBeatTruth {
  int ed_frame = 0, es_frame = 0;  // first frame of the end-diastolic / end-systolic volume plateau
  double edv_ml = 0, esv_ml = 0, ef_percent = 0;  // 3D volumes at those frames
  double r_wave_time_ms = 0;       // the R wave that starts the beat
};

struct SynthTruth {
  SynthParams params;             // as resolved (depth, angle drawn from the seed filled in)
  double mm_per_px = 0;           // isotropic
  SectorTruth sector{};
  std::vector<SynthFrameTruth> frames;
  std::vector<SynthBeatTruth> beats;   // complete beats only (R wave to next R wave inside the loop)
  double ef_percent = 0;          // ground-truth EF (3D volumes) of the loop: mean of beats (NaN without a beat)
  double heart_rate_bpm = 0;      // 60000 / mean R-R of the complete beats (requested rate when none)
  std::vector<Artifact> artifacts;
  bool view_is_apical = true;     // always true for a4c/a2c; kept for future views
  std::vector<double> r_wave_times_ms;  // every R wave inside the loop
};

struct SynthCase {
  Cine cine;
  SynthTruth truth;
};

// Generates one case. Invalid params -> ErrorCode::invalid_argument naming the parameter.
Expected<SynthCase> generate_phantom(const SynthParams& params);

// Single-plane method of discs (20 discs, perpendicular to the apex - annulus-midpoint axis) on one
// frame's exact contour, in mL.
double discs_volume_ml(const SynthFrameTruth& frame, double mm_per_px);
// Biplane ground truth: method of discs from the exact A4C and A2C contours of the same heart/frame
// (disc i of each view at the same fraction of its own long axis; L = the longer long axis).
double biplane_discs_volume_ml(const SynthFrameTruth& a4c, const SynthFrameTruth& a2c, double mm_per_px);

// Ground truth as JSON (layout in docs/phantom.md).
Expected<void> write_truth_json(const SynthTruth& truth, const std::string& path);
// NumPy .npy, uint8 N x H x W: LV masks (0/255), frame luma, chamber labels (needs chamber_labels).
Expected<void> write_masks_npy(const SynthTruth& truth, const std::string& path);
Expected<void> write_frames_npy(const Cine& cine, const std::string& path);
Expected<void> write_labels_npy(const SynthTruth& truth, const std::string& path);

}  // namespace echo
