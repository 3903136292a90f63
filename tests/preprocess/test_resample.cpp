// The model input contract: our separable resampling equals cv::resize on float images.
#include <gtest/gtest.h>

#include <random>

#include <opencv2/imgproc.hpp>

#include "preprocess/resample.hpp"

namespace {

cv::Mat apply_table(const cv::Mat& source, int size) {
  const auto table = echo::detail::make_resample_table(source.cols, size);
  cv::Mat rows_done(size, source.cols, CV_32F, cv::Scalar(0));
  for (int oy = 0; oy < size; ++oy) {
    for (int t = table.first[oy]; t < table.first[oy + 1]; ++t) {
      rows_done.row(oy) += table.taps[t].weight * source.row(table.taps[t].source);
    }
  }
  cv::Mat out(size, size, CV_32F, cv::Scalar(0));
  for (int ox = 0; ox < size; ++ox) {
    for (int t = table.first[ox]; t < table.first[ox + 1]; ++t) {
      out.col(ox) += table.taps[t].weight * rows_done.col(table.taps[t].source);
    }
  }
  return out;
}

cv::Mat random_image(int side, unsigned seed) {
  cv::Mat image(side, side, CV_32F);
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> level(0.0f, 255.0f);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) image.at<float>(y, x) = level(generator);
  }
  return image;
}

}  // namespace

TEST(Resample, ShrinkingMatchesOpenCvInterArea) {
  for (int side : {113, 224, 250, 333, 401, 480, 768}) {
    const cv::Mat source = random_image(side, static_cast<unsigned>(side));
    cv::Mat expected;
    cv::resize(source, expected, cv::Size(112, 112), 0, 0, cv::INTER_AREA);
    const double max_error = cv::norm(apply_table(source, 112), expected, cv::NORM_INF);
    EXPECT_LT(max_error, 2e-3) << "side " << side;
  }
}

TEST(Resample, EnlargingMatchesOpenCvInterLinear) {
  for (int side : {20, 57, 100, 111}) {
    const cv::Mat source = random_image(side, static_cast<unsigned>(side));
    cv::Mat expected;
    cv::resize(source, expected, cv::Size(112, 112), 0, 0, cv::INTER_LINEAR);
    const double max_error = cv::norm(apply_table(source, 112), expected, cv::NORM_INF);
    EXPECT_LT(max_error, 2e-3) << "side " << side;
  }
}

TEST(Resample, WeightsOfEachOutputSumToOne) {
  for (auto [from, to] : {std::pair{401, 112}, {90, 112}, {112, 112}, {1000, 7}}) {
    const auto table = echo::detail::make_resample_table(from, to);
    ASSERT_EQ(table.first.size(), static_cast<std::size_t>(to) + 1);
    for (int d = 0; d < to; ++d) {
      double sum = 0;
      for (int t = table.first[d]; t < table.first[d + 1]; ++t) {
        EXPECT_GE(table.taps[t].source, 0);
        EXPECT_LT(table.taps[t].source, from);
        sum += table.taps[t].weight;
      }
      EXPECT_NEAR(sum, 1.0, 1e-5) << from << "->" << to << " output " << d;
    }
  }
}
