// The C ABI's result accessors, reports and pictures. A result is immutable: every string an accessor
// hands out was built when the result was made, so readers on many threads need no lock.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "echo/report.hpp"
#include "echo_capi_handles.hpp"
#include "echo_capi_internal.hpp"

namespace echo::capi {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Image8 copy_frame(const Cine& cine, int frame) {
  if (frame < 0 || frame >= cine.frame_count()) return {};
  return cine.frame_image(frame);
}

const char* category_code(EfCategory category) {
  switch (category) {
    case EfCategory::normal: return "normal";
    case EfCategory::mildly_reduced: return "mildly_reduced";
    case EfCategory::moderately_reduced: return "moderately_reduced";
    case EfCategory::severely_reduced: return "severely_reduced";
    case EfCategory::hyperdynamic: return "hyperdynamic";
  }
  return "unknown";
}

echo_ef_category category_id(EfCategory category) {
  switch (category) {
    case EfCategory::normal: return ECHO_EF_NORMAL;
    case EfCategory::mildly_reduced: return ECHO_EF_MILDLY_REDUCED;
    case EfCategory::moderately_reduced: return ECHO_EF_MODERATELY_REDUCED;
    case EfCategory::severely_reduced: return ECHO_EF_SEVERELY_REDUCED;
    case EfCategory::hyperdynamic: return ECHO_EF_HYPERDYNAMIC;
  }
  return ECHO_EF_NORMAL;
}

const char* category_label_zh(EfCategory category) {
  switch (category) {
    case EfCategory::normal: return "正常";
    case EfCategory::mildly_reduced: return "轻度减低";
    case EfCategory::moderately_reduced: return "中度减低";
    case EfCategory::severely_reduced: return "重度减低";
    case EfCategory::hyperdynamic: return "高于正常";
  }
  return "";
}

// The quality codes of the C header are the numbers of echo::QualityCode.
static_assert(ECHO_QUALITY_BLURRED == static_cast<int>(QualityCode::blurred));
static_assert(ECHO_QUALITY_OVERGAIN == static_cast<int>(QualityCode::overgain));
static_assert(ECHO_QUALITY_UNDERGAIN == static_cast<int>(QualityCode::undergain));
static_assert(ECHO_QUALITY_LOW_CONTRAST == static_cast<int>(QualityCode::low_contrast));
static_assert(ECHO_QUALITY_NOISY == static_cast<int>(QualityCode::noisy));
static_assert(ECHO_QUALITY_TOO_FEW_FRAMES == static_cast<int>(QualityCode::too_few_frames));
static_assert(ECHO_QUALITY_LOW_FRAME_RATE == static_cast<int>(QualityCode::low_frame_rate));
static_assert(ECHO_QUALITY_NO_FULL_BEAT == static_cast<int>(QualityCode::no_full_beat));
static_assert(ECHO_QUALITY_PROBE_MOTION == static_cast<int>(QualityCode::probe_motion));
static_assert(ECHO_QUALITY_COLOR_DOPPLER == static_cast<int>(QualityCode::color_doppler));
static_assert(ECHO_QUALITY_NON_APICAL_VIEW == static_cast<int>(QualityCode::non_apical_view));
static_assert(ECHO_QUALITY_LV_CUT_OFF == static_cast<int>(QualityCode::lv_cut_off));
static_assert(ECHO_QUALITY_FORESHORTENED == static_cast<int>(QualityCode::foreshortened));
static_assert(ECHO_QUALITY_NO_SECTOR == static_cast<int>(QualityCode::no_sector));
static_assert(ECHO_SEVERITY_INFO == static_cast<int>(Severity::info));
static_assert(ECHO_SEVERITY_WARNING == static_cast<int>(Severity::warning));
static_assert(ECHO_SEVERITY_REJECT == static_cast<int>(Severity::reject));

echo_status check_result(const char* function, const echo_result* result) {
  return result == nullptr ? null_argument(function, "result") : ECHO_OK;
}

template <class V>
echo_status check_out(const char* function, const V* out) {
  return out == nullptr ? null_argument(function, "the out pointer") : ECHO_OK;
}

// A plain accessor: checks the handle and the out pointer, then writes value(*result) through the barrier.
template <class Out, class Value>
echo_status read_value(const char* function, const echo_result* result, Out* out, Value value) noexcept {
  return guarded(function, [&]() -> echo_status {
    if (result == nullptr) return null_argument(function, "result");
    if (out == nullptr) return null_argument(function, "the out pointer");
    *out = static_cast<Out>(value(*result));
    return ECHO_OK;
  });
}

// An optional number: the value, or ECHO_NO_RESULT with why it is absent.
echo_status optional_out(const char* function, const std::optional<double>& value, const std::string& why_absent,
                         double* out) {
  if (out == nullptr) return null_argument(function, "the out pointer");
  if (!value) {
    return fail(ECHO_NO_RESULT, std::string(function) + ": not in this result (" +
                                    (why_absent.empty() ? std::string("not computed") : why_absent) + ")");
  }
  *out = *value;
  return ECHO_OK;
}

Expected<const KeyframeGeometry*> keyframe_of(const char* function, const echo_result& result, echo_keyframe_kind which) {
  if (which != ECHO_KEYFRAME_ED && which != ECHO_KEYFRAME_ES) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(function) + ": keyframe " + std::to_string(which) + " is not an echo_keyframe_kind");
  }
  const KeyframeGeometry& keyframe = which == ECHO_KEYFRAME_ED ? result.result.ed : result.result.es;
  if (keyframe.frame < 0) {
    return make_error(ErrorCode::no_result, std::string(function) + ": no keyframe in this result (no complete beat)");
  }
  return &keyframe;
}

