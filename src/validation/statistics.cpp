// Agreement statistics of `echoa validate`: MAE, RMSE, Bland-Altman bias and limits, Pearson r,
// sensitivity/specificity below an EF threshold, keyframe offsets.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "echo/validation.hpp"

namespace echo {
namespace {

double mean(const std::vector<double>& v) {
  double sum = 0.0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

// Two-pass sums of squares about the mean (stable for values far from zero, such as EF around 60).
double sum_squares(const std::vector<double>& v, double centre) {
  double sum = 0.0;
  for (double x : v) sum += (x - centre) * (x - centre);
  return sum;
}

std::optional<double> pearson(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 2) return std::nullopt;
  const double ma = mean(a), mb = mean(b);
  double sab = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sab += (a[i] - ma) * (b[i] - mb);
  const double saa = sum_squares(a, ma), sbb = sum_squares(b, mb);
  if (saa <= 0.0 || sbb <= 0.0) return std::nullopt;
  return sab / std::sqrt(saa * sbb);
}

std::optional<double> ratio(int numerator, int denominator) {
  if (denominator <= 0) return std::nullopt;
  return static_cast<double>(numerator) / denominator;
}

}  // namespace

std::optional<Agreement> agreement(const std::vector<double>& measured, const std::vector<double>& reference) {
  const std::size_t n = std::min(measured.size(), reference.size());
  if (n == 0) return std::nullopt;
  std::vector<double> diff(n);
  for (std::size_t i = 0; i < n; ++i) diff[i] = measured[i] - reference[i];
  Agreement a;
  a.n = static_cast<int>(n);
  a.bias = mean(diff);
  double abs_sum = 0.0, sq_sum = 0.0;
  for (double d : diff) {
    abs_sum += std::fabs(d);
    sq_sum += d * d;
  }
  a.mae = abs_sum / n;
  a.rmse = std::sqrt(sq_sum / n);
  if (n >= 2) {
    a.sd = std::sqrt(sum_squares(diff, a.bias) / static_cast<double>(n - 1));
    a.loa_low = a.bias - 1.96 * *a.sd;
    a.loa_high = a.bias + 1.96 * *a.sd;
  }
  a.pearson_r = pearson(std::vector<double>(measured.begin(), measured.begin() + n),
                        std::vector<double>(reference.begin(), reference.begin() + n));
  return a;
}

ThresholdAgreement threshold_agreement(const std::vector<double>& measured, const std::vector<double>& reference,
                                       double threshold) {
  ThresholdAgreement t;
  t.threshold = threshold;
  const std::size_t n = std::min(measured.size(), reference.size());
  for (std::size_t i = 0; i < n; ++i) {
    const bool truth = reference[i] < threshold, called = measured[i] < threshold;
    if (truth) (called ? t.true_positive : t.false_negative)++;
    else (called ? t.false_positive : t.true_negative)++;
  }
  t.sensitivity = ratio(t.true_positive, t.true_positive + t.false_negative);
  t.specificity = ratio(t.true_negative, t.true_negative + t.false_positive);
  return t;
}

std::optional<int> nearest_offset(const std::vector<int>& our_frames, int reference_frame) {
  std::optional<int> best;
  for (int frame : our_frames) {
    const int offset = frame - reference_frame;
    if (!best || std::abs(offset) < std::abs(*best) || (std::abs(offset) == std::abs(*best) && offset < *best)) {
      best = offset;
    }
  }
  return best;
}

OffsetStats offset_stats(const std::vector<std::optional<int>>& offsets) {
  OffsetStats s;
  s.clips = static_cast<int>(offsets.size());
  std::vector<int> magnitudes;
  int within_3 = 0, within_1 = 0;
  for (const auto& offset : offsets) {
    if (!offset) continue;
    const int m = std::abs(*offset);
    magnitudes.push_back(m);
    within_3 += m <= 3;
    within_1 += m <= 1;
  }
  s.measured = static_cast<int>(magnitudes.size());
  if (!magnitudes.empty()) {
    std::sort(magnitudes.begin(), magnitudes.end());
    const std::size_t mid = magnitudes.size() / 2;
    s.median_abs_frames = magnitudes.size() % 2 == 1 ? magnitudes[mid] : 0.5 * (magnitudes[mid - 1] + magnitudes[mid]);
  }
  s.share_within_3 = ratio(within_3, s.clips);
  s.share_within_1 = ratio(within_1, s.clips);
  return s;
}

}  // namespace echo
