// The EchoAnalyzer: wires the stages, one plain function after another (docs/architecture.md).
#include <algorithm>
#include <chrono>
#include <cmath>

#include "analyzer/analyzer_internal.hpp"
#include "echo/version.hpp"

namespace echo {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Calibration is good enough for volumes in mL only when it is known and trusted.
std::string volumes_unavailable_reason(const Calibration& calibration) {
  if (!calibration.known()) return "no physical calibration in the source: volumes withheld, EF from relative volumes";
  if (!calibration.trusted) {
    return "calibration not trustworthy (" + calibration.note + "): volumes withheld, EF from relative volumes";
  }
  return "";
}

// EF (and volumes) from the loop's largest and smallest LV when no beat could be delimited.
std::pair<int, int> fill_ef_from_loop_extremes(const LoopExtremes& extremes, bool volumes_ok, AnalysisResult& result) {
  result.ef_percent = extremes.ef_percent;
  result.ef_basis = "loop_extremes";
  if (volumes_ok) {
    result.edv_ml = extremes.edv;
    result.esv_ml = extremes.esv;
  }
  return {extremes.ed_frame, extremes.es_frame};
}

// Beats, EF statistics and volumes from the cardiac stage into the result.
void fill_ef(const CardiacResult& cardiac, const std::vector<double>& frame_times_ms, bool volumes_ok,
             AnalysisResult& result) {
  double edv_sum = 0.0, esv_sum = 0.0;
  int used = 0;
  for (const Beat& beat : cardiac.beats) {
    BeatResult out;
    out.ed_frame = beat.ed_frame;
    out.es_frame = beat.es_frame;
    out.ed_time_ms = frame_times_ms[beat.ed_frame];
    out.es_time_ms = frame_times_ms[beat.es_frame];
    out.ef_percent = beat.ef_percent;
    out.excluded = beat.excluded;
    out.exclusion_reason = beat.exclusion_reason;
    if (volumes_ok) {
      out.edv_ml = beat.edv;
      out.esv_ml = beat.esv;
    }
    if (!beat.excluded) {
      result.ef_per_beat.push_back(beat.ef_percent);
      edv_sum += beat.edv;
      esv_sum += beat.esv;
      ++used;
    }
    result.beats.push_back(out);
  }
  if (used == 0) return;
  result.ef_percent = cardiac.ef_mean;
  result.ef_sd = cardiac.ef_sd;
  result.ef_median = cardiac.ef_median;
  if (volumes_ok) {
    result.edv_ml = edv_sum / used;
    result.esv_ml = esv_sum / used;
  }
}

const Beat* first_used_beat(const CardiacResult& cardiac) {
  for (const Beat& beat : cardiac.beats) {
    if (!beat.excluded) return &beat;
  }
  return nullptr;
}

// The frames shown as ED and ES: the first used beat's, or, when no beat was measured (EF withheld), the
// largest and smallest LV, so that the clinician still sees what the model outlined.
std::pair<int, int> display_keyframes(const CardiacResult& cardiac, const analysis::LvSeries& series) {
  if (const Beat* beat = first_used_beat(cardiac)) return {beat->ed_frame, beat->es_frame};
  if (series.area_mm2.empty()) return {-1, -1};
  const auto [smallest, largest] = std::minmax_element(series.area_mm2.begin(), series.area_mm2.end());
  if (*largest <= 0.0) return {-1, -1};
  return {static_cast<int>(largest - series.area_mm2.begin()), static_cast<int>(smallest - series.area_mm2.begin())};
}

}  // namespace