// Even-odd fill of a closed polygon, sampled at pixel centres: row y covers the pixels whose centre x lies
// between two successive crossings of the polygon with the line through the row's centres.
void rasterize_polygon(const Contour& polygon, int width, int height, std::uint8_t* out) {
  std::fill(out, out + static_cast<std::size_t>(width) * height, std::uint8_t{0});
  if (polygon.size() < 3) return;
  std::vector<double> crossings;
  for (int y = 0; y < height; ++y) {
    crossings.clear();
    const double yc = y;
    for (std::size_t i = 0; i < polygon.size(); ++i) {
      const Point2& a = polygon[i];
      const Point2& b = polygon[(i + 1) % polygon.size()];
      if ((a.y <= yc && b.y > yc) || (b.y <= yc && a.y > yc)) {
        crossings.push_back(a.x + (yc - a.y) / (b.y - a.y) * (b.x - a.x));
      }
    }
    std::sort(crossings.begin(), crossings.end());
    for (std::size_t k = 0; k + 1 < crossings.size(); k += 2) {
      const int x0 = std::max(0, static_cast<int>(std::ceil(crossings[k])));
      const int x1 = std::min(width - 1, static_cast<int>(std::floor(crossings[k + 1])));
      for (int x = x0; x <= x1; ++x) out[static_cast<std::size_t>(y) * width + x] = 255;
    }
  }
}

