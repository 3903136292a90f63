// Image metrics of the quality gate. Sharpness, noise and motion are measured on frames resampled to a
// fixed size over the sector's square crop (resolution independent, and cheap: 112 x 112 instead of the
// full frame); gain and contrast on the original pixels of a few evenly spaced frames (a 2-px grid), whose
// histogram is what the thresholds talk about.
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "echo/quality.hpp"

namespace echo {
namespace {

constexpr int kMotionSize = 56;   // motion is estimated at half the metric size ...
constexpr int kMotionDft = 64;    // ... zero-padded to a fast DFT size

std::vector<int> evenly_spaced(int count, int max_count) {
  const int n = std::max(0, std::min(count, max_count));
  std::vector<int> indices;
  for (int k = 0; k < n; ++k) {
    indices.push_back(n == 1 ? 0 : static_cast<int>(std::lround(static_cast<double>(k) * (count - 1) / (n - 1))));
  }
  return indices;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  const std::size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle), values.end());
  double result = values[middle];
  if (values.size() % 2 == 0) {
    result = 0.5 * (result + *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle)));
  }
  return result;
}

// Metric-size grey frames (0..255 floats) of the measured frames and the sector coverage at that size.
struct MetricFrames {
  int size = 0;
  std::vector<int> indices;
  std::vector<cv::Mat> frames;   // CV_32F, size x size
  cv::Mat inside;                // CV_8U: 255 where the 3x3 neighbourhood lies fully inside the sector
  cv::Mat coverage;              // CV_32F 0..1: fraction of each pixel inside the sector
};

