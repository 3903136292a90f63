// LV geometry against closed forms: truncated ellipses (ellipsoids) at many sizes, rotations and flips.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "analytic_lv.hpp"
#include "echo/geometry.hpp"
#include "test_support.hpp"

namespace {

using echo_test::TruncatedEllipse;

double relative_error(double measured, double expected) { return std::abs(measured - expected) / expected; }
double distance(echo::Point2 p, double x, double y) { return std::hypot(p.x - x, p.y - y); }

// A shape centred in an image big enough for it.
struct Placed {
  TruncatedEllipse shape;
  int width = 0, height = 0;
};

Placed place(double a, double b, double h, double angle_deg, bool flip_x, bool flip_y, double sx = 1, double sy = 1) {
  Placed p;
  p.shape.a = a, p.shape.b = b, p.shape.h = h;
  p.shape.angle_deg = angle_deg, p.shape.flip_x = flip_x, p.shape.flip_y = flip_y;
  const double extent = 2 * std::max(a, b) + 10;
  p.width = static_cast<int>(extent / sx) + 8;
  p.height = static_cast<int>(extent / sy) + 8;
  p.shape.centre_x = 0.5 * p.width * sx + 0.37;  // off the pixel grid on purpose
  p.shape.centre_y = 0.5 * p.height * sy - 0.21;
  return p;
}

// Sizes given by the semi-minor axis b (pixels); a = ratio * b; truncation h = t * a: long axes from
// 70 to 660 px. Below that the mask itself is not the shape to 1%: the flat base falls anywhere
// within a pixel row, +-0.5 px, which is +-1% of a 50 px long axis (see the next test).
struct SizeCase {
  double b, ratio, t;
};

const SizeCase kSizes[] = {{30, 1.8, 0.4}, {30, 2.2, 0.6}, {38, 2.0, 0.5}, {45, 1.6, 0.3}, {70, 2.0, 0.5}, {120, 1.9, 0.45}, {200, 2.1, 0.55}};
const double kAngles[] = {0, 17, 45, 90, 133, 180, 222, 270, 301};

TEST(LvGeometry, DiscsAndAreaLengthMatchClosedFormOverSizesRotationsAndFlips) {
  int cases = 0;
  double worst_discs = 0, worst_area_length = 0;
  for (const SizeCase& size : kSizes) {
    for (double angle : kAngles) {
      for (int flip = 0; flip < 3; ++flip) {
        const Placed p = place(size.ratio * size.b, size.b, size.t * size.ratio * size.b, angle, flip == 1, flip == 2);
        const echo::Image8 mask = p.shape.rasterise(p.width, p.height);
        const echo::LvGeometry lv = echo::measure_lv(mask, echo::PixelSpacing{1, 1});
        ASSERT_TRUE(lv.valid) << lv.invalid_reason << " b=" << size.b << " angle=" << angle << " flip=" << flip;
        const double e_discs = relative_error(lv.volume_discs_ml, p.shape.discs_volume() / 1000);
        const double e_al = relative_error(lv.volume_area_length_ml, p.shape.area_length_volume() / 1000);
        EXPECT_LT(e_discs, 0.01) << "discs: b=" << size.b << " angle=" << angle << " flip=" << flip;
        EXPECT_LT(e_al, 0.01) << "area-length: b=" << size.b << " angle=" << angle << " flip=" << flip;
        EXPECT_LT(relative_error(lv.long_axis_mm, p.shape.long_axis()), 0.01) << "L: b=" << size.b << " angle=" << angle;
        EXPECT_EQ(lv.discs.size(), 20u);
        worst_discs = std::max(worst_discs, e_discs);
        worst_area_length = std::max(worst_area_length, e_al);
        ++cases;
      }
    }
  }
  std::printf("%d shapes: worst discs error %.3f%%, worst area-length error %.3f%%\n", cases, 100 * worst_discs,
              100 * worst_area_length);
}

// Small LVs (28-40 px wide, 42-50 px long: an end-systolic LV on a 112x112 frame). The mask's base
// row alone is +-0.5 px (+-1.2% of the long axis) from the shape's, so the bound here is 2% for the
// discs and 2.5% for area-length (the mask's own area error, up to ~1% here, enters it squared).
TEST(LvGeometry, SmallMasksStayWithinTheirPixelQuantisation) {
  double worst = 0;
  for (const SizeCase& size : {SizeCase{14, 2.0, 0.5}, SizeCase{14, 1.8, 0.4}, SizeCase{20, 1.8, 0.4}}) {
    for (double angle : kAngles) {
      const Placed p = place(size.ratio * size.b, size.b, size.t * size.ratio * size.b, angle, false, angle > 150);
      const echo::LvGeometry lv = echo::measure_lv(p.shape.rasterise(p.width, p.height), echo::PixelSpacing{1, 1});
      ASSERT_TRUE(lv.valid) << lv.invalid_reason;
      const double error = relative_error(lv.volume_discs_ml, p.shape.discs_volume() / 1000);
      EXPECT_LT(error, 0.02) << "b=" << size.b << " angle=" << angle;
      EXPECT_LT(relative_error(lv.volume_area_length_ml, p.shape.area_length_volume() / 1000), 0.025) << angle;
      worst = std::max(worst, error);
    }
  }
  std::printf("small masks: worst discs error %.3f%%\n", 100 * worst);
}

TEST(LvGeometry, FindsApexAndAnnulusWhateverTheOrientation) {
  for (double angle : kAngles) {
    for (int flip = 0; flip < 4; ++flip) {
      const Placed p = place(60, 30, 30, angle, flip & 1, flip & 2);
      const echo::LvGeometry lv = echo::measure_lv(p.shape.rasterise(p.width, p.height), echo::PixelSpacing{1, 1});
      ASSERT_TRUE(lv.valid) << lv.invalid_reason;
      double apex_x, apex_y, c1x, c1y, c2x, c2y;
      const double half_base = p.shape.width_at(p.shape.h) / 2;
      p.shape.to_image(-p.shape.a, 0, &apex_x, &apex_y);
      p.shape.to_image(p.shape.h, half_base, &c1x, &c1y);
      p.shape.to_image(p.shape.h, -half_base, &c2x, &c2y);
      EXPECT_LT(distance(lv.apex_px, apex_x, apex_y), 2.0) << "angle " << angle << " flip " << flip;
      const double left_error = std::min(distance(lv.annulus_left_px, c1x, c1y), distance(lv.annulus_left_px, c2x, c2y));
      const double right_error = std::min(distance(lv.annulus_right_px, c1x, c1y), distance(lv.annulus_right_px, c2x, c2y));
      EXPECT_LT(left_error, 2.0) << "angle " << angle << " flip " << flip;
      EXPECT_LT(right_error, 2.0) << "angle " << angle << " flip " << flip;
      EXPECT_LE(lv.annulus_left_px.x, lv.annulus_right_px.x);
    }
  }
}

TEST(LvGeometry, BiplaneMatchesClosedFormEllipsoid) {
  for (double angle : {0.0, 30.0, 200.0}) {
    const Placed four = place(80, 36, 40, angle, false, false);
    const Placed two = place(80, 28, 40, angle + 90, true, false);
    const echo::LvGeometry a4c = echo::measure_lv(four.shape.rasterise(four.width, four.height), {0.3, 0.3});
    const echo::LvGeometry a2c = echo::measure_lv(two.shape.rasterise(two.width, two.height), {0.3, 0.3});
    ASSERT_TRUE(a4c.valid && a2c.valid);
    // In mm: the shapes were drawn in pixels, so scale the closed form by 0.3^3.
    const double expected_ml = four.shape.biplane_discs_volume(28) * 0.027 / 1000;
    EXPECT_LT(relative_error(echo::biplane_volume_ml(a4c, a2c), expected_ml), 0.01);
    EXPECT_LT(echo::biplane_long_axis_mismatch_percent(a4c, a2c), 1.0);
  }
}

TEST(LvGeometry, BiplaneUsesTheLongerAxis) {
  const Placed four = place(80, 30, 40, 0, false, false);
  const Placed shorter = place(64, 30, 32, 0, false, false);  // same shape, 80% as long (foreshortened)
  const echo::LvGeometry a4c = echo::measure_lv(four.shape.rasterise(four.width, four.height), {1, 1});
  const echo::LvGeometry a2c = echo::measure_lv(shorter.shape.rasterise(shorter.width, shorter.height), {1, 1});
  ASSERT_TRUE(a4c.valid && a2c.valid);
  // Discs pair by fraction of each axis; the widths are the same function of that fraction, so the
  // biplane volume with L = the longer axis equals the A4C single-plane volume.
  EXPECT_LT(relative_error(echo::biplane_volume_ml(a4c, a2c), a4c.volume_discs_ml), 0.01);
  EXPECT_NEAR(echo::biplane_long_axis_mismatch_percent(a4c, a2c), 20.0, 1.0);
  EXPECT_TRUE(std::isnan(echo::biplane_volume_ml(a4c, echo::LvGeometry{})));
  const echo::LvGeometry uncalibrated = echo::measure_lv(shorter.shape.rasterise(shorter.width, shorter.height), {});
  EXPECT_TRUE(std::isnan(echo::biplane_volume_ml(a4c, uncalibrated)));
}

TEST(LvGeometry, AnisotropicPixelsGiveMillilitres) {
  const double sx = 0.25, sy = 0.4;  // mm per pixel
  Placed p = place(48, 22, 24, 63, false, true, sx, sy);
  const echo::LvGeometry lv = echo::measure_lv(p.shape.rasterise(p.width, p.height, sx, sy), echo::PixelSpacing{sx, sy});
  ASSERT_TRUE(lv.valid) << lv.invalid_reason;
  EXPECT_TRUE(lv.volumes_in_ml);
  EXPECT_LT(relative_error(lv.volume_discs_ml, p.shape.discs_volume() / 1000), 0.01);
  EXPECT_LT(relative_error(lv.area_mm2, p.shape.area()), 0.01);
  EXPECT_LT(relative_error(lv.long_axis_mm, p.shape.long_axis()), 0.01);
}

TEST(LvGeometry, UnknownSpacingGivesPixelUnitsAndSaysSo) {
  const Placed p = place(50, 25, 25, 10, false, false);
  const echo::Image8 mask = p.shape.rasterise(p.width, p.height);
  const echo::LvGeometry unknown = echo::measure_lv(mask, echo::PixelSpacing{});
  const echo::LvGeometry unit = echo::measure_lv(mask, echo::PixelSpacing{1, 1});
  ASSERT_TRUE(unknown.valid && unit.valid);
  EXPECT_FALSE(unknown.volumes_in_ml);
  EXPECT_TRUE(unit.volumes_in_ml);
  EXPECT_NEAR(unknown.volume_discs_ml, unit.volume_discs_ml * 1000, 1e-6 * unknown.volume_discs_ml);  // px^3
}

TEST(LvGeometry, ClinicianContourGivesTheClosedForm) {
  for (double angle : {0.0, 120.0, 250.0}) {
    const Placed p = place(70, 32, 35, angle, true, false);
    // A sparse hand-drawn-like polygon: 40 clicks round the curved wall.
    const echo::LvGeometry lv = echo::measure_lv_contour(p.shape.polygon_px(40), echo::PixelSpacing{0.5, 0.5});
    ASSERT_TRUE(lv.valid) << lv.invalid_reason;
    EXPECT_LT(relative_error(lv.volume_discs_ml, p.shape.discs_volume() * 0.125 / 1000), 0.01);
  }
  EXPECT_FALSE(echo::measure_lv_contour({{0, 0}, {1, 1}}, {1, 1}).valid);
  EXPECT_FALSE(echo::measure_lv_contour({{0, 0}, {10, 0}, {NAN, 5}, {0, 10}}, {1, 1}).valid);
}

TEST(LvGeometry, UsesLargestComponentAndFillsHoles) {
  const Placed p = place(60, 28, 30, 35, false, false);
  echo::Image8 mask = p.shape.rasterise(p.width, p.height);
  const echo::LvGeometry clean = echo::measure_lv(mask, {1, 1});
  for (int y = 0; y < 4; ++y)  // a small speck elsewhere
    for (int x = 0; x < 4; ++x) mask.at(x + 1, y + 1) = 255;
  double cx, cy;  // a hole inside the cavity
  p.shape.to_image(-10, 0, &cx, &cy);
  for (int y = -3; y <= 3; ++y)
    for (int x = -3; x <= 3; ++x) mask.at(static_cast<int>(cx) + x, static_cast<int>(cy) + y) = 0;
  const echo::LvGeometry noisy = echo::measure_lv(mask, {1, 1});
  ASSERT_TRUE(clean.valid && noisy.valid);
  EXPECT_NEAR(noisy.volume_discs_ml, clean.volume_discs_ml, 1e-9);
  EXPECT_NEAR(noisy.area_mm2, clean.area_mm2, 1e-9);
}

TEST(LvGeometry, RefusesUnusableMasksWithAReason) {
  EXPECT_EQ(echo::measure_lv(echo::Image8{}, {1, 1}).invalid_reason, "empty mask");
  EXPECT_EQ(echo::measure_lv(echo::Image8(50, 40), {1, 1}).invalid_reason, "empty mask");
  echo::Image8 dot(50, 40);
  dot.at(10, 10) = 255;
  EXPECT_EQ(echo::measure_lv(dot, {1, 1}).invalid_reason, "mask too small");
  echo::Image8 broken(50, 40);
  broken.pixels.resize(10);
  EXPECT_FALSE(echo::measure_lv(broken, {1, 1}).valid);
  const Placed p = place(40, 20, 20, 0, false, false);
  const echo::LvGeometry negative = echo::measure_lv(p.shape.rasterise(p.width, p.height), {-1, 1});
  EXPECT_FALSE(negative.valid);
  EXPECT_NE(negative.invalid_reason.find("spacing"), std::string::npos);
}

TEST(LvGeometry, DeterministicAndDiscCountIsHonoured) {
  const Placed p = place(60, 30, 30, 77, false, true);
  const echo::Image8 mask = p.shape.rasterise(p.width, p.height);
  const echo::LvGeometry first = echo::measure_lv(mask, {1, 1}), second = echo::measure_lv(mask, {1, 1});
  EXPECT_EQ(first.volume_discs_ml, second.volume_discs_ml);
  echo::LvGeometryOptions forty;
  forty.disc_count = 40;
  const echo::LvGeometry fine = echo::measure_lv(mask, {1, 1}, forty);
  ASSERT_TRUE(fine.valid);
  EXPECT_EQ(fine.discs.size(), 40u);
  EXPECT_LT(relative_error(fine.volume_discs_ml, p.shape.discs_volume(40) / 1000), 0.01);
  EXPECT_EQ(echo::disc_diameters_mm(first, 40).size(), 40u);
}

// --- mask sequences -----------------------------------------------------------------------------

using echo_test::write_npy;

TEST(MaskIo, ReadsUint8NpyAndRefusesOthersWithTheReason) {
  const std::string dir = echo_test::scratch_dir().string();
  std::string data(2 * 3 * 4, '\0');
  data[5] = 1, data[12 + 11] = static_cast<char>(255);
  write_npy(dir + "/ok.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }", data);
  const auto masks = echo::read_masks(dir + "/ok.npy");
  ASSERT_TRUE(masks.has_value()) << masks.error().message;
  ASSERT_EQ(masks->size(), 2u);
  EXPECT_EQ((*masks)[0].width, 4);
  EXPECT_EQ((*masks)[0].height, 3);
  EXPECT_EQ((*masks)[0].at(1, 1), 1);
  EXPECT_EQ((*masks)[1].at(3, 2), 255);

  write_npy(dir + "/f4.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }", data);
  const auto float_masks = echo::read_mask_npy(dir + "/f4.npy");
  ASSERT_FALSE(float_masks.has_value());
  EXPECT_EQ(float_masks.error().code, echo::ErrorCode::unsupported);
  EXPECT_NE(float_masks.error().message.find("f4.npy"), std::string::npos);

  write_npy(dir + "/short.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 3, 4), }", data);
  const auto truncated = echo::read_mask_npy(dir + "/short.npy");
  ASSERT_FALSE(truncated.has_value());
  EXPECT_EQ(truncated.error().code, echo::ErrorCode::malformed);

  write_npy(dir + "/fortran.npy", "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3, 4), }", data);
  EXPECT_EQ(echo::read_mask_npy(dir + "/fortran.npy").error().code, echo::ErrorCode::unsupported);
  write_npy(dir + "/huge.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (100000, 60000, 60000), }", data);
  EXPECT_EQ(echo::read_mask_npy(dir + "/huge.npy").error().code, echo::ErrorCode::too_large);
  std::ofstream(dir + "/text.npy") << "hello";
  EXPECT_EQ(echo::read_mask_npy(dir + "/text.npy").error().code, echo::ErrorCode::malformed);
  EXPECT_EQ(echo::read_masks(dir + "/absent.npy").error().code, echo::ErrorCode::not_found);
  // A FIFO would block the read until a writer came (without the check this test hangs until ctest's timeout).
  const std::string fifo = dir + "/fifo.npy";
  std::remove(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(echo::read_masks(fifo).error().code, echo::ErrorCode::invalid_argument);
  std::remove(fifo.c_str());
}

}  // namespace
