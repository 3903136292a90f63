// The quality gate: turns the metrics and the LV evidence into pass / fail, a score and reasons.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include "echo/quality.hpp"

namespace echo {
namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

// Score of one check: 0.5 at the threshold, 1 at 50% headroom or more, 0 at 50% beyond it.
double score_at_least(double value, double threshold) {
  if (threshold <= 0) return 1.0;
  return std::clamp(0.5 + (value - threshold) / threshold, 0.0, 1.0);
}
double score_at_most(double value, double threshold) {
  if (threshold <= 0) return value <= 0 ? 1.0 : 0.0;
  return std::clamp(0.5 + (threshold - value) / threshold, 0.0, 1.0);
}

class Gate {
 public:
  explicit Gate(QualityReport& report) : report_(report) {}

  // A check whose measured value must stay >= threshold (at_least) or <= threshold.
  // Each returns true when the check failed (a reason was added).
  bool at_least(QualityCode code, Severity severity, double value, double threshold, const char* what_en,
                const char* what_zh, const char* measure_en, const char* measure_zh) {
    const double check_score = score_at_least(value, threshold);
    note_score(severity, check_score);
    if (value >= threshold) return false;
    add(code, severity, value, threshold, what_en, what_zh, measure_en, measure_zh, "<");
    return true;
  }
  bool at_most(QualityCode code, Severity severity, double value, double threshold, const char* what_en,
               const char* what_zh, const char* measure_en, const char* measure_zh) {
    const double check_score = score_at_most(value, threshold);
    note_score(severity, check_score);
    if (value <= threshold) return false;
    add(code, severity, value, threshold, what_en, what_zh, measure_en, measure_zh, ">");
    return true;
  }
  void fail(QualityCode code, Severity severity, double value, double threshold, std::string en, std::string zh) {
    if (severity == Severity::reject) score_ = std::min(score_, 0.0);
    push(code, severity, value, threshold, std::move(en), std::move(zh));
  }
  void not_assessed(QualityCode code) {
    const std::string name = quality_code_name(code);
    if (std::find(report_.not_assessed.begin(), report_.not_assessed.end(), name) == report_.not_assessed.end()) {
      report_.not_assessed.push_back(name);
    }
  }
  void finish() {
    std::stable_sort(report_.reasons.begin(), report_.reasons.end(),
                     [](const QualityReason& a, const QualityReason& b) { return a.severity > b.severity; });
    report_.pass = std::none_of(report_.reasons.begin(), report_.reasons.end(),
                                [](const QualityReason& r) { return r.severity == Severity::reject; });
    report_.score = report_.pass ? std::max(0.5, score_) : std::min(score_, 0.49);
  }

 private:
  void note_score(Severity severity, double check_score) {
    if (severity == Severity::reject) score_ = std::min(score_, check_score);
  }
  void add(QualityCode code, Severity severity, double value, double threshold, const char* what_en,
           const char* what_zh, const char* measure_en, const char* measure_zh, const char* relation) {
    push(code, severity, value, threshold,
         std::string(what_en) + " (" + measure_en + " " + number(value) + " " + relation + " " + number(threshold) + ")",
         std::string(what_zh) + " (" + measure_zh + " " + number(value) + " " + relation + " " + number(threshold) + ")");
  }
  void push(QualityCode code, Severity severity, double value, double threshold, std::string en, std::string zh) {
    QualityReason reason;
    reason.code = code;
    reason.code_name = quality_code_name(code);
    reason.severity = severity;
    reason.value = value;
    reason.threshold = threshold;
    reason.message_en = std::move(en);
    reason.message_zh = std::move(zh);
    report_.reasons.push_back(std::move(reason));
  }