// Biplane: each view is analysed on its own; the volumes of the first used beat of each view are then
// combined by the biplane method of discs (geometry's long-axis rule), and EF follows from them.
Expected<AnalysisResult> EchoAnalyzer::analyze_biplane(const Cine& a4c, const Cine& a2c) const {
  auto four = analyze(a4c);
  if (!four) return four;
  auto two = analyze(a2c);
  if (!two) return two;
  AnalysisResult result = std::move(*four);
  result.biplane = true;
  if (!two->quality.pass) {
    for (QualityReason reason : two->quality.reasons) {
      reason.message_en = "A2C: " + reason.message_en;
      reason.message_zh = "二腔心: " + reason.message_zh;
      result.quality.reasons.push_back(std::move(reason));
    }
    result.quality.pass = false;
  }
  result.quality.score = std::min(result.quality.score, two->quality.score);
  result.timings.total_ms += two->timings.total_ms;
  // Both views must have a measured beat (the keyframes shown without one are for display only).
  const bool both_measured = result.ef_percent.has_value() && two->ef_percent.has_value() &&
                             result.ed.geometry.valid && result.es.geometry.valid && two->ed.geometry.valid &&
                             two->es.geometry.valid;
  if (!result.quality.pass || !both_measured) {
    result.ef_percent.reset();
    result.ef_sd.reset();
    result.ef_median.reset();
    result.edv_ml.reset();
    result.esv_ml.reset();
    result.ef_per_beat.clear();
    result.classification.reset();
    result.ef_withheld_reason = !result.quality.pass ? "the A4C or the A2C cine did not pass the quality gate"
                                                     : "no complete beat measured in both views";
    return result;
  }
  const double edv = biplane_volume_ml(result.ed.geometry, two->ed.geometry);
  const double esv = biplane_volume_ml(result.es.geometry, two->es.geometry);
  const double ef = edv > 0.0 ? 100.0 * (edv - esv) / edv : 0.0;
  result.ef_percent = ef;
  result.ef_per_beat = {ef};
  result.ef_sd = 0.0;
  result.ef_median = ef;
  result.classification = classify_ef(ef, impl_->options.sex);
  if (result.volumes_unavailable_reason.empty() && two->volumes_unavailable_reason.empty()) {
    result.edv_ml = edv;
    result.esv_ml = esv;
  } else {
    result.edv_ml.reset();
    result.esv_ml.reset();
    if (result.volumes_unavailable_reason.empty()) result.volumes_unavailable_reason = "A2C: " + two->volumes_unavailable_reason;
  }
  return result;
}

ModelInputSpec EchoAnalyzer::Impl::input_spec() const {
  ModelInputSpec spec;
  spec.input_size = model->manifest().input_size;
  spec.mean = model->manifest().input_mean;
  spec.std = model->manifest().input_std;
  return spec;
}

EchoAnalyzer::EchoAnalyzer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EchoAnalyzer::~EchoAnalyzer() = default;

