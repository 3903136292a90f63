// Agreement plots of `echoa validate`: Bland-Altman (difference against mean) and measured against reference.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

#include "echo/report.hpp"
#include "render_image.hpp"

namespace echo {
namespace {

const cv::Scalar kInk(40, 40, 40), kGrid(225, 225, 225), kPoint(200, 110, 30), kBias(180, 60, 20),
    kLimit(40, 40, 200), kIdentity(120, 120, 120);
constexpr int kLeft = 80, kRight = 30, kTop = 50, kBottom = 70;

struct Range {
  double lo = 0.0, hi = 1.0;
};

// A step of 1, 2 or 5 times a power of ten giving about `ticks` intervals over the range.
double nice_step(double span, int ticks) {
  const double raw = span / ticks;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10.0 * power;
}

Range padded(double lo, double hi) {
  if (hi - lo < 1e-9) {
    lo -= 5.0;
    hi += 5.0;
  }
  const double pad = 0.08 * (hi - lo);
  return {lo - pad, hi + pad};
}

std::string label(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, std::fabs(value - std::round(value)) < 1e-9 ? "%.0f" : "%.1f", value);
  return buffer;
}

// Data-to-pixel mapping of one plot area, with its axes drawn.
class Axes {
 public:
  Axes(cv::Mat& canvas, Range x, Range y) : canvas_(canvas), x_(x), y_(y) {}

  cv::Point at(double x, double y) const {
    const double w = canvas_.cols - kLeft - kRight, h = canvas_.rows - kTop - kBottom;
    return {static_cast<int>(std::lround(kLeft + (x - x_.lo) / (x_.hi - x_.lo) * w)),
            static_cast<int>(std::lround(kTop + (y_.hi - y) / (y_.hi - y_.lo) * h))};
  }

  void draw(const std::string& x_title, const std::string& y_title, const std::string& title) const {
    const double sx = nice_step(x_.hi - x_.lo, 6), sy = nice_step(y_.hi - y_.lo, 6);
    for (double x = std::ceil(x_.lo / sx) * sx; x <= x_.hi; x += sx) {
      cv::line(canvas_, at(x, y_.lo), at(x, y_.hi), kGrid, 1);
      put(label(x), at(x, y_.lo) + cv::Point(-10, 20));
    }
    for (double y = std::ceil(y_.lo / sy) * sy; y <= y_.hi; y += sy) {
      cv::line(canvas_, at(x_.lo, y), at(x_.hi, y), kGrid, 1);
      put(label(y), at(x_.lo, y) + cv::Point(-45, 5));
    }
    cv::rectangle(canvas_, at(x_.lo, y_.hi), at(x_.hi, y_.lo), kInk, 1);
    put(x_title, {canvas_.cols / 2 - 8 * static_cast<int>(x_title.size()) / 2, canvas_.rows - 22});
    put(y_title, {8, kTop - 12});
    put(title, {kLeft, 24}, 0.6);
  }

  void put(const std::string& text, cv::Point where, double scale = 0.45) const {
    cv::putText(canvas_, text, where, cv::FONT_HERSHEY_SIMPLEX, scale, kInk, 1, cv::LINE_AA);
  }

  // A horizontal line across the plot, dashed when asked, labelled at its right end.
  void hline(double y, const cv::Scalar& colour, bool dashed, const std::string& text) const {
    const cv::Point a = at(x_.lo, y), b = at(x_.hi, y);
    for (int x = a.x; x < b.x; x += dashed ? 12 : b.x - a.x) {
      cv::line(canvas_, {x, a.y}, {std::min(b.x, x + (dashed ? 7 : b.x - a.x)), a.y}, colour, 2, cv::LINE_AA);
    }
    cv::putText(canvas_, text, b + cv::Point(-150, -6), cv::FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv::LINE_AA);
  }

  void point(double x, double y) const { cv::circle(canvas_, at(x, y), 4, kPoint, cv::FILLED, cv::LINE_AA); }