  QualityReport& report_;
  double score_ = 1.0;
};

void check_timing(const QualityMetrics& m, const Cine& cine, const QualityOptions& o, const LvEvidence& lv, Gate& gate,
                  QualityMetrics& out) {
  gate.at_least(QualityCode::too_few_frames, Severity::reject, m.frame_count, o.min_frames, "too few frames",
                "帧数过少", "frames", "帧数");
  if (m.fps > 0) {
    gate.at_least(QualityCode::low_frame_rate, Severity::reject, m.fps, o.min_fps, "frame rate too low",
                  "帧率过低", "frames/s", "帧/秒");
  } else {
    gate.not_assessed(QualityCode::low_frame_rate);
  }
  // Heart period: the LV curve first (what the model saw), then the file's heart rate, then its R waves.
  if (lv.estimated_period_ms && *lv.estimated_period_ms > 0) {
    out.period_ms = *lv.estimated_period_ms;
    out.period_source = "lv_curve";
  } else if (cine.metadata.heart_rate_bpm > 0) {
    out.period_ms = 60000.0 / cine.metadata.heart_rate_bpm;
    out.period_source = "dicom_heart_rate";
  } else if (cine.metadata.r_wave_times_ms.size() >= 2) {
    const auto& r = cine.metadata.r_wave_times_ms;
    out.period_ms = (r.back() - r.front()) / static_cast<double>(r.size() - 1);
    out.period_source = "r_waves";
  }
  if (out.period_ms > 0 && m.duration_ms > 0) {
    out.beats = m.duration_ms / out.period_ms;
    gate.at_least(QualityCode::no_full_beat, Severity::reject, out.beats, o.min_beats,
                  "no complete heartbeat in the cine", "未包含完整心动周期", "beats", "心动周期数");
  } else {
    gate.not_assessed(QualityCode::no_full_beat);
  }
}

void check_image(const QualityMetrics& m, const QualityOptions& o, Gate& gate) {
  // One reason per code: the first measure that fails is the one reported.
  if (!gate.at_least(QualityCode::blurred, Severity::reject, m.relative_sharpness, o.min_relative_sharpness,
                     "image blurred", "图像模糊", "relative sharpness", "相对清晰度")) {
    gate.at_least(QualityCode::blurred, Severity::reject, m.sharpness, o.min_sharpness, "image blurred", "图像模糊",
                  "sharpness", "清晰度");
  }
  if (!gate.at_most(QualityCode::overgain, Severity::reject, m.mean_level, o.max_mean_level, "over-gain",
                    "增益过高", "mean grey level", "平均灰度") &&
      !gate.at_most(QualityCode::overgain, Severity::reject, m.saturated_fraction, o.max_saturated_fraction,
                    "over-gain", "增益过高", "saturated fraction", "饱和像素比例") &&
      m.p5_level >= o.min_p5_level_for_overgain) {
    gate.at_most(QualityCode::overgain, Severity::reject, m.p95_level, o.max_p95_level, "over-gain", "增益过高",
                 "95th percentile grey level", "95百分位灰度");
  }
  const bool undergain =
      gate.at_least(QualityCode::undergain, Severity::reject, m.mean_level, o.min_mean_level, "under-gain",
                    "增益过低", "mean grey level", "平均灰度") ||
      gate.at_most(QualityCode::undergain, Severity::reject, m.dark_fraction, o.max_dark_fraction, "under-gain",
                   "增益过低", "dark fraction", "暗像素比例") ||
      gate.at_least(QualityCode::undergain, Severity::reject, m.p95_level, o.min_p95_level, "under-gain",
                    "增益过低", "95th percentile grey level", "95百分位灰度");
  // In a nearly black image the percentiles sit at 0 and say nothing about contrast.
  if (!undergain) {
    gate.at_least(QualityCode::low_contrast, Severity::reject, m.contrast_ratio, o.min_contrast_ratio,
                  "low contrast", "对比度过低", "contrast ratio", "对比度");
  }
  gate.at_most(QualityCode::noisy, Severity::warning, m.relative_noise, o.max_relative_noise, "image noisy",
               "图像噪声过大", "relative noise", "相对噪声");
  if (m.frames_measured >= 2) {
    gate.at_most(QualityCode::probe_motion, Severity::reject, m.motion_fraction, o.max_motion_fraction,
                 "probe motion", "探头移动", "displacement / sector size", "位移/扇区大小");
  } else {
    gate.not_assessed(QualityCode::probe_motion);
  }
}

void check_lv(const Preprocessed& pre, const Cine& cine, const QualityOptions& o,
              const LvEvidence& lv, Gate& gate) {
  if (lv.view) {
    const bool apical = *lv.view == "a4c" || *lv.view == "a2c";
    const double confidence = lv.view_confidence.value_or(1.0);
    if (!apical && confidence >= o.min_view_confidence) {
      gate.fail(QualityCode::non_apical_view, Severity::reject, confidence, o.min_view_confidence,
                "non-standard view: '" + *lv.view + "', apical 4- or 2-chamber needed",
                "切面不标准: '" + *lv.view + "', 需要心尖四腔或两腔切面");
    } else if (confidence < o.min_view_confidence) {
      gate.fail(QualityCode::non_apical_view, Severity::warning, confidence, o.min_view_confidence,
                "view uncertain (confidence " + number(confidence) + " < " + number(o.min_view_confidence) + ")",
                "切面不确定 (置信度 " + number(confidence) + " < " + number(o.min_view_confidence) + ")");
    }
  } else {
    gate.not_assessed(QualityCode::non_apical_view);
  }
  if (lv.lv_touching_sector_edge_fraction) {
    gate.at_most(QualityCode::lv_cut_off, Severity::reject, *lv.lv_touching_sector_edge_fraction,
                 o.max_lv_edge_fraction, "LV cut off by the sector edge", "左心室被扇区边缘截断",
                 "LV border on the edge", "左心室边界在扇区边缘的比例");
  } else {
    gate.not_assessed(QualityCode::lv_cut_off);
  }
  // Foreshortening: the first of these measures that fails is reported.
  bool foreshortening_assessed = false;
  bool foreshortened = false;
  const auto length = lv.lv_long_axis_px ? lv.lv_long_axis_px : lv.lv_long_axis_mm;
  const auto width = lv.lv_long_axis_px ? lv.lv_width_px : lv.lv_width_mm;
  if (length && width && *width > 0) {
    foreshortening_assessed = true;
    foreshortened = gate.at_least(QualityCode::foreshortened, Severity::reject, *length / *width,
                                  o.min_lv_length_width_ratio, "foreshortened LV", "左心室缩短", "long axis / width",
                                  "长轴/宽度");
  }
  // Depth: the fan's radial extent, in the same unit as the long axis.
  const double depth_px = pre.sector.fan ? pre.sector.radius_px - pre.sector.start_radius_px : 0.0;
  double length_depth_fraction = 0.0;
  if (depth_px > 0 && lv.lv_long_axis_px) {
    length_depth_fraction = *lv.lv_long_axis_px / depth_px;
  } else if (depth_px > 0 && lv.lv_long_axis_mm && cine.calibration.known()) {
    length_depth_fraction = *lv.lv_long_axis_mm / (depth_px * cine.calibration.mm_per_px_y);
  }
  if (length_depth_fraction > 0) {
    foreshortening_assessed = true;
    if (!foreshortened) {
      foreshortened = gate.at_least(QualityCode::foreshortened, Severity::reject, length_depth_fraction,
                                    o.min_lv_length_depth_fraction, "foreshortened LV", "左心室缩短",
                                    "long axis / sector depth", "长轴/扇区深度");
    }
  }
  if (lv.lv_long_axis_mm && o.min_lv_length_mm > 0) {
    foreshortening_assessed = true;
    if (!foreshortened) {
      foreshortened = gate.at_least(QualityCode::foreshortened, Severity::reject, *lv.lv_long_axis_mm,
                                    o.min_lv_length_mm, "foreshortened LV", "左心室缩短", "long axis mm",
                                    "长轴(毫米)");
    }
  }
  if (lv.apex_roundness && o.max_apex_roundness > 0) {
    foreshortening_assessed = true;
    if (!foreshortened) {
      gate.at_most(QualityCode::foreshortened, Severity::reject, *lv.apex_roundness, o.max_apex_roundness,
                   "foreshortened LV, rounded apex", "左心室缩短, 心尖圆钝", "apex roundness", "心尖圆钝度");
    }
  }
  if (!foreshortening_assessed) gate.not_assessed(QualityCode::foreshortened);
}

}  // namespace