echo_status render_into(const char* function, const echo_result& result, const echo_render_options& options,
                        std::uint8_t* out_pixels, std::size_t capacity, echo_image_info* out_info) {
  int width = 0, height = 0;
  const Image8* frame = nullptr;
  const KeyframeGeometry* keyframe = nullptr;
  if (options.kind == ECHO_IMAGE_ED_OVERLAY || options.kind == ECHO_IMAGE_ES_OVERLAY) {
    auto found = keyframe_of(function, result, options.kind == ECHO_IMAGE_ED_OVERLAY ? ECHO_KEYFRAME_ED : ECHO_KEYFRAME_ES);
    if (!found) return fail(found.error());
    keyframe = *found;
    frame = options.kind == ECHO_IMAGE_ED_OVERLAY ? &result.ed_frame : &result.es_frame;
    if (frame->empty()) return fail(ECHO_NO_RESULT, std::string(function) + ": the keyframe's pixels were not kept");
    width = frame->width;
    height = frame->height;
  } else if (options.kind == ECHO_IMAGE_VOLUME_CURVE) {
    width = options.width == 0 ? 800 : options.width;
    height = options.height == 0 ? 360 : options.height;
    if (width < 100 || height < 80 || width > 8192 || height > 8192) {
      return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": curve size " + std::to_string(width) + "x" +
                                             std::to_string(height) + " is not in 100..8192 x 80..8192");
    }
  } else {
    return fail(ECHO_INVALID_ARGUMENT,
                std::string(function) + ": options->kind " + std::to_string(options.kind) + " is not an echo_image_kind");
  }
  echo_image_info info{};
  info.struct_size = sizeof info;
  info.width = width;
  info.height = height;
  info.channels = 3;
  info.row_stride_bytes = static_cast<std::size_t>(width) * 3;
  info.size_bytes = info.row_stride_bytes * static_cast<std::size_t>(height);
  if (out_pixels == nullptr) {
    write_output(out_info, info);
    return ECHO_OK;
  }
  if (capacity < info.size_bytes) {
    write_output(out_info, info);
    return fail(ECHO_BUFFER_TOO_SMALL, std::string(function) + ": the buffer holds " + std::to_string(capacity) +
                                           " bytes, the image needs " + std::to_string(info.size_bytes));
  }
  Expected<ImageRgb8> image = make_error(ErrorCode::internal, "not rendered");
  if (keyframe != nullptr) {
    // A one-frame cine of the kept keyframe: the overlay needs no other frame.
    Cine one;
    one.rows = frame->height;
    one.cols = frame->width;
    one.gray = frame->pixels;
    one.frame_times_ms = {0.0};
    KeyframeGeometry local = *keyframe;
    local.frame = 0;
    const std::string label = std::string(options.kind == ECHO_IMAGE_ED_OVERLAY ? "end-diastole" : "end-systole") +
                              " (frame " + std::to_string(keyframe->frame) + ")";
    image = render_keyframe_overlay(one, local, label);
  } else {
    image = render_volume_curve(result.result, width, height);
  }
  if (!image) return fail(image.error());
  if (image->width != width || image->height != height || image->pixels.size() != info.size_bytes) {
    return fail(ECHO_INTERNAL, std::string(function) + ": the renderer gave " + std::to_string(image->width) + "x" +
                                   std::to_string(image->height) + ", " + std::to_string(width) + "x" +
                                   std::to_string(height) + " was announced");
  }
  std::copy(image->pixels.begin(), image->pixels.end(), out_pixels);
  write_output(out_info, info);
  return ECHO_OK;
}

}  // namespace

std::unique_ptr<echo_result> make_result(AnalysisResult analysis, const Cine& cine) {
  auto handle = std::make_unique<echo_result>();
  handle->ed_frame = copy_frame(cine, analysis.ed.frame);
  handle->es_frame = copy_frame(cine, analysis.es.frame);
  if (analysis.vlm) {
    for (const std::string& code : analysis.vlm->rejection_codes) {
      if (!handle->vlm_rejection_codes.empty()) handle->vlm_rejection_codes += ",";
      handle->vlm_rejection_codes += code;
    }
  }
  if (analysis.classification) {
    handle->classification_code = category_code(analysis.classification->category);
    handle->classification_label_zh = category_label_zh(analysis.classification->category);
  }
  handle->result = std::move(analysis);
  return handle;
}

