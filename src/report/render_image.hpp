// Private to src/report: an OpenCV BGR canvas as the public ImageRgb8 (every picture of the report stage).
#pragma once
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "echo/image.hpp"

namespace echo::report_detail {

inline ImageRgb8 from_bgr(const cv::Mat& bgr) {
  ImageRgb8 image;
  image.width = bgr.cols;
  image.height = bgr.rows;
  image.pixels.resize(static_cast<std::size_t>(bgr.cols) * bgr.rows * 3);
  cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, image.pixels.data());
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return image;
}

}  // namespace echo::report_detail