QualityReport assess_quality(const Cine& cine, const Preprocessed& pre, const QualityOptions& options,
                             const LvEvidence& lv) {
  return assess_quality(cine, pre, quality_frames_of(cine, pre, options), options, lv);
}

QualityReport assess_quality(const Cine& cine, const Preprocessed& pre, const QualityFrames& frames,
                             const QualityOptions& options, const LvEvidence& lv) {
  QualityReport report;
  Gate gate(report);
  try {
    const bool consistent = frames.frame_count > 0 && pre.frame_count == frames.frame_count &&
                            pre.sector.mask.width == cine.cols && pre.sector.mask.height == cine.rows;
    if (!consistent) {
      gate.fail(QualityCode::no_sector, Severity::reject, 0.0, 0.0,
                "no usable image: the preprocessed data does not belong to this cine or the cine is empty",
                "无可用图像: 预处理数据与该影像不符或影像为空");
      gate.finish();
      return report;
    }
    report.metrics = measure_quality(cine, pre, frames, options);
    if (!pre.sector.found) {
      gate.fail(QualityCode::no_sector, Severity::reject, 0.0, 0.0, "no ultrasound sector found in the image",
                "未找到超声扇区");
    }
    if (report.metrics.doppler_fraction >= options.max_doppler_fraction) {
      gate.fail(QualityCode::color_doppler, Severity::reject, report.metrics.doppler_fraction,
                options.max_doppler_fraction,
                "colour Doppler image, B-mode needed (coloured fraction of the sector " +
                    number(report.metrics.doppler_fraction) + ")",
                "彩色多普勒图像, 需要B模式图像 (扇区内彩色比例 " + number(report.metrics.doppler_fraction) + ")");
    }
    check_timing(report.metrics, cine, options, lv, gate, report.metrics);
    check_image(report.metrics, options, gate);
    check_lv(pre, cine, options, lv, gate);
  } catch (const std::exception& error) {
    gate.fail(QualityCode::no_sector, Severity::reject, 0.0, 0.0,
              std::string("quality metrics could not be computed: ") + error.what(), "无法计算图像质量指标");
  }
  gate.finish();
  return report;
}

}  // namespace echo