echo_beat to_c_beat(const BeatResult& beat) {
  echo_beat out{};
  out.struct_size = sizeof out;
  out.ed_frame = beat.ed_frame;
  out.es_frame = beat.es_frame;
  out.has_volumes = beat.edv_ml && beat.esv_ml ? 1 : 0;
  out.ed_time_ms = beat.ed_time_ms;
  out.es_time_ms = beat.es_time_ms;
  out.edv_ml = beat.edv_ml ? *beat.edv_ml : kNaN;
  out.esv_ml = beat.esv_ml ? *beat.esv_ml : kNaN;
  out.ef_percent = beat.ef_percent;
  out.excluded = beat.excluded ? 1 : 0;
  out.exclusion_reason = beat.exclusion_reason.c_str();
  return out;
}

}  // namespace echo::capi

using namespace echo::capi;

// Shorthands for the accessors' boilerplate: the function name, and the NULL checks.
#define ECHO_ACCESSOR(name) static constexpr const char* function = #name
#define ECHO_CHECK(expr)               \
  do {                                 \
    const echo_status s_ = (expr);     \
    if (s_ != ECHO_OK) return s_;      \
  } while (0)

extern "C" {

ECHO_API void echo_result_destroy(echo_result* result) {
  guarded_void([&] { delete result; });
}

ECHO_API echo_status echo_result_quality_pass(const echo_result* result, int32_t* out_pass) {
  return read_value("echo_result_quality_pass", result, out_pass,
                    [](const echo_result& r) { return r.result.quality.pass ? 1 : 0; });
}

ECHO_API echo_status echo_result_quality_score(const echo_result* result, double* out_score) {
  return read_value("echo_result_quality_score", result, out_score,
                    [](const echo_result& r) { return r.result.quality.score; });
}

ECHO_API echo_status echo_result_reason_count(const echo_result* result, size_t* out_count) {
  return read_value("echo_result_reason_count", result, out_count,
                    [](const echo_result& r) { return r.result.quality.reasons.size(); });
}

ECHO_API echo_status echo_result_reason(const echo_result* result, size_t index, echo_quality_reason* out_reason) {
  ECHO_ACCESSOR(echo_result_reason);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_output(function, "out_reason", out_reason));
    const auto& reasons = result->result.quality.reasons;
    if (index >= reasons.size()) {
      return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": reason " + std::to_string(index) +
                                             " of " + std::to_string(reasons.size()));
    }
    const echo::QualityReason& reason = reasons[index];
    echo_quality_reason out{};
    out.struct_size = sizeof out;
    out.code_id = static_cast<echo_quality_code>(reason.code);
    out.severity = static_cast<echo_severity>(reason.severity);
    out.code = reason.code_name != nullptr ? reason.code_name : echo::quality_code_name(reason.code);
    out.message_en = reason.message_en.c_str();
    out.message_zh = reason.message_zh.c_str();
    out.value = reason.value;
    out.threshold = reason.threshold;
    write_output(out_reason, out);
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_result_ef_percent(const echo_result* result, double* out_ef_percent) {
  ECHO_ACCESSOR(echo_result_ef_percent);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    return optional_out(function, result->result.ef_percent, result->result.ef_withheld_reason, out_ef_percent);
  });
}

ECHO_API echo_status echo_result_ef_sd(const echo_result* result, double* out_sd_points) {
  ECHO_ACCESSOR(echo_result_ef_sd);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    return optional_out(function, result->result.ef_sd, result->result.ef_withheld_reason, out_sd_points);
  });
}

ECHO_API echo_status echo_result_ef_median(const echo_result* result, double* out_median_percent) {
  ECHO_ACCESSOR(echo_result_ef_median);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    return optional_out(function, result->result.ef_median, result->result.ef_withheld_reason, out_median_percent);
  });
}

ECHO_API echo_status echo_result_ef_withheld_reason(const echo_result* result, const char** out_reason) {
  return read_value("echo_result_ef_withheld_reason", result, out_reason,
                    [](const echo_result& r) { return r.result.ef_withheld_reason.c_str(); });
}

