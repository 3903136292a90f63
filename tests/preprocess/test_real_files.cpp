// Sector and colour findings on the real DICOM files of ../shared/data/dicom.
// With ECHO_WRITE_DOCS=<folder> in the environment the sector overlays and masks of the two B-mode files
// are also written there (that is how docs/sector_*.png are made):
//   ECHO_WRITE_DOCS=docs build-qual/tests/preprocess/test_preprocess --gtest_filter='PreprocessRealFiles.*'
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "echo/io.hpp"
#include "echo/preprocess.hpp"
#include "test_support.hpp"

namespace {

echo::Cine read_real(const std::string& name) {
  echo::ReadOptions options;
  options.max_color_frames = 4;
  auto cine = echo::read_dicom_file((echo_test::shared_data_dir() / name).string(), options);
  EXPECT_TRUE(cine.has_value()) << name << ": " << (cine ? "" : cine.error().message);
  return cine ? *cine : echo::Cine{};
}

// The first frame in grey with the sector mask's outline in green and the fitted apex in red.
void write_overlay(const echo::Cine& cine, const echo::SectorGeometry& sector, const std::string& stem,
                   bool for_docs = false) {
  cv::Mat grey(cine.rows, cine.cols, CV_8U, const_cast<std::uint8_t*>(cine.frame(0)));
  cv::Mat picture;
  if (!cine.color.empty() && cine.color[0].rgb.width == cine.cols) {
    cv::Mat rgb(cine.rows, cine.cols, CV_8UC3, const_cast<std::uint8_t*>(cine.color[0].rgb.pixels.data()));
    cv::cvtColor(rgb, picture, cv::COLOR_RGB2BGR);
  } else {
    cv::cvtColor(grey, picture, cv::COLOR_GRAY2BGR);
  }
  cv::Mat mask(cine.rows, cine.cols, CV_8U, const_cast<std::uint8_t*>(sector.mask.pixels.data()));
  cv::Mat dimmed = picture * 0.35;
  dimmed.copyTo(picture, ~mask);  // outside the sector dimmed
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  cv::drawContours(picture, contours, -1, cv::Scalar(0, 255, 0), 1);
  cv::rectangle(picture, cv::Rect(sector.box_x0, sector.box_y0, sector.box_width(), sector.box_height()),
                cv::Scalar(255, 160, 0), 1);
  cv::resize(picture, picture, cv::Size(), 2.0, 2.0, cv::INTER_NEAREST);
  const char* docs = std::getenv("ECHO_WRITE_DOCS");
  const std::vector<std::filesystem::path> folders = {echo_test::scratch_dir(),
                                                      for_docs && docs != nullptr ? docs : ""};
  for (const auto& folder : folders) {
    if (folder.empty()) continue;
    cv::imwrite((folder / ("sector_" + stem + ".png")).string(), picture);
    cv::imwrite((folder / ("sector_" + stem + "_mask.png")).string(), mask);
  }
}

double inside_fraction(const echo::SectorGeometry& sector, int x0, int y0, int x1, int y1) {
  int inside = 0, total = 0;
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) {
      ++total;
      inside += sector.mask.at(x, y) != 0;
    }
  }
  return static_cast<double>(inside) / total;
}

}  // namespace

// SonoSite apical view, 320x240, ultrasound region NOT trusted (it is in 640x480 coordinates).
TEST(PreprocessRealFiles, SectorOfSonositeApicalView) {
  ECHO_REQUIRE_SHARED_DATA();
  const echo::Cine cine = read_real("examples_ybr_color.dcm");
  ASSERT_EQ(cine.cols, 320);
  const echo::SectorGeometry sector = echo::detect_sector(cine);
  write_overlay(cine, sector, "examples_ybr_color", true);
  ASSERT_TRUE(sector.found) << sector.note;
  EXPECT_EQ(sector.source, "image");
  EXPECT_NE(sector.note.find("does not fit"), std::string::npos) << sector.note;
  EXPECT_TRUE(sector.fan);
  // Fan apex near the top centre (the probe footprint at about x=170, y=20), opening 60-100 degrees.
  EXPECT_NEAR(sector.apex_px.x, 170, 15);
  EXPECT_NEAR(sector.apex_px.y, 15, 20);
  const double opening_deg = (sector.right_angle_rad - sector.left_angle_rad) * 180.0 / M_PI;
  EXPECT_GT(opening_deg, 60);
  EXPECT_LT(opening_deg, 100);
  // The overlays are outside: menu bar at the bottom, text top-left and right.
  EXPECT_EQ(inside_fraction(sector, 0, 0, 60, 30), 0.0);      // "PLA Gen THI"
  EXPECT_EQ(inside_fraction(sector, 298, 10, 319, 110), 0.0);  // Crd P21, MI, TIS
  EXPECT_EQ(inside_fraction(sector, 40, 225, 280, 239), 0.0);  // menu bar
  EXPECT_GT(inside_fraction(sector, 140, 100, 200, 150), 0.99);  // the heart
  EXPECT_GT(sector.mask_fraction, 0.25);
  EXPECT_LT(sector.mask_fraction, 0.6);
}