MetricFrames metric_frames(const QualityFrames& frames, const Preprocessed& pre, const QualityOptions& options) {
  MetricFrames metric;
  metric.size = std::max(8, options.metric_size);
  metric.indices = quality_metric_frames(frames.frame_count, options);
  const bool from_model_input = !frames.metric_model_input.empty();
  ModelInputSpec unit_spec;
  unit_spec.input_size = metric.size;
  const ModelMapping mapping = from_model_input ? pre.mapping : make_model_mapping(pre.sector, unit_spec);
  const float scale = from_model_input ? 255.0f * pre.spec.std : 255.0f;
  const float offset = from_model_input ? 255.0f * pre.spec.mean : 0.0f;
  for (std::size_t k = 0; k < metric.indices.size(); ++k) {
    cv::Mat frame(metric.size, metric.size, CV_32F);
    if (from_model_input) {
      const cv::Mat model(metric.size, metric.size, CV_32F, const_cast<float*>(frames.metric_model_input[k]));
      model.convertTo(frame, CV_32F, scale, offset);
    } else {
      preprocess_frame(frames.metric_luma[k], pre.sector.mask.height, pre.sector.mask.width, pre.sector, mapping,
                       unit_spec, frame.ptr<float>());
      frame *= 255.0f;
    }
    metric.frames.push_back(frame);
  }
  metric.coverage = cv::Mat(metric.size, metric.size, CV_32F);
  preprocess_frame(pre.sector.mask.pixels.data(), pre.sector.mask.height, pre.sector.mask.width, pre.sector, mapping,
                   unit_spec, metric.coverage.ptr<float>());
  cv::Mat full = metric.coverage > 0.999f;
  cv::erode(full, metric.inside, cv::Mat(), cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  return metric;
}

struct FrameStats {
  double sharpness = 0.0, mean_level = 0.0, level_variance = 0.0, noise_sigma = 0.0;
};

// Variance of the 4-neighbour Laplacian and Immerkaer's noise estimate over the interior pixels.
FrameStats frame_stats(const cv::Mat& frame, const cv::Mat& inside) {
  FrameStats stats;
  double lap_sum = 0.0, lap_sq = 0.0, level_sum = 0.0, level_sq = 0.0, noise_abs = 0.0;
  long long count = 0;
  for (int y = 1; y + 1 < frame.rows; ++y) {
    const float* up = frame.ptr<float>(y - 1);
    const float* row = frame.ptr<float>(y);
    const float* down = frame.ptr<float>(y + 1);
    const std::uint8_t* in = inside.ptr<std::uint8_t>(y);
    for (int x = 1; x + 1 < frame.cols; ++x) {
      if (in[x] == 0) continue;
      const double laplacian = up[x] + down[x] + row[x - 1] + row[x + 1] - 4.0 * row[x];
      // Immerkaer's mask (1 -2 1 / -2 4 -2 / 1 -2 1): the difference of two Laplacians, blind to edges.
      const double noise = (up[x - 1] + up[x + 1] + down[x - 1] + down[x + 1]) -
                           2.0 * (up[x] + down[x] + row[x - 1] + row[x + 1]) + 4.0 * row[x];
      lap_sum += laplacian;
      lap_sq += laplacian * laplacian;
      level_sum += row[x];
      level_sq += static_cast<double>(row[x]) * row[x];
      noise_abs += std::abs(noise);
      ++count;
    }
  }
  if (count == 0) return stats;
  const double n = static_cast<double>(count);
  stats.sharpness = std::max(0.0, lap_sq / n - (lap_sum / n) * (lap_sum / n));
  stats.mean_level = level_sum / n;
  stats.level_variance = std::max(0.0, level_sq / n - stats.mean_level * stats.mean_level);
  stats.noise_sigma = std::sqrt(M_PI / 2.0) * noise_abs / (6.0 * n);
  return stats;
}

// Phase correlation between consecutive measured frames at kMotionSize, inside a soft window made from the
// sector so that its static edge does not pin the peak at zero. Consecutive frames (not the first frame):
// probe motion is a jump between frames, while breathing and the beating heart move slowly and locally.
class MotionEstimator {
 public:
  explicit MotionEstimator(const cv::Mat& inside) {
    cv::Mat small;
    cv::resize(inside, small, cv::Size(kMotionSize, kMotionSize), 0, 0, cv::INTER_AREA);
    small.convertTo(window_, CV_32F, 1.0 / 255.0);
    cv::erode(window_, window_, cv::Mat(), cv::Point(-1, -1), 2);
    cv::GaussianBlur(window_, window_, cv::Size(0, 0), 2.5);
    window_sum_ = cv::sum(window_)[0];
  }

  // Displacement (metric pixels) of `frame` relative to the previous frame given (0 for the first).
  double displacement(const cv::Mat& frame, int metric_size) {
    if (window_sum_ < 1.0) return 0.0;
    cv::Mat small;
    cv::resize(frame, small, cv::Size(kMotionSize, kMotionSize), 0, 0, cv::INTER_AREA);
    const double mean = cv::sum(small.mul(window_))[0] / window_sum_;
    cv::Mat padded = cv::Mat::zeros(kMotionDft, kMotionDft, CV_32F);
    cv::Mat centred = (small - mean).mul(window_);
    centred.copyTo(padded(cv::Rect(0, 0, kMotionSize, kMotionSize)));
    cv::Mat spectrum;
    cv::dft(padded, spectrum, cv::DFT_COMPLEX_OUTPUT);
    if (previous_.empty()) {
      previous_ = spectrum;
      return 0.0;
    }
    cv::Mat cross;
    cv::mulSpectrums(previous_, spectrum, cross, 0, true);
    previous_ = spectrum;
    std::vector<cv::Mat> parts;
    cv::split(cross, parts);
    cv::Mat magnitude;
    cv::magnitude(parts[0], parts[1], magnitude);
    magnitude += 1e-3f;
    parts[0] /= magnitude;
    parts[1] /= magnitude;
    cv::merge(parts, cross);
    cv::Mat correlation;
    cv::idft(cross, correlation, cv::DFT_REAL_OUTPUT | cv::DFT_SCALE);
    cv::Point peak;
    cv::minMaxLoc(correlation, nullptr, nullptr, nullptr, &peak);
    // Centroid of the 3x3 neighbourhood of the peak (wrapping) for sub-pixel precision.
    double sx = 0, sy = 0, sw = 0;
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        const int yy = (peak.y + dy + kMotionDft) % kMotionDft, xx = (peak.x + dx + kMotionDft) % kMotionDft;
        const double w = std::max(0.0f, correlation.at<float>(yy, xx));
        sx += w * (peak.x + dx);
        sy += w * (peak.y + dy);
        sw += w;
      }
    }
    double shift_x = sw > 0 ? sx / sw : peak.x, shift_y = sw > 0 ? sy / sw : peak.y;
    if (shift_x > kMotionDft / 2) shift_x -= kMotionDft;
    if (shift_y > kMotionDft / 2) shift_y -= kMotionDft;
    const double to_metric = static_cast<double>(metric_size) / kMotionSize;
    return std::hypot(shift_x, shift_y) * to_metric;
  }

 private:
  cv::Mat window_;
  double window_sum_ = 0.0;
  cv::Mat previous_;
};