ECHO_API echo_status echo_result_ef_basis(const echo_result* result, const char** out_basis) {
  return read_value("echo_result_ef_basis", result, out_basis, [](const echo_result& r) { return r.result.ef_basis.c_str(); });
}

ECHO_API echo_status echo_result_ef_source(const echo_result* result, const char** out_source) {
  return read_value("echo_result_ef_source", result, out_source,
                    [](const echo_result& r) { return r.result.ef_source.c_str(); });
}

ECHO_API echo_status echo_result_ef_classification(const echo_result* result, echo_ef_classification* out) {
  ECHO_ACCESSOR(echo_result_ef_classification);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_output(function, "out", out));
    const auto& classification = result->result.classification;
    if (!classification) {
      return fail(ECHO_NO_RESULT, std::string(function) + ": no EF to classify (" + result->result.ef_withheld_reason + ")");
    }
    echo_ef_classification c{};
    c.struct_size = sizeof c;
    c.category_id = category_id(classification->category);
    c.category = result->classification_code.c_str();
    c.heart_failure_class = classification->hf_class != nullptr ? classification->hf_class : "";
    c.label_en = classification->category_name != nullptr ? classification->category_name : "";
    c.label_zh = result->classification_label_zh.c_str();
    c.basis = classification->basis.c_str();
    write_output(out, c);
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_result_edv_ml(const echo_result* result, double* out_edv_ml) {
  ECHO_ACCESSOR(echo_result_edv_ml);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    const auto& r = result->result;
    return optional_out(function, r.edv_ml,
                        r.volumes_unavailable_reason.empty() ? r.ef_withheld_reason : r.volumes_unavailable_reason,
                        out_edv_ml);
  });
}

ECHO_API echo_status echo_result_esv_ml(const echo_result* result, double* out_esv_ml) {
  ECHO_ACCESSOR(echo_result_esv_ml);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    const auto& r = result->result;
    return optional_out(function, r.esv_ml,
                        r.volumes_unavailable_reason.empty() ? r.ef_withheld_reason : r.volumes_unavailable_reason,
                        out_esv_ml);
  });
}

ECHO_API echo_status echo_result_volumes_unavailable_reason(const echo_result* result, const char** out_reason) {
  return read_value("echo_result_volumes_unavailable_reason", result, out_reason,
                    [](const echo_result& r) { return r.result.volumes_unavailable_reason.c_str(); });
}

ECHO_API echo_status echo_result_view(const echo_result* result, const char** out_view) {
  return read_value("echo_result_view", result, out_view, [](const echo_result& r) { return r.result.view.c_str(); });
}

ECHO_API echo_status echo_result_view_confidence(const echo_result* result, double* out_confidence) {
  return read_value("echo_result_view_confidence", result, out_confidence,
                    [](const echo_result& r) { return r.result.view_confidence; });
}

ECHO_API echo_status echo_result_is_biplane(const echo_result* result, int32_t* out_biplane) {
  return read_value("echo_result_is_biplane", result, out_biplane,
                    [](const echo_result& r) { return r.result.biplane ? 1 : 0; });
}

ECHO_API echo_status echo_result_heart_rate_bpm(const echo_result* result, double* out_bpm) {
  ECHO_ACCESSOR(echo_result_heart_rate_bpm);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_out(function, out_bpm));
    if (!(result->result.heart_rate_bpm > 0.0)) {
      return fail(ECHO_NO_RESULT, std::string(function) + ": no heart rate was found in this cine");
    }
    *out_bpm = result->result.heart_rate_bpm;
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_result_heart_rate_source(const echo_result* result, const char** out_source) {
  return read_value("echo_result_heart_rate_source", result, out_source,
                    [](const echo_result& r) { return r.result.heart_rate_source.c_str(); });
}