// Exercise echo, 128x120 PLAX, sector apex above the image and no ultrasound region.
TEST(PreprocessRealFiles, SectorOfExerciseEchoWithApexOutsideTheImage) {
  ECHO_REQUIRE_SHARED_DATA();
  const echo::Cine cine = read_real("US-MONO2-8-8x-execho.dcm");
  ASSERT_EQ(cine.cols, 128);
  const echo::SectorGeometry sector = echo::detect_sector(cine);
  write_overlay(cine, sector, "US-MONO2-8-8x-execho", true);
  ASSERT_TRUE(sector.found) << sector.note;
  EXPECT_TRUE(sector.fan) << sector.note;
  EXPECT_LT(sector.apex_px.y, 0.0);  // above the top row
  EXPECT_EQ(inside_fraction(sector, 0, 0, 8, 8), 0.0);        // top-left corner is outside the fan
  EXPECT_GT(inside_fraction(sector, 50, 50, 80, 90), 0.99);
  EXPECT_GT(sector.mask_fraction, 0.5);
}

TEST(PreprocessRealFiles, ColourDopplerFlaggedInAcusonApical) {
  ECHO_REQUIRE_SHARED_DATA();
  const echo::Cine cine = read_real("IM00001.implicit_little_endian.dcm");
  ASSERT_FALSE(cine.color.empty());
  const echo::SectorGeometry sector = echo::detect_sector(cine);
  write_overlay(cine, sector, "IM00001");
  EXPECT_TRUE(sector.found) << sector.note;
  EXPECT_EQ(sector.source, "ultrasound_region");
  const echo::ColorFindings colour = echo::detect_color(cine, sector);
  EXPECT_GT(colour.color_frames_examined, 0);
  EXPECT_TRUE(colour.doppler_present);
  EXPECT_GT(colour.doppler_fraction_in_sector, 0.05);
}

TEST(PreprocessRealFiles, ColourDopplerFlaggedInTransoesophagealEcho) {
  ECHO_REQUIRE_SHARED_DATA();
  const echo::Cine cine = read_real("US-RGB-8-esopecho.dcm");
  const echo::SectorGeometry sector = echo::detect_sector(cine);
  write_overlay(cine, sector, "US-RGB-8-esopecho");
  EXPECT_TRUE(sector.found) << sector.note;
  const echo::ColorFindings colour = echo::detect_color(cine, sector);
  EXPECT_TRUE(colour.doppler_present);
  EXPECT_GT(colour.doppler_fraction_in_sector, 0.03);
}

// B-mode files are not colour Doppler: the SonoSite file has a small green marker only.
TEST(PreprocessRealFiles, GreyscaleApicalViewIsNotColourDoppler) {
  ECHO_REQUIRE_SHARED_DATA();
  const echo::Cine cine = read_real("examples_ybr_color.dcm");
  ASSERT_FALSE(cine.color.empty());
  const echo::SectorGeometry sector = echo::detect_sector(cine);
  const echo::ColorFindings colour = echo::detect_color(cine, sector);
  EXPECT_GT(colour.color_frames_examined, 0);
  EXPECT_FALSE(colour.doppler_present) << colour.doppler_fraction_in_sector;
  EXPECT_LT(colour.doppler_fraction_in_sector, 0.005);
}

TEST(PreprocessRealFiles, PreprocessKeepsTheSectorInTheModelInput) {
  ECHO_REQUIRE_SHARED_DATA();
  const echo::Cine cine = read_real("examples_ybr_color.dcm");
  const auto pre = echo::preprocess(cine);
  ASSERT_TRUE(pre.has_value()) << pre.error().message;
  EXPECT_EQ(pre->frame_count, 30);
  EXPECT_EQ(pre->model_input.size(), 30u * 112u * 112u);
  // Calibration of this file is inconsistent (regions in 640x480 coordinates): whatever the reader
  // decided, a model pixel is never given a size from an untrusted region without the scale.
  const int side = pre->mapping.crop_side;
  EXPECT_EQ(side, std::max(pre->sector.box_width(), pre->sector.box_height()));
  EXPECT_NEAR(pre->mapping.scale_x, side / 112.0, 1e-12);
}
