// Small echo-like cines built by the tests themselves: a fan of multiplicative speckle over a tissue map
// (myocardium-like bright ring, dark beating cavity), overlays outside the fan, and the degradations the gate
// must catch applied on top.
#pragma once
#include <algorithm>
#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

#include "echo/cine.hpp"
#include "echo/preprocess.hpp"

namespace quality_test {

struct CineSpec {
  int width = 320, height = 240;
  int frames = 40;
  double fps = 50.0;
  double heart_rate_bpm = 75.0;   // 0 = not in the metadata
  unsigned seed = 1;
  double jitter_px = 0.0;  // probe motion: content jumps by up to this many pixels between frames, fan fixed
};

inline echo::Image8 fan_mask(const CineSpec& spec) {
  return echo::render_fan_mask(spec.width, spec.height, {spec.width / 2.0, spec.height * 0.04}, 0,
                               spec.height * 0.92, -0.65, 0.65);
}

// Tissue map and speckle move together; the fan and the overlays stay still.
inline echo::Cine echo_like_cine(const CineSpec& spec) {
  echo::Cine cine;
  cine.cols = spec.width;
  cine.rows = spec.height;
  cine.gray.assign(static_cast<std::size_t>(spec.width) * spec.height * spec.frames, 0);
  cine.metadata.heart_rate_bpm = spec.heart_rate_bpm;
  const echo::Image8 fan = fan_mask(spec);
  const int margin = 40;  // content canvas larger than the frame so shifts never run out of tissue
  const cv::Size canvas(spec.width + 2 * margin, spec.height + 2 * margin);
  std::mt19937 generator(spec.seed);
  std::exponential_distribution<float> rayleigh_power(1.0f);
  cv::Mat speckle(canvas, CV_32F);
  for (int y = 0; y < canvas.height; ++y) {
    for (int x = 0; x < canvas.width; ++x) speckle.at<float>(y, x) = std::sqrt(rayleigh_power(generator));
  }
  const double scale = spec.height / 240.0;
  cv::GaussianBlur(speckle, speckle, cv::Size(0, 0), 1.6 * scale, 0.8 * scale);  // lateral speckle elongation
  // Same speckle contrast at every image size: standardise, then 45% around 1.
  cv::Scalar mean, deviation;
  cv::meanStdDev(speckle, mean, deviation);
  speckle = (speckle - mean[0]) * (0.45 / deviation[0]) + 1.0;
  speckle = cv::max(speckle, 0.0);
  for (int f = 0; f < spec.frames; ++f) {
    const double t_s = f / spec.fps;
    const double phase = spec.heart_rate_bpm > 0 ? 2 * M_PI * t_s * spec.heart_rate_bpm / 60.0 : 0.0;
    const double squeeze = 0.82 + 0.18 * std::cos(phase);  // cavity radius factor
    cv::Mat tissue(canvas, CV_32F, cv::Scalar(55));
    const cv::Point2f centre(static_cast<float>(canvas.width / 2.0), static_cast<float>(margin + spec.height * 0.45));
    const cv::Size2f outer(static_cast<float>(70 * scale), static_cast<float>(110 * scale));
    cv::ellipse(tissue, cv::RotatedRect(centre, outer * 1.0f, 0), cv::Scalar(95), -1, cv::LINE_AA);
    cv::ellipse(tissue, cv::RotatedRect(centre, outer * static_cast<float>(0.75 * squeeze), 0), cv::Scalar(6), -1, cv::LINE_AA);
    cv::ellipse(tissue, cv::RotatedRect(centre + cv::Point2f(0, static_cast<float>(85 * scale)),
                                        cv::Size2f(static_cast<float>(200 * scale), static_cast<float>(25 * scale)), 0),
                cv::Scalar(125), -1, cv::LINE_AA);  // bright pericardium-like band
    cv::Mat image = tissue.mul(speckle);
    // Deterministic pseudo-random jumps in [-jitter, +jitter] on both axes.
    const double shift_x = spec.jitter_px * (static_cast<double>((f * 7919) % 13) / 6.0 - 1.0);
    const double shift_y = spec.jitter_px * (static_cast<double>((f * 104729) % 11) / 5.0 - 1.0);
    const cv::Mat move = (cv::Mat_<double>(2, 3) << 1, 0, shift_x - margin, 0, 1, shift_y - margin);
    cv::Mat frame;
    cv::warpAffine(image, frame, move, cv::Size(spec.width, spec.height), cv::INTER_LINEAR);
    std::uint8_t* out = cine.frame(f);
    for (int y = 0; y < spec.height; ++y) {
      for (int x = 0; x < spec.width; ++x) {
        const std::size_t i = static_cast<std::size_t>(y) * spec.width + x;
        const float v = fan.pixels[i] ? frame.at<float>(y, x) : 0.0f;
        out[i] = static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
        if (x < spec.width / 6 && y < spec.height / 15 && (x / 3 + y) % 4 == 0) out[i] = 220;  // text
      }
    }
    cine.frame_times_ms.push_back(1000.0 * f / spec.fps);
  }
  return cine;
}

// Applies v' = clamp(a * v + b) inside the fan (gain / contrast changes of the scanner).
inline void apply_levels(echo::Cine& cine, const CineSpec& spec, double a, double b) {
  const echo::Image8 fan = fan_mask(spec);
  for (int f = 0; f < cine.frame_count(); ++f) {
    std::uint8_t* frame = cine.frame(f);
    for (std::size_t i = 0; i < cine.frame_bytes(); ++i) {
      if (fan.pixels[i]) frame[i] = static_cast<std::uint8_t>(std::clamp(std::lround(a * frame[i] + b), 0L, 255L));
    }
  }
}

// Gaussian blur of the content inside the fan (a wide point-spread function).
inline void apply_blur(echo::Cine& cine, const CineSpec& spec, double sigma_px) {
  const echo::Image8 fan = fan_mask(spec);
  for (int f = 0; f < cine.frame_count(); ++f) {
    cv::Mat frame(cine.rows, cine.cols, CV_8U, cine.frame(f));
    cv::Mat blurred;
    cv::GaussianBlur(frame, blurred, cv::Size(0, 0), sigma_px);
    const cv::Mat mask(cine.rows, cine.cols, CV_8U, const_cast<std::uint8_t*>(fan.pixels.data()));
    blurred.copyTo(frame, mask);
  }
}

}  // namespace quality_test