// Histogram of the original pixels inside the sector on a 2-px grid of up to 8 evenly spaced frames.
void gain_statistics(const std::vector<const std::uint8_t*>& gain_luma, const SectorGeometry& sector,
                     const QualityOptions& options, QualityMetrics& metrics) {
  std::array<long long, 256> histogram{};
  const int rows = sector.mask.height, cols = sector.mask.width;
  for (const std::uint8_t* frame : gain_luma) {
    for (int y = std::max(0, sector.box_y0); y <= std::min(rows - 1, sector.box_y1); y += 2) {
      const std::uint8_t* row = frame + static_cast<std::size_t>(y) * cols;
      const std::uint8_t* mask = sector.mask.pixels.data() + static_cast<std::size_t>(y) * cols;
      for (int x = std::max(0, sector.box_x0); x <= std::min(cols - 1, sector.box_x1); x += 2) {
        if (mask[x] != 0) ++histogram[row[x]];
      }
    }
  }
  long long total = 0;
  double level_sum = 0.0;
  for (int v = 0; v < 256; ++v) {
    total += histogram[v];
    level_sum += static_cast<double>(v) * histogram[v];
  }
  if (total == 0) return;
  const double n = static_cast<double>(total);
  metrics.mean_level = level_sum / n;
  long long saturated = 0, dark = 0, cumulative = 0;
  int p5 = -1, p95 = -1;
  for (int v = 0; v < 256; ++v) {
    if (v >= options.saturated_level) saturated += histogram[v];
    if (v <= options.dark_level) dark += histogram[v];
    cumulative += histogram[v];
    if (p5 < 0 && cumulative >= 0.05 * n) p5 = v;
    if (p95 < 0 && cumulative >= 0.95 * n) p95 = v;
  }
  metrics.saturated_fraction = static_cast<double>(saturated) / n;
  metrics.dark_fraction = static_cast<double>(dark) / n;
  metrics.p5_level = p5;
  metrics.p95_level = p95;
  metrics.contrast_ratio = (p95 + p5) > 0 ? static_cast<double>(p95 - p5) / (p95 + p5) : 0.0;
}

// The frames measured are consistent with `pre` and the cine's geometry (else nothing is measured).
bool frames_fit(const Cine& cine, const Preprocessed& pre, const QualityFrames& frames, const QualityOptions& options) {
  const std::size_t metric_count = quality_metric_frames(frames.frame_count, options).size();
  const bool metric_ok = frames.metric_model_input.empty()
                             ? frames.metric_luma.size() == metric_count
                             : frames.metric_model_input.size() == metric_count && frames.metric_luma.empty() &&
                                   pre.spec.input_size == std::max(8, options.metric_size);
  return frames.frame_count > 0 && pre.frame_count == frames.frame_count && pre.sector.mask.width == cine.cols &&
         pre.sector.mask.height == cine.rows && frames.gain_luma.size() == quality_gain_frames(frames.frame_count).size() &&
         metric_ok;
}

}  // namespace

std::vector<int> quality_gain_frames(int frame_count) { return evenly_spaced(frame_count, 8); }

std::vector<int> quality_metric_frames(int frame_count, const QualityOptions& options) {
  return evenly_spaced(frame_count, options.max_frames_measured);
}