ECHO_API echo_status echo_result_dimensions(const echo_result* result, int32_t* out_frame_count, int32_t* out_rows,
                                            int32_t* out_cols) {
  ECHO_ACCESSOR(echo_result_dimensions);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_out(function, out_frame_count));
    ECHO_CHECK(check_out(function, out_rows));
    ECHO_CHECK(check_out(function, out_cols));
    *out_frame_count = result->result.frame_count;
    *out_rows = result->result.rows;
    *out_cols = result->result.cols;
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_result_is_second_opinion(const echo_result* result, int32_t* out_flag) {
  return read_value("echo_result_is_second_opinion", result, out_flag,
                    [](const echo_result& r) { return r.result.is_second_opinion ? 1 : 0; });
}

ECHO_API echo_status echo_result_sdk_version(const echo_result* result, const char** out_version) {
  return read_value("echo_result_sdk_version", result, out_version,
                    [](const echo_result& r) { return r.result.sdk_version.c_str(); });
}

ECHO_API echo_status echo_result_model_info(const echo_result* result, echo_model_info* out_info) {
  ECHO_ACCESSOR(echo_result_model_info);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_output(function, "out_info", out_info));
    const echo::ModelInfo& model = result->result.model;
    echo_model_info info{};
    info.struct_size = sizeof info;
    info.vlm_loaded = result->result.vlm ? 1 : 0;
    info.name = model.name.c_str();
    info.version = model.version.c_str();
    info.weights_sha256 = model.weights_sha256.c_str();
    info.precision = model.precision.c_str();
    info.device = model.device.c_str();
    info.validated_on_real_patients = model.validated_on_real_patients ? 1 : 0;
    write_output(out_info, info);
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_result_beat_count(const echo_result* result, size_t* out_count) {
  return read_value("echo_result_beat_count", result, out_count,
                    [](const echo_result& r) { return r.result.beats.size(); });
}

ECHO_API echo_status echo_result_beat(const echo_result* result, size_t index, echo_beat* out_beat) {
  ECHO_ACCESSOR(echo_result_beat);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_output(function, "out_beat", out_beat));
    const auto& beats = result->result.beats;
    if (index >= beats.size()) {
      return fail(ECHO_INVALID_ARGUMENT,
                  std::string(function) + ": beat " + std::to_string(index) + " of " + std::to_string(beats.size()));
    }
    write_output(out_beat, to_c_beat(beats[index]));
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_result_curve(const echo_result* result, echo_curve curve, double* out_values,
                                       size_t capacity, size_t* out_count) {
  ECHO_ACCESSOR(echo_result_curve);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    const echo::AnalysisResult& r = result->result;
    const std::vector<double>* values = nullptr;
    switch (curve) {
      case ECHO_CURVE_FRAME_TIME_MS: values = &r.frame_times_ms; break;
      case ECHO_CURVE_LV_AREA_MM2: values = &r.lv_area_mm2; break;
      case ECHO_CURVE_LV_VOLUME_ML: values = &r.lv_volume_ml; break;
      case ECHO_CURVE_EF_PER_BEAT: values = &r.ef_per_beat; break;
      default:
        return fail(ECHO_INVALID_ARGUMENT,
                    std::string(function) + ": curve " + std::to_string(curve) + " is not an echo_curve");
    }
    return copy_out(function, values->data(), values->size(), out_values, capacity, out_count);
  });
}

