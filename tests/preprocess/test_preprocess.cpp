// Crop / mask / resize / normalise and the exact mapping between model and original pixels.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

#include "echo/preprocess.hpp"

namespace {

// A 400x300 cine: speckle inside a fan (apex (200, 10), radius 280, half angle 0.6), overlays outside,
// and a bright 7x7 marker at (marker_x, marker_y) inside the fan.
echo::Cine marker_cine(int frames, double marker_x, double marker_y) {
  echo::Cine cine;
  cine.cols = 400;
  cine.rows = 300;
  cine.gray.assign(400u * 300u * static_cast<unsigned>(frames), 0);
  const echo::Image8 fan = echo::render_fan_mask(400, 300, {200, 10}, 0, 280, -0.6, 0.6);
  std::mt19937 generator(7);
  std::uniform_int_distribution<int> speckle(30, 120);
  for (int f = 0; f < frames; ++f) {
    std::uint8_t* frame = cine.frame(f);
    for (int i = 0; i < 400 * 300; ++i) {
      frame[i] = fan.pixels[static_cast<std::size_t>(i)] ? static_cast<std::uint8_t>(speckle(generator)) : 0;
    }
    for (int y = 0; y < 12; ++y) {
      for (int x = 0; x < 60; ++x) frame[y * 400 + x] = 240;  // text
    }
    for (int dy = -3; dy <= 3; ++dy) {
      for (int dx = -3; dx <= 3; ++dx) {
        frame[(static_cast<int>(marker_y) + dy) * 400 + static_cast<int>(marker_x) + dx] = 255;
      }
    }
    cine.frame_times_ms.push_back(f * 25.0);
  }
  return cine;
}

}  // namespace

TEST(ModelMapping, SquareCropAndPixelCentres) {
  echo::SectorGeometry sector;
  sector.box_x0 = 10;
  sector.box_x1 = 409;  // 400 wide
  sector.box_y0 = 20;
  sector.box_y1 = 320;  // 301 high: difference 99, 49 above and 50 below
  const echo::ModelMapping mapping = echo::make_model_mapping(sector, echo::ModelInputSpec{});
  EXPECT_EQ(mapping.crop_side, 400);
  EXPECT_EQ(mapping.crop_x0, 10);
  EXPECT_EQ(mapping.crop_y0, 20 - 49);
  EXPECT_DOUBLE_EQ(mapping.scale_x, 400.0 / 112.0);
  // The left edge of model pixel 0 is the left edge of original pixel crop_x0.
  const echo::Point2 corner = mapping.to_original({-0.5, -0.5});
  EXPECT_NEAR(corner.x, 10 - 0.5, 1e-9);
  EXPECT_NEAR(corner.y, -29 - 0.5, 1e-9);
  const echo::Point2 far_corner = mapping.to_original({111.5, 111.5});
  EXPECT_NEAR(far_corner.x, 409.5, 1e-9);
  const echo::Point2 back = mapping.to_model(mapping.to_original({37.25, 80.5}));
  EXPECT_NEAR(back.x, 37.25, 1e-9);
  EXPECT_NEAR(back.y, 80.5, 1e-9);
}

TEST(Preprocess, MarkerLandsWhereTheMappingSays) {
  const double marker_x = 251, marker_y = 173;
  const echo::Cine cine = marker_cine(2, marker_x, marker_y);
  const auto pre = echo::preprocess(cine);
  ASSERT_TRUE(pre.has_value()) << pre.error().message;
  ASSERT_TRUE(pre->sector.found);
  // Weighted centroid of the brightest model pixels around the marker.
  const float* frame = pre->model_frame(0);
  const echo::Point2 expected = pre->mapping.to_model({marker_x, marker_y});
  double sx = 0, sy = 0, sw = 0;
  for (int y = static_cast<int>(expected.y) - 3; y <= static_cast<int>(expected.y) + 3; ++y) {
    for (int x = static_cast<int>(expected.x) - 3; x <= static_cast<int>(expected.x) + 3; ++x) {
      const double excess = std::max(0.0f, frame[y * 112 + x] - 0.45f);  // above the speckle (at most 120 / 255)
      sx += excess * x;
      sy += excess * y;
      sw += excess;
    }
  }
  ASSERT_GT(sw, 0.0);
  const echo::Point2 found = pre->mapping.to_original({sx / sw, sy / sw});
  EXPECT_NEAR(found.x, marker_x, 0.5 * pre->mapping.scale_x);
  EXPECT_NEAR(found.y, marker_y, 0.5 * pre->mapping.scale_y);
}

