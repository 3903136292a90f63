// Sector detection on small cines this test builds: a speckled fan with burned-in overlays.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "echo/preprocess.hpp"

namespace {

struct FanTruth {
  echo::Point2 apex;
  double radius, half_angle;
};

// A cine of `frames` speckle frames inside the fan, a static bright text block and a bright static
// line (a depth scale) outside it.
echo::Cine speckle_fan_cine(int width, int height, const FanTruth& fan, int frames, unsigned seed) {
  echo::Cine cine;
  cine.cols = width;
  cine.rows = height;
  cine.gray.assign(static_cast<std::size_t>(width) * height * frames, 0);
  const echo::Image8 mask = echo::render_fan_mask(width, height, fan.apex, 0.0, fan.radius, -fan.half_angle, fan.half_angle);
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> speckle(20, 200);
  for (int f = 0; f < frames; ++f) {
    std::uint8_t* frame = cine.frame(f);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const std::size_t i = static_cast<std::size_t>(y) * width + x;
        if (mask.pixels[i] != 0) frame[i] = static_cast<std::uint8_t>(speckle(generator));
        // Overlays: a text block top-left and a depth scale on the right edge, the same in every frame.
        if (x < width / 8 && y < height / 12 && (x + y) % 3 != 0) frame[i] = 230;
        if (x >= width - 4 && y % 10 < 2) frame[i] = 255;
      }
    }
    cine.frame_times_ms.push_back(20.0 * f);
  }
  return cine;
}

double iou(const echo::Image8& a, const echo::Image8& b) {
  long long intersection = 0, united = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    intersection += (a.pixels[i] != 0) && (b.pixels[i] != 0);
    united += (a.pixels[i] != 0) || (b.pixels[i] != 0);
  }
  return united ? static_cast<double>(intersection) / united : 0.0;
}

}  // namespace

TEST(Sector, RenderFanMaskFollowsTheAngleConvention) {
  // A fan opening from -10 to +40 degrees (from straight down, +x to the right).
  const echo::Image8 mask = echo::render_fan_mask(200, 200, {100, 0}, 10, 150, -10 * M_PI / 180, 40 * M_PI / 180);
  EXPECT_EQ(mask.at(100, 100), 255);                                    // straight down
  EXPECT_EQ(mask.at(100 + 60, 100), 255);                               // 31 degrees to the right
  EXPECT_EQ(mask.at(100 - 60, 100), 0);                                 // 31 degrees to the left
  EXPECT_EQ(mask.at(100, 5), 0);                                        // inside the start radius
  EXPECT_EQ(mask.at(100, 160), 0);                                      // beyond the radius
}

TEST(Sector, FoundFromChangingPixelsWithOverlaysExcluded) {
  const FanTruth truth{{160, 12}, 210, 0.62};
  const echo::Cine cine = speckle_fan_cine(320, 240, truth, 6, 1);
  const echo::SectorGeometry sector = echo::detect_sector(cine);
  ASSERT_TRUE(sector.found) << sector.note;
  EXPECT_EQ(sector.source, "image");
  EXPECT_TRUE(sector.fan) << sector.note;
  EXPECT_NEAR(sector.apex_px.x, truth.apex.x, 3.0);
  EXPECT_NEAR(sector.apex_px.y, truth.apex.y, 4.0);
  EXPECT_NEAR(sector.radius_px, truth.radius, 4.0);
  EXPECT_NEAR(sector.left_angle_rad, -truth.half_angle, 0.03);
  EXPECT_NEAR(sector.right_angle_rad, truth.half_angle, 0.03);
  const echo::Image8 expected = echo::render_fan_mask(320, 240, truth.apex, 0, truth.radius, -truth.half_angle, truth.half_angle);
  EXPECT_GT(iou(sector.mask, expected), 0.97);
  EXPECT_EQ(sector.mask.at(5, 5), 0);      // text
  EXPECT_EQ(sector.mask.at(318, 100), 0);  // depth scale
}

TEST(Sector, SingleFrameUsesBrightPixels) {
  const FanTruth truth{{128, -20}, 230, 0.5};  // apex above the image
  const echo::Cine cine = speckle_fan_cine(256, 200, truth, 1, 2);
  const echo::SectorGeometry sector = echo::detect_sector(cine);
  ASSERT_TRUE(sector.found) << sector.note;
  EXPECT_TRUE(sector.fan) << sector.note;
  EXPECT_NEAR(sector.apex_px.y, -20, 8.0);
  const echo::Image8 expected = echo::render_fan_mask(256, 200, truth.apex, 0, truth.radius, -truth.half_angle, truth.half_angle);
  EXPECT_GT(iou(sector.mask, expected), 0.95);
}

TEST(Sector, TrustedRegionRestrictsTheSearch) {
  const FanTruth truth{{160, 12}, 210, 0.62};
  echo::Cine cine = speckle_fan_cine(320, 240, truth, 4, 3);
  echo::UltrasoundRegion region;
  region.x0 = 20;
  region.y0 = 10;
  region.x1 = 300;
  region.y1 = 230;
  region.spatial_format = 1;
  region.data_type = 1;
  cine.metadata.regions.push_back(region);
  const echo::SectorGeometry sector = echo::detect_sector(cine);
  ASSERT_TRUE(sector.found);
  EXPECT_EQ(sector.source, "ultrasound_region");
  EXPECT_GE(sector.box_x0, 20);
  EXPECT_LE(sector.box_x1, 300);
  EXPECT_GE(sector.box_y0, 10);
  EXPECT_LE(sector.box_y1, 230);
}

