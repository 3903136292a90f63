// echo/geometry.hpp: LV geometry on one frame: contour, mitral annulus, apex, long axis, method of discs
// (single plane and biplane) and area-length volumes. Rules and their reasons: docs/measurement.md.
#pragma once
#include <string>
#include <vector>

#include "echo/error.hpp"
#include "echo/image.hpp"

namespace echo {

// Physical size of one pixel. Unknown (0) means volumes cannot be given in mL.
struct PixelSpacing {
  double mm_per_px_x = 0;
  double mm_per_px_y = 0;
  bool known() const { return mm_per_px_x > 0 && mm_per_px_y > 0; }
};

// One disc of the method of discs: its two ends on the contour (for drawing) and its diameter.
struct Disc {
  Point2 a_px, b_px;
  double diameter_mm = 0;  // px when spacing is unknown
};

struct LvGeometryOptions {
  int disc_count = 20;        // ASE: 20 discs
  double smoothing_px = 1.0;  // Gaussian sigma along the contour, in contour points (about pixels)
};

struct LvGeometry {
  bool valid = false;
  std::string invalid_reason;  // "empty mask", "mask too small", "no annulus found", ...
  Contour contour_px;          // cavity contour (largest component, holes filled, smoothed, on the pixel edge)
  Point2 apex_px, annulus_left_px, annulus_right_px, annulus_mid_px;  // left/right: smaller/larger image x
  double long_axis_mm = 0;     // annulus midpoint to apex; px when spacing is unknown
  double area_mm2 = 0;         // px^2 when spacing is unknown
  std::vector<Disc> discs;     // disc_count discs, perpendicular to the long axis, base to apex
  double volume_discs_ml = 0;        // single plane: pi/4 * sum(d_i^2) * L / n
  double volume_area_length_ml = 0;  // 0.85 * A^2 / L
  bool volumes_in_ml = false;  // false when spacing is unknown: volumes are in px^3, only ratios count
  PixelSpacing spacing;        // the spacing it was measured with
};

// Measures the LV on a binary mask (nonzero = cavity). Never throws; an unusable mask gives valid=false
// with the reason.
LvGeometry measure_lv(const Image8& mask, const PixelSpacing& spacing, const LvGeometryOptions& options = {});

// The same measurement from a contour a clinician traced or edited (a closed polygon in pixel
// coordinates, first point not repeated). The contour is used as given: no smoothing, no offset.
LvGeometry measure_lv_contour(const Contour& contour_px, const PixelSpacing& spacing,
                              const LvGeometryOptions& options = {});

// Disc diameters of a measured LV for any disc count (the stored discs use options.disc_count).
// Empty when the geometry is not valid.
std::vector<double> disc_diameters_mm(const LvGeometry& lv, int disc_count);

// Biplane method of discs: V = pi/4 * sum(a_i * b_i) * L / n.
// Long-axis rule: each view is cut into n discs along its OWN long axis (disc i of A4C is paired with
// disc i of A2C: the same fraction of the way from base to apex) and L is the LONGER of the two long
// axes, since the shorter one is the more likely to be foreshortened (ASE 2015 practice). Returns NaN
// when either view is invalid or when one view is calibrated and the other is not.
double biplane_volume_ml(const LvGeometry& a4c, const LvGeometry& a2c, int disc_count = 20);

// Long-axis difference between the two views, |L4 - L2| / max(L4, L2) in percent (ASE: > 10-20%
// suggests foreshortening of the shorter view). NaN when either is invalid.
double biplane_long_axis_mismatch_percent(const LvGeometry& a4c, const LvGeometry& a2c);

// Mask sequences for `echoa measure` and tests.
// A NumPy .npy file holding uint8 masks of shape (N, H, W) or (H, W) (C order), nonzero = cavity.
Expected<std::vector<Image8>> read_mask_npy(const std::string& path);
// A folder of per-frame mask images (PNG, also BMP/TIFF/JPEG), in natural name order (frame2 < frame10).
Expected<std::vector<Image8>> read_mask_folder(const std::string& path);
// Either of the above, by what the path is.
Expected<std::vector<Image8>> read_masks(const std::string& path);

}  // namespace echo