// The whole contract against OpenCV: mask, pad to the square crop, cv::resize, normalise.
TEST(Preprocess, ModelInputEqualsTheContractComputedWithOpenCv) {
  const echo::Cine cine = marker_cine(1, 200, 150);
  echo::ModelInputSpec spec;
  spec.input_size = 96;
  spec.mean = 0.2f;
  spec.std = 0.3f;
  const auto pre = echo::preprocess(cine, spec);
  ASSERT_TRUE(pre.has_value());
  const echo::ModelMapping& m = pre->mapping;
  cv::Mat crop(m.crop_side, m.crop_side, CV_32F, cv::Scalar(0));
  for (int y = 0; y < m.crop_side; ++y) {
    for (int x = 0; x < m.crop_side; ++x) {
      const int ox = m.crop_x0 + x, oy = m.crop_y0 + y;
      if (ox < 0 || oy < 0 || ox >= cine.cols || oy >= cine.rows) continue;
      if (pre->sector.mask.at(ox, oy) == 0) continue;
      crop.at<float>(y, x) = cine.frame(0)[oy * cine.cols + ox];
    }
  }
  cv::Mat resized;
  cv::resize(crop, resized, cv::Size(96, 96), 0, 0, m.crop_side >= 96 ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Mat expected = (resized / 255.0f - spec.mean) / spec.std;
  const cv::Mat actual(96, 96, CV_32F, const_cast<float*>(pre->model_frame(0)));
  EXPECT_LT(cv::norm(actual, expected, cv::NORM_INF), 1e-4);
  // The text block (outside the sector) is gone: the top-left model pixel is the normalised zero.
  EXPECT_NEAR(actual.at<float>(0, 0), (0.0f - spec.mean) / spec.std, 1e-6);
}

TEST(Preprocess, MillimetresPerModelPixel) {
  echo::Cine cine = marker_cine(1, 200, 150);
  cine.calibration.mm_per_px_x = 0.3;
  cine.calibration.mm_per_px_y = 0.3;
  const auto pre = echo::preprocess(cine);
  ASSERT_TRUE(pre.has_value());
  EXPECT_NEAR(pre->mm_per_px_model_x, 0.3 * pre->mapping.scale_x, 1e-12);
  EXPECT_NEAR(pre->mm_per_px_model_y, 0.3 * pre->mapping.scale_y, 1e-12);
  cine.calibration = {};
  EXPECT_EQ(echo::preprocess(cine)->mm_per_px_model_x, 0.0);
}

TEST(Preprocess, BadInputIsAnError) {
  echo::Cine empty;
  auto result = echo::preprocess(empty);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, echo::ErrorCode::invalid_argument);

  echo::Cine ragged = marker_cine(1, 200, 150);
  ragged.gray.pop_back();
  result = echo::preprocess(ragged);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, echo::ErrorCode::invalid_argument);
  EXPECT_NE(result.error().message.find("frames"), std::string::npos);

  echo::ModelInputSpec tiny;
  tiny.input_size = 4;
  EXPECT_FALSE(echo::preprocess(marker_cine(1, 200, 150), tiny).has_value());
  echo::ModelInputSpec zero_std;
  zero_std.std = 0.0f;
  EXPECT_FALSE(echo::preprocess(marker_cine(1, 200, 150), zero_std).has_value());
  echo::ModelInputSpec tiny_std;  // found by the frames fuzzer: 1/(255 * 1e-40) made every input infinite
  tiny_std.std = 1e-40f;
  auto overflowing = echo::preprocess(marker_cine(1, 200, 150), tiny_std);
  ASSERT_FALSE(overflowing.has_value());
  EXPECT_NE(overflowing.error().message.find("normalisation"), std::string::npos) << overflowing.error().message;
  echo::ModelInputSpec huge_mean;
  huge_mean.mean = 3e38f;
  EXPECT_FALSE(echo::preprocess(marker_cine(1, 200, 150), huge_mean).has_value());
}

TEST(Preprocess, FrameOfTheWrongSizeIsRefusedAndZeroed) {
  const echo::Cine cine = marker_cine(1, 200, 150);
  const auto pre = echo::preprocess(cine);
  ASSERT_TRUE(pre.has_value());
  std::vector<float> out(112 * 112, 7.0f);
  std::vector<std::uint8_t> small(100 * 100, 50);
  EXPECT_FALSE(echo::preprocess_frame(small.data(), 100, 100, pre->sector, pre->mapping, pre->spec, out.data()));
  for (float v : out) ASSERT_EQ(v, 0.0f);
  EXPECT_TRUE(echo::preprocess_frame(cine.frame(0), cine.rows, cine.cols, pre->sector, pre->mapping, pre->spec, out.data()));
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], pre->model_input[i]);
}

TEST(Preprocess, DeterministicOutput) {
  const echo::Cine cine = marker_cine(3, 220, 120);
  const auto a = echo::preprocess(cine);
  const auto b = echo::preprocess(cine);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->model_input, b->model_input);
  EXPECT_EQ(a->sector.mask.pixels, b->sector.mask.pixels);
}