 private:
  cv::Mat& canvas_;
  Range x_, y_;
};

Expected<void> check_pairs(const std::vector<double>& reference, const std::vector<double>& measured, int width,
                           int height, const char* what) {
  if (reference.empty() || reference.size() != measured.size()) {
    return make_error(ErrorCode::invalid_argument, std::string(what) + ": needs one or more (reference, measured) pairs");
  }
  if (width < 200 || height < 200 || width > 4000 || height > 4000) {
    return make_error(ErrorCode::invalid_argument, std::string(what) + ": size must be 200..4000 pixels a side");
  }
  for (std::size_t i = 0; i < reference.size(); ++i) {
    if (!std::isfinite(reference[i]) || !std::isfinite(measured[i])) {
      return make_error(ErrorCode::invalid_argument, std::string(what) + ": a value is not finite");
    }
  }
  return {};
}

std::string fixed(const char* pattern, double value) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

}  // namespace

Expected<ImageRgb8> render_bland_altman(const std::vector<double>& reference, const std::vector<double>& measured,
                                        const AgreementLines& lines, const std::string& quantity, int width,
                                        int height) {
  if (auto ok = check_pairs(reference, measured, width, height, "Bland-Altman plot"); !ok) return tl::unexpected(ok.error());
  std::vector<double> mean(reference.size()), diff(reference.size());
  for (std::size_t i = 0; i < reference.size(); ++i) {
    mean[i] = 0.5 * (reference[i] + measured[i]);
    diff[i] = measured[i] - reference[i];
  }
  double ylo = std::min({*std::min_element(diff.begin(), diff.end()), 0.0, lines.loa_low.value_or(lines.bias)});
  double yhi = std::max({*std::max_element(diff.begin(), diff.end()), 0.0, lines.loa_high.value_or(lines.bias)});
  cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const Axes axes(canvas, padded(*std::min_element(mean.begin(), mean.end()), *std::max_element(mean.begin(), mean.end())),
                  padded(ylo, yhi));
  axes.draw("mean of ours and reference, " + quantity, "ours - reference", "Bland-Altman, n = " + std::to_string(diff.size()));
  axes.hline(0.0, kIdentity, false, "");
  axes.hline(lines.bias, kBias, false, "bias " + fixed("%+.2f", lines.bias));
  if (lines.loa_low && lines.loa_high) {
    axes.hline(*lines.loa_high, kLimit, true, "+1.96 SD " + fixed("%+.2f", *lines.loa_high));
    axes.hline(*lines.loa_low, kLimit, true, "-1.96 SD " + fixed("%+.2f", *lines.loa_low));
  }
  for (std::size_t i = 0; i < diff.size(); ++i) axes.point(mean[i], diff[i]);
  return report_detail::from_bgr(canvas);
}

Expected<ImageRgb8> render_agreement_scatter(const std::vector<double>& reference, const std::vector<double>& measured,
                                             const AgreementLines& lines, const std::string& quantity, int width,
                                             int height) {
  if (auto ok = check_pairs(reference, measured, width, height, "scatter plot"); !ok) return tl::unexpected(ok.error());
  const auto [rlo, rhi] = std::minmax_element(reference.begin(), reference.end());
  const auto [mlo, mhi] = std::minmax_element(measured.begin(), measured.end());
  const Range range = padded(std::min(*rlo, *mlo), std::max(*rhi, *mhi));
  cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const Axes axes(canvas, range, range);
  std::string title = "ours against reference, n = " + std::to_string(reference.size()) + ", MAE " + fixed("%.2f", lines.mae);
  if (lines.pearson_r) title += ", r " + fixed("%.3f", *lines.pearson_r);
  axes.draw("reference " + quantity, "ours " + quantity, title);
  cv::line(canvas, axes.at(range.lo, range.lo), axes.at(range.hi, range.hi), kIdentity, 1, cv::LINE_AA);
  for (std::size_t i = 0; i < reference.size(); ++i) axes.point(reference[i], measured[i]);
  return report_detail::from_bgr(canvas);
}

}  // namespace echo