Expected<std::unique_ptr<EchoAnalyzer>> EchoAnalyzer::create(const AnalyzerOptions& options) {
  if (options.stream_batch_frames < 1 || options.stream_batch_frames > 1024) {
    return make_error(ErrorCode::invalid_argument, "AnalyzerOptions::stream_batch_frames " +
                                                       std::to_string(options.stream_batch_frames) + " outside [1, 1024]");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const Precision wanted = options.engine.precision == Precision::auto_select ? Precision::int8 : options.engine.precision;
  const std::string model_path = options.model_path.empty() ? default_model_path(wanted) : options.model_path;
  auto model = SegmentationModel::load(model_path, options.engine);
  if (!model) return tl::unexpected(model.error());
  impl->model = *model;
  if (options.enable_vlm) {
    const std::string vlm_path = options.vlm_model_path.empty() ? default_vlm_model_path() : options.vlm_model_path;
    auto vlm = VlmModel::load(vlm_path, options.vlm);
    if (!vlm) return tl::unexpected(vlm.error());
    impl->vlm = *vlm;
  }
  return std::unique_ptr<EchoAnalyzer>(new EchoAnalyzer(std::move(impl)));
}

const AnalyzerOptions& EchoAnalyzer::options() const { return impl_->options; }

ModelInfo EchoAnalyzer::model_info() const {
  const ModelManifest& manifest = impl_->model->manifest();
  ModelInfo info;
  info.name = manifest.name;
  info.version = manifest.version;
  info.weights_sha256 = manifest.weights_sha256;
  info.precision = precision_name(impl_->model->precision());
  info.device = impl_->model->device() == Device::cuda ? "cuda" : "cpu";
  info.validated_on_real_patients = manifest.validated_on_real_patients;
  return info;
}

namespace {

// Opens a frame source, analyses it, and counts the opening as decode time.
template <typename Open>
Expected<AnalysisResult> analyze_opened(const EchoAnalyzer& analyzer, Open open) {
  const auto start = Clock::now();
  auto source = open();
  if (!source) return tl::unexpected(source.error());
  const double open_ms = ms_since(start);
  auto result = analyzer.analyze(**source);
  if (result) {
    result->timings.decode_ms += open_ms;
    result->timings.total_ms += open_ms;
  }
  return result;
}

}  // namespace

Expected<AnalysisResult> EchoAnalyzer::analyze_file(const std::string& path) const {
  return analyze_opened(*this, [&] { return open_frame_source(path, impl_->options.read); });
}

Expected<AnalysisResult> EchoAnalyzer::analyze_buffer(const void* data, std::size_t size) const {
  return analyze_opened(*this, [&] { return open_dicom_buffer_source(data, size, impl_->options.read); });
}

Expected<AnalysisResult> EchoAnalyzer::analyze(const Cine& cine) const {
  if (cine.frame_bytes() > 0 && cine.gray.size() % cine.frame_bytes() != 0) {
    return make_error(ErrorCode::invalid_argument,
                      "analyze: " + std::to_string(cine.gray.size()) + " pixel bytes is not a whole number of " +
                          std::to_string(cine.cols) + "x" + std::to_string(cine.rows) + " frames");
  }
  return analyze(*frame_source_of(cine));
}

Expected<AnalysisResult> EchoAnalyzer::analyze(const FrameSource& source) const {
  const auto start = Clock::now();
  const Cine& cine = source.header();  // times, calibration and metadata; the pixels stream
  if (source.frame_count() <= 0 || cine.frame_times_ms.size() != static_cast<std::size_t>(source.frame_count())) {
    return make_error(ErrorCode::invalid_argument,
                      "analyze: the cine has no frames or its frame times do not match its frame count");
  }
  const AnalyzerOptions& options = impl_->options;
  AnalysisResult result;
  result.sdk_version = sdk_version();
  result.model = model_info();
  result.frame_count = source.frame_count();
  result.rows = cine.rows;
  result.cols = cine.cols;
  result.frame_times_ms = cine.frame_times_ms;

  auto streamed = analysis::stream_frames(source, *impl_->model, impl_->input_spec(), options, impl_->vlm != nullptr);
  if (!streamed) return tl::unexpected(streamed.error());
  const Preprocessed* pre = &streamed->pre;
  const analysis::LvSeries& series = streamed->series;
  result.timings.preprocess_ms = streamed->preprocess_ms;
  result.timings.inference_ms = streamed->inference_ms;

  auto stage_start = Clock::now();
  const std::vector<std::string>& labels = impl_->model->manifest().view_labels;
  result.lv_area_mm2 = series.area_mm2;
  result.lv_volume_ml = series.volume_ml;
  if (options.keep_frame_contours) {
    for (const LvGeometry& g : series.geometry)
      result.frame_contours_px.push_back(g.valid ? analysis::to_original_pixels(g, pre->mapping).contour_px : Contour{});
  }
  std::tie(result.view, result.view_confidence) = analysis::dominant_view(series.view_mean, labels);
  result.timings.geometry_ms = streamed->geometry_ms + ms_since(stage_start);

  stage_start = Clock::now();
  const CardiacResult cardiac =
      analyze_volume_curve(series.volume_ml, cine.frame_times_ms, cine.metadata.r_wave_times_ms, options.cardiac);
  result.heart_rate_bpm = cardiac.heart_rate_bpm;
  result.heart_rate_source = cardiac.period_source;
  result.timings.cardiac_ms = ms_since(stage_start);

  stage_start = Clock::now();
  result.quality = assess_quality(cine, *pre, streamed->quality_frames(), options.quality,
                                  analysis::lv_evidence(series, cardiac, *pre, labels, cine.calibration.trusted));
  result.timings.quality_ms = ms_since(stage_start);

  result.volumes_unavailable_reason = volumes_unavailable_reason(cine.calibration);
  const bool volumes_ok = result.volumes_unavailable_reason.empty();
  std::pair<int, int> extremes{-1, -1};  // the frames of an EF from loop extremes
  if (!result.quality.pass) {
    result.ef_withheld_reason = "the image did not pass the quality gate";
  } else if (!cardiac.ok) {
    if (const auto loop = loop_extremes(cardiac, cine.frame_times_ms)) extremes = fill_ef_from_loop_extremes(*loop, volumes_ok, result);
    else result.ef_withheld_reason = cardiac.reason;
  } else {
    fill_ef(cardiac, cine.frame_times_ms, volumes_ok, result);
    if (!result.ef_percent) result.ef_withheld_reason = "every beat was excluded";
  }
  if (result.ef_percent) result.classification = classify_ef(*result.ef_percent, options.sex);
  const auto [ed_frame, es_frame] = extremes.first >= 0 ? extremes : display_keyframes(cardiac, series);
  if (ed_frame >= 0) {
    result.ed = {ed_frame, analysis::to_original_pixels(series.geometry[ed_frame], pre->mapping)};
    result.es = {es_frame, analysis::to_original_pixels(series.geometry[es_frame], pre->mapping)};
  }

  if (impl_->vlm) {
    stage_start = Clock::now();
    const int ed = ed_frame >= 0 ? ed_frame : 0;
    const int es = es_frame >= 0 ? es_frame : pre->frame_count - 1;
    auto answer = vlm_answer_for_beat(*impl_->vlm, *pre, ed, es, options.vlm);
    if (!answer) return tl::unexpected(answer.error());
    result.vlm = *answer;
    result.vlm_check = cross_check(*answer, result.ef_percent, options.vlm_tolerance_points);
    if (options.lead_with_vlm && answer->ef_percent) {
      result.ef_percent = answer->ef_percent;
      result.ef_source = "vlm";
      result.classification = classify_ef(*answer->ef_percent, options.sex);
    }
    result.timings.vlm_ms = ms_since(stage_start);
  }
  result.timings.total_ms = ms_since(start);
  return result;
}

}  // namespace echo