QualityFrames quality_frames_of(const Cine& cine, const Preprocessed& pre, const QualityOptions& options) {
  QualityFrames frames;
  if (cine.frame_count() <= 0 || pre.frame_count != cine.frame_count()) return frames;
  frames.frame_count = cine.frame_count();
  for (int index : quality_gain_frames(frames.frame_count)) frames.gain_luma.push_back(cine.frame(index));
  const std::size_t model_floats = static_cast<std::size_t>(pre.spec.input_size) * pre.spec.input_size;
  const bool reuse_model_input = pre.spec.input_size == std::max(8, options.metric_size) &&
                                 pre.model_input.size() == static_cast<std::size_t>(pre.frame_count) * model_floats;
  for (int index : quality_metric_frames(frames.frame_count, options)) {
    if (reuse_model_input) frames.metric_model_input.push_back(pre.model_frame(index));
    else frames.metric_luma.push_back(cine.frame(index));
  }
  return frames;
}

QualityMetrics measure_quality(const Cine& cine, const Preprocessed& pre, const QualityOptions& options) {
  QualityMetrics metrics = measure_quality(cine, pre, quality_frames_of(cine, pre, options), options);
  metrics.frame_count = cine.frame_count();
  return metrics;
}

QualityMetrics measure_quality(const Cine& cine, const Preprocessed& pre, const QualityFrames& frames,
                               const QualityOptions& options) {
  QualityMetrics metrics;
  metrics.frame_count = frames.frame_count;
  metrics.fps = cine.fps();
  metrics.duration_ms = cine.duration_ms();
  metrics.doppler_fraction = pre.color.doppler_fraction_in_sector;
  metrics.sector_fraction = pre.sector.mask_fraction;
  if (!frames_fit(cine, pre, frames, options)) return metrics;
  gain_statistics(frames.gain_luma, pre.sector, options, metrics);

  const MetricFrames metric = metric_frames(frames, pre, options);
  MotionEstimator motion(metric.inside);
  std::vector<double> sharpness, relative_sharpness, noise;
  for (std::size_t k = 0; k < metric.frames.size(); ++k) {
    const FrameStats stats = frame_stats(metric.frames[k], metric.inside);
    FrameQualityMetrics frame;
    frame.frame = metric.indices[k];
    frame.sharpness = stats.sharpness;
    frame.mean_level = stats.mean_level;
    frame.noise_sigma = stats.noise_sigma;
    frame.motion_px = motion.displacement(metric.frames[k], metric.size);
    sharpness.push_back(stats.sharpness);
    frame.relative_sharpness = stats.level_variance > 0 ? stats.sharpness / stats.level_variance : 0.0;
    relative_sharpness.push_back(frame.relative_sharpness);
    noise.push_back(stats.noise_sigma);
    metrics.frames.push_back(frame);
  }
  metrics.frames_measured = static_cast<int>(metrics.frames.size());
  // Largest frame-to-frame jump, after a 3-tap median over time: a single mis-locked correlation peak is
  // an estimation error, probe motion lasts longer than one frame pair.
  for (std::size_t k = 1; k < metrics.frames.size(); ++k) {
    std::vector<double> window;
    for (std::size_t j = std::max<std::size_t>(1, k - 1); j <= std::min(metrics.frames.size() - 1, k + 1); ++j) {
      window.push_back(metrics.frames[j].motion_px);
    }
    metrics.motion_px = std::max(metrics.motion_px, median(window));
  }
  metrics.sharpness = median(sharpness);
  metrics.relative_sharpness = median(relative_sharpness);
  metrics.noise_sigma = median(noise);
  const double range = metrics.p95_level - metrics.p5_level;
  metrics.relative_noise = range > 0 ? metrics.noise_sigma / range : 0.0;
  metrics.motion_fraction = metrics.motion_px / metric.size;
  if (cine.calibration.known() && pre.mapping.crop_side > 0) {
    const double mm_per_metric_px = cine.calibration.mm_per_px_x * pre.mapping.crop_side / metric.size;
    metrics.motion_mm = metrics.motion_px * mm_per_metric_px;
  }
  return metrics;
}

}  // namespace echo