ECHO_API echo_status echo_result_keyframe(const echo_result* result, echo_keyframe_kind which,
                                          echo_keyframe* out_keyframe) {
  ECHO_ACCESSOR(echo_result_keyframe);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_output(function, "out_keyframe", out_keyframe));
    auto keyframe = keyframe_of(function, *result, which);
    if (!keyframe) return fail(keyframe.error());
    const echo::LvGeometry& g = (*keyframe)->geometry;
    echo_keyframe k{};
    k.struct_size = sizeof k;
    k.frame = (*keyframe)->frame;
    k.valid = g.valid ? 1 : 0;
    k.volumes_in_ml = g.volumes_in_ml ? 1 : 0;
    k.area_mm2 = g.area_mm2;
    k.volume_ml = g.volume_discs_ml;
    k.volume_area_length_ml = g.volume_area_length_ml;
    k.long_axis_mm = g.long_axis_mm;
    k.apex_x = g.apex_px.x;
    k.apex_y = g.apex_px.y;
    k.annulus_left_x = g.annulus_left_px.x;
    k.annulus_left_y = g.annulus_left_px.y;
    k.annulus_right_x = g.annulus_right_px.x;
    k.annulus_right_y = g.annulus_right_px.y;
    k.contour_point_count = g.contour_px.size();
    k.disc_count = g.discs.size();
    k.invalid_reason = g.invalid_reason.c_str();
    write_output(out_keyframe, k);
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_result_contour(const echo_result* result, echo_keyframe_kind which, double* out_xy,
                                         size_t capacity, size_t* out_point_count) {
  ECHO_ACCESSOR(echo_result_contour);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_out(function, out_point_count));
    auto keyframe = keyframe_of(function, *result, which);
    if (!keyframe) return fail(keyframe.error());
    const echo::Contour& contour = (*keyframe)->geometry.contour_px;
    std::vector<double> xy;
    xy.reserve(contour.size() * 2);
    for (const echo::Point2& p : contour) {
      xy.push_back(p.x);
      xy.push_back(p.y);
    }
    std::size_t doubles = 0;
    const echo_status s = copy_out(function, xy.data(), xy.size(), out_xy, capacity, &doubles);
    if (s == ECHO_OK || s == ECHO_BUFFER_TOO_SMALL) *out_point_count = doubles / 2;
    return s;
  });
}

ECHO_API echo_status echo_result_discs(const echo_result* result, echo_keyframe_kind which, double* out_segments,
                                       size_t capacity, size_t* out_disc_count) {
  ECHO_ACCESSOR(echo_result_discs);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_out(function, out_disc_count));
    auto keyframe = keyframe_of(function, *result, which);
    if (!keyframe) return fail(keyframe.error());
    std::vector<double> segments;
    for (const echo::Disc& disc : (*keyframe)->geometry.discs) {
      segments.insert(segments.end(), {disc.a_px.x, disc.a_px.y, disc.b_px.x, disc.b_px.y});
    }
    std::size_t doubles = 0;
    const echo_status s = copy_out(function, segments.data(), segments.size(), out_segments, capacity, &doubles);
    if (s == ECHO_OK || s == ECHO_BUFFER_TOO_SMALL) *out_disc_count = doubles / 4;
    return s;
  });
}

