// LV shape evidence from masks: axis, width, apex roundness, edge contact.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "echo/quality.hpp"

namespace {

echo::SectorGeometry fan_sector(int width, int height) {
  echo::SectorGeometry sector;
  sector.found = true;
  sector.fan = true;
  sector.source = "image";
  sector.apex_px = {width / 2.0, 0};
  sector.radius_px = height - 1;
  sector.left_angle_rad = -0.7;
  sector.right_angle_rad = 0.7;
  sector.mask = echo::render_fan_mask(width, height, sector.apex_px, 0, sector.radius_px, -0.7, 0.7);
  return sector;
}

echo::Image8 ellipse_mask(int width, int height, cv::Point2f centre, cv::Size2f axes, float angle_deg) {
  echo::Image8 mask(width, height, 0);
  cv::Mat m(height, width, CV_8U, mask.pixels.data());
  cv::ellipse(m, cv::RotatedRect(centre, axes, angle_deg), cv::Scalar(255), -1);
  return mask;
}

}  // namespace

TEST(LvShape, AxisAndWidthOfATiltedEllipse) {
  const auto sector = fan_sector(400, 400);
  // 60 wide, 140 long, tilted 20 degrees.
  const auto lv = echo::measure_lv_shape(ellipse_mask(400, 400, {200, 200}, {60, 140}, 20), sector, 0.25, 0.25);
  ASSERT_TRUE(lv.lv_long_axis_px && lv.lv_width_px && lv.apex_roundness);
  EXPECT_NEAR(*lv.lv_long_axis_px, 141, 3);
  EXPECT_NEAR(*lv.lv_width_px, 61, 3);
  EXPECT_NEAR(*lv.lv_long_axis_mm, 141 * 0.25, 1);
  // An ellipse is 0.8 of its width at 20% of its axis: sqrt(1 - 0.6^2).
  EXPECT_NEAR(*lv.apex_roundness, 0.8, 0.05);
  EXPECT_NEAR(*lv.lv_touching_sector_edge_fraction, 0.0, 1e-12);
}

TEST(LvShape, BulletShapedApexIsLessRoundThanAnEllipse) {
  const auto sector = fan_sector(400, 400);
  echo::Image8 mask(400, 400, 0);
  cv::Mat m(400, 400, CV_8U, mask.pixels.data());
  // A pointed apex (triangle) on top of a half ellipse base.
  std::vector<cv::Point> triangle = {{200, 100}, {170, 220}, {230, 220}};
  cv::fillConvexPoly(m, triangle, cv::Scalar(255));
  cv::ellipse(m, cv::Point(200, 220), cv::Size(30, 40), 0, 0, 180, cv::Scalar(255), -1);
  const auto lv = echo::measure_lv_shape(mask, sector);
  ASSERT_TRUE(lv.apex_roundness);
  EXPECT_LT(*lv.apex_roundness, 0.55);
  EXPECT_FALSE(lv.lv_long_axis_mm.has_value());  // no calibration given
}

TEST(LvShape, LvRunningOutOfTheFanTouchesItsEdge) {
  const auto sector = fan_sector(400, 400);
  // An LV centred near the right edge of the fan: part of it lies outside.
  const auto lv = echo::measure_lv_shape(ellipse_mask(400, 400, {385, 250}, {80, 150}, 0), sector);
  ASSERT_TRUE(lv.lv_touching_sector_edge_fraction);
  EXPECT_GT(*lv.lv_touching_sector_edge_fraction, 0.15);
}

TEST(LvShape, EmptyOrMismatchedMaskGivesNoEvidence) {
  const auto sector = fan_sector(100, 100);
  EXPECT_FALSE(echo::measure_lv_shape(echo::Image8(100, 100, 0), sector).lv_long_axis_px.has_value());
  EXPECT_FALSE(echo::measure_lv_shape(echo::Image8{}, sector).lv_touching_sector_edge_fraction.has_value());
  echo::Image8 other_size(120, 100, 0);
  for (int y = 40; y < 60; ++y) {
    for (int x = 40; x < 60; ++x) other_size.at(x, y) = 255;
  }
  EXPECT_FALSE(echo::measure_lv_shape(other_size, sector).lv_long_axis_px.has_value());
  // Without a sector only the image border is an edge: a square in the corner touches it.
  echo::Image8 corner(100, 100, 0);
  for (int y = 0; y < 30; ++y) {
    for (int x = 0; x < 30; ++x) corner.at(x, y) = 255;
  }
  const auto lv = echo::measure_lv_shape(corner, echo::SectorGeometry{});
  ASSERT_TRUE(lv.lv_touching_sector_edge_fraction.has_value());
  EXPECT_GT(*lv.lv_touching_sector_edge_fraction, 0.4);
}
