// Exact ground truth of one frame: the LV cavity cut by the imaging plane (contour by bisection on the
// analytic shape, mask by the same inside test), annulus and apex points, method of discs.
// Private to src/synth.
#pragma once
#include <functional>
#include <vector>

#include "echo/image.hpp"
#include "echo/synth.hpp"
#include "synth/render.hpp"
#include "synth/scene.hpp"

namespace echo::synth {

struct PlanePoint {
  double u = 0, w = 0;
};

// The LV cavity cut in plane coordinates (u, w). False when the plane misses the cavity.
struct PlaneCut {
  std::vector<PlanePoint> contour;   // closed, in angular order about an interior point
  PlanePoint annulus_a, annulus_b;   // the two ends of the mitral annulus line in this plane
  bool has_annulus = false;
};
bool cut_lv(const Scene& scene, const FrameState& frame, PlaneCut& cut);

// Extent of a cavity along the line s = s_line of the plane (the annulus line of a valve): its two ends
// in plane coordinates, a with the smaller u. The search starts from the point of the line nearest to
// `near`. False when the line misses the cavity.
bool extent_on_level_line(const FrameState& frame, double s_line, PlanePoint near,
                          const std::function<bool(const Vec3&)>& inside, PlanePoint& a, PlanePoint& b);

// Fills the truth of one frame (contour in pixels, mask, points, area, volumes).
void frame_truth(const Scene& scene, const FrameState& frame, const ImageGeometry& geometry, double volume_ml,
                 bool with_labels, SynthFrameTruth& out);

// Method of discs on a contour: n diameters (px) perpendicular to the apex - annulus-midpoint axis, and
// that axis' length (px).
std::vector<double> disc_diameters_px(const Contour& contour, Point2 apex, Point2 annulus_mid, int n,
                                      double& long_axis_px);

double polygon_area(const Contour& contour);  // signed shoelace area, px^2

}  // namespace echo::synth