TEST(Sector, RegionOutsideTheImageIsNotTrusted) {
  const FanTruth truth{{160, 12}, 210, 0.62};
  echo::Cine cine = speckle_fan_cine(320, 240, truth, 4, 4);
  echo::UltrasoundRegion region;
  region.x0 = 84;
  region.y0 = 31;
  region.x1 = 595;  // 640x480 coordinates on a 320x240 image
  region.y1 = 414;
  region.spatial_format = 1;
  cine.metadata.regions.push_back(region);
  const echo::SectorGeometry sector = echo::detect_sector(cine);
  ASSERT_TRUE(sector.found);
  EXPECT_EQ(sector.source, "image");
  EXPECT_NE(sector.note.find("does not fit"), std::string::npos);
}

// Issue 14: a 640x480 cine is searched on a 320x240 copy; the fan must be the one the full-size search
// finds within half a pixel of the full-size scale on the apex and radius, 0.005 rad on the sides.
TEST(Sector, ReducedSearchAgreesWithTheFullSizeSearch) {
  const FanTruth truth{{321, 18}, 430, 0.6};
  const echo::Cine cine = speckle_fan_cine(640, 480, truth, 8, 5);
  echo::SectorOptions full_size;
  full_size.min_search_side_px = 0;
  const echo::SectorGeometry reduced = echo::detect_sector(cine);
  const echo::SectorGeometry full = echo::detect_sector(cine, full_size);
  ASSERT_TRUE(reduced.found && reduced.fan) << reduced.note;
  ASSERT_TRUE(full.found && full.fan) << full.note;
  EXPECT_NEAR(reduced.apex_px.x, full.apex_px.x, 1.0);
  EXPECT_NEAR(reduced.apex_px.y, full.apex_px.y, 1.5);
  EXPECT_NEAR(reduced.radius_px, full.radius_px, 1.5);
  EXPECT_NEAR(reduced.left_angle_rad, full.left_angle_rad, 0.005);
  EXPECT_NEAR(reduced.right_angle_rad, full.right_angle_rad, 0.005);
  EXPECT_GT(iou(reduced.mask, full.mask), 0.99);
  EXPECT_EQ(reduced.mask.at(5, 5), 0);      // text
  EXPECT_EQ(reduced.mask.at(638, 100), 0);  // depth scale
}

TEST(Sector, BlankCineHasNoSectorAndAWholeImageMask) {
  echo::Cine cine;
  cine.cols = 64;
  cine.rows = 48;
  cine.gray.assign(64 * 48 * 3, 0);
  const echo::SectorGeometry sector = echo::detect_sector(cine);
  EXPECT_FALSE(sector.found);
  EXPECT_EQ(sector.source, "none");
  EXPECT_EQ(sector.mask.width, 64);
  EXPECT_DOUBLE_EQ(sector.mask_fraction, 1.0);
}

TEST(Sector, ColourInsideAndOutsideTheSector) {
  const FanTruth truth{{160, 12}, 210, 0.62};
  echo::Cine cine = speckle_fan_cine(320, 240, truth, 2, 5);
  const echo::SectorGeometry sector = echo::detect_sector(cine);
  ASSERT_TRUE(sector.found);
  echo::ColorFrame grey_frame;
  grey_frame.rgb.width = 320;
  grey_frame.rgb.height = 240;
  grey_frame.rgb.pixels.assign(320 * 240 * 3, 90);
  cine.color.push_back(grey_frame);
  echo::ColorFindings findings = echo::detect_color(cine, sector);
  EXPECT_EQ(findings.color_frames_examined, 1);
  EXPECT_FALSE(findings.doppler_present);
  EXPECT_DOUBLE_EQ(findings.doppler_fraction_in_sector, 0.0);
  // A red jet of 40x40 pixels inside the fan, a yellow logo outside.
  echo::ColorFrame doppler = grey_frame;
  for (int y = 100; y < 140; ++y) {
    for (int x = 140; x < 180; ++x) doppler.rgb.pixels[(static_cast<std::size_t>(y) * 320 + x) * 3] = 230;
  }
  for (int y = 0; y < 10; ++y) {
    for (int x = 0; x < 20; ++x) {
      doppler.rgb.pixels[(static_cast<std::size_t>(y) * 320 + x) * 3] = 250;
      doppler.rgb.pixels[(static_cast<std::size_t>(y) * 320 + x) * 3 + 1] = 250;
    }
  }
  cine.color = {doppler};
  findings = echo::detect_color(cine, sector);
  EXPECT_TRUE(findings.doppler_present);
  const double sector_pixels = sector.mask_fraction * 320 * 240;
  EXPECT_NEAR(findings.doppler_fraction_in_sector, 1600.0 / sector_pixels, 1e-9);
  EXPECT_GT(findings.overlay_color_fraction_outside, 0.0);
}