ECHO_API echo_status echo_result_mask(const echo_result* result, echo_keyframe_kind which, uint8_t* out_mask,
                                      size_t capacity, size_t* out_size) {
  ECHO_ACCESSOR(echo_result_mask);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_out(function, out_size));
    auto keyframe = keyframe_of(function, *result, which);
    if (!keyframe) return fail(keyframe.error());
    const int rows = result->result.rows, cols = result->result.cols;
    const std::size_t size = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
    if (out_mask == nullptr) {
      *out_size = size;
      return ECHO_OK;
    }
    if (capacity < size) {
      *out_size = size;
      return fail(ECHO_BUFFER_TOO_SMALL, std::string(function) + ": the buffer holds " + std::to_string(capacity) +
                                             " bytes, the mask needs " + std::to_string(size));
    }
    rasterize_polygon((*keyframe)->geometry.contour_px, cols, rows, out_mask);
    *out_size = size;
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_result_timings(const echo_result* result, echo_timings* out_timings) {
  ECHO_ACCESSOR(echo_result_timings);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_output(function, "out_timings", out_timings));
    const echo::StageTimings& t = result->result.timings;
    echo_timings out{};
    out.struct_size = sizeof out;
    out.decode_ms = t.decode_ms;
    out.preprocess_ms = t.preprocess_ms;
    out.quality_ms = t.quality_ms;
    out.inference_ms = t.inference_ms;
    out.geometry_ms = t.geometry_ms;
    out.cardiac_ms = t.cardiac_ms;
    out.vlm_ms = t.vlm_ms;
    out.total_ms = t.total_ms;
    write_output(out_timings, out);
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_result_vlm_answer(const echo_result* result, echo_vlm_answer* out_answer) {
  ECHO_ACCESSOR(echo_result_vlm_answer);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    ECHO_CHECK(check_output(function, "out_answer", out_answer));
    const auto& r = result->result;
    if (!r.vlm) return fail(ECHO_NO_RESULT, std::string(function) + ": the vision-language model did not run");
    echo_vlm_answer out{};
    out.struct_size = sizeof out;
    switch (r.vlm->kind) {
      case echo::VlmAnswer::Kind::ef: out.kind = ECHO_VLM_EF; break;
      case echo::VlmAnswer::Kind::rejection: out.kind = ECHO_VLM_REJECTION; break;
      case echo::VlmAnswer::Kind::unreadable: out.kind = ECHO_VLM_UNREADABLE; break;
    }
    out.text = r.vlm->text.c_str();
    out.has_ef = r.vlm->ef_percent ? 1 : 0;
    out.ef_percent = r.vlm->ef_percent ? *r.vlm->ef_percent : kNaN;
    out.compared = r.vlm_check && r.vlm_check->compared ? 1 : 0;
    out.difference_points = r.vlm_check ? r.vlm_check->difference_points : 0.0;
    out.disagrees = r.vlm_check && r.vlm_check->disagrees ? 1 : 0;
    out.rejection_code_count = static_cast<int32_t>(r.vlm->rejection_codes.size());
    out.rejection_codes = result->vlm_rejection_codes.c_str();
    out.decode_ms = r.vlm->decode_ms;
    out.new_tokens = r.vlm->new_tokens;
    out.hit_token_limit = r.vlm->hit_token_limit ? 1 : 0;
    write_output(out_answer, out);
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_result_json(const echo_result* result, int32_t indent, char* out_text, size_t capacity,
                                      size_t* out_length) {
  ECHO_ACCESSOR(echo_result_json);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    if (indent > 16) {
      return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": indent " + std::to_string(indent) + " is not in -1..16");
    }
    return copy_text(function, echo::report_json(result->result, indent < 0 ? -1 : indent), out_text, capacity,
                     out_length);
  });
}

ECHO_API echo_status echo_result_text(const echo_result* result, echo_language language, char* out_text,
                                      size_t capacity, size_t* out_length) {
  ECHO_ACCESSOR(echo_result_text);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    if (language != ECHO_LANGUAGE_EN && language != ECHO_LANGUAGE_ZH) {
      return fail(ECHO_INVALID_ARGUMENT,
                  std::string(function) + ": language " + std::to_string(language) + " is not an echo_language");
    }
    const auto lang = language == ECHO_LANGUAGE_ZH ? echo::ReportLanguage::zh : echo::ReportLanguage::en;
    return copy_text(function, echo::report_text(result->result, lang), out_text, capacity, out_length);
  });
}

ECHO_API echo_status echo_result_render(const echo_result* result, const echo_render_options* options,
                                        uint8_t* out_pixels, size_t capacity, echo_image_info* out_info) {
  ECHO_ACCESSOR(echo_result_render);
  return guarded(function, [&]() -> echo_status {
    ECHO_CHECK(check_result(function, result));
    if (options == nullptr) return null_argument(function, "options");
    ECHO_CHECK(check_output(function, "out_info", out_info));
    echo_render_options c_options{};
    ECHO_CHECK(read_input(function, "options", options, default_render_options(), c_options));
    return render_into(function, *result, c_options, out_pixels, capacity, out_info);
  });
}

}  // extern "C"
