// The JSON report. Key names are stable (docs/report_schema.md); add keys, never rename them.
#include <cmath>

#include <nlohmann/json.hpp>

#include "echo/report.hpp"
#include "report/report_internal.hpp"

namespace echo {
namespace {

using nlohmann::json;

json optional_number(const std::optional<double>& value) {
  return value && std::isfinite(*value) ? json(*value) : json(nullptr);
}

json finite_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

const char* severity_name(Severity severity) {
  switch (severity) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::reject: return "reject";
  }
  return "unknown";
}

json quality_json(const QualityReport& quality) {
  json reasons = json::array();
  for (const QualityReason& reason : quality.reasons) {
    reasons.push_back({{"code", reason.code_name},
                       {"severity", severity_name(reason.severity)},
                       {"value", finite_or_null(reason.value)},
                       {"threshold", finite_or_null(reason.threshold)},
                       {"message_en", reason.message_en},
                       {"message_zh", reason.message_zh}});
  }
  return {{"pass", quality.pass}, {"score", quality.score}, {"reasons", reasons},
          {"not_assessed", quality.not_assessed}};
}

json beats_json(const std::vector<BeatResult>& beats) {
  json out = json::array();
  for (const BeatResult& beat : beats) {
    out.push_back({{"ed_frame", beat.ed_frame},
                   {"es_frame", beat.es_frame},
                   {"ed_time_ms", beat.ed_time_ms},
                   {"es_time_ms", beat.es_time_ms},
                   {"edv_ml", optional_number(beat.edv_ml)},
                   {"esv_ml", optional_number(beat.esv_ml)},
                   {"ef_percent", finite_or_null(beat.ef_percent)},
                   {"excluded", beat.excluded},
                   {"exclusion_reason", beat.exclusion_reason}});
  }
  return out;
}

json points_json(const Contour& contour) {
  json out = json::array();
  for (const Point2& p : contour) out.push_back({p.x, p.y});
  return out;
}

json keyframe_json(const KeyframeGeometry& keyframe) {
  if (keyframe.frame < 0 || !keyframe.geometry.valid) return nullptr;
  const LvGeometry& g = keyframe.geometry;
  return {{"frame", keyframe.frame},
          {"contour_px", points_json(g.contour_px)},
          {"apex_px", {g.apex_px.x, g.apex_px.y}},
          {"annulus_left_px", {g.annulus_left_px.x, g.annulus_left_px.y}},
          {"annulus_right_px", {g.annulus_right_px.x, g.annulus_right_px.y}},
          {"long_axis_mm", g.long_axis_mm},
          {"area_mm2", g.area_mm2},
          {"volume_discs_ml", g.volume_discs_ml},
          {"volume_area_length_ml", g.volume_area_length_ml},
          {"units_physical", g.volumes_in_ml}};
}

json vlm_json(const AnalysisResult& result) {
  if (!result.vlm) return nullptr;
  const VlmAnswer& answer = *result.vlm;
  const char* kind = answer.kind == VlmAnswer::Kind::ef          ? "ef"
                     : answer.kind == VlmAnswer::Kind::rejection ? "rejection"
                                                                 : "unreadable";
  json out = {{"text", answer.text},
              {"kind", kind},
              {"ef_percent", optional_number(answer.ef_percent)},
              {"rejection_codes", answer.rejection_codes},
              {"new_tokens", answer.new_tokens},
              {"decode_ms", answer.decode_ms}};
  if (result.vlm_check) {
    out["cross_check"] = {{"compared", result.vlm_check->compared},
                          {"difference_points", finite_or_null(result.vlm_check->difference_points)},
                          {"disagrees", result.vlm_check->disagrees}};
  }
  return out;
}

}  // namespace

std::string report_json(const AnalysisResult& result, int indent) {
  json report;
  report["schema"] = "echoanalyzer.report/1";
  report["sdk_version"] = result.sdk_version;
  report["second_opinion"] = result.is_second_opinion;
  report["notice"] = std::string("Automated second opinion: a clinician must confirm before clinical use.") +
                     (result.model.validated_on_real_patients
                          ? ""
                          : std::string(" ") + report_detail::not_validated_on_patients(ReportLanguage::en));
  report["frames"] = result.frame_count;
  report["rows"] = result.rows;
  report["cols"] = result.cols;
  report["quality"] = quality_json(result.quality);
  report["view"] = result.view;
  report["view_confidence"] = result.view_confidence;
  report["biplane"] = result.biplane;
  report["ef_percent"] = optional_number(result.ef_percent);
  report["ef_sd"] = optional_number(result.ef_sd);
  report["ef_median"] = optional_number(result.ef_median);
  report["ef_per_beat"] = result.ef_per_beat;
  report["ef_source"] = result.ef_source;
  report["ef_basis"] = result.ef_basis;
  report["ef_withheld_reason"] = result.ef_withheld_reason;
  if (result.classification) {
    report["category"] = result.classification->category_name;
    report["hf_class"] = result.classification->hf_class;
    report["category_basis"] = result.classification->basis;
  } else {
    report["category"] = nullptr;
    report["hf_class"] = nullptr;
    report["category_basis"] = nullptr;
  }
  report["edv_ml"] = optional_number(result.edv_ml);
  report["esv_ml"] = optional_number(result.esv_ml);
  report["volumes_unavailable_reason"] = result.volumes_unavailable_reason;
  report["heart_rate_bpm"] = finite_or_null(result.heart_rate_bpm);
  report["heart_rate_source"] = result.heart_rate_source;
  report["beats"] = beats_json(result.beats);
  report["frame_times_ms"] = result.frame_times_ms;
  report["lv_area_mm2"] = result.lv_area_mm2;
  report["lv_volume_ml"] = result.lv_volume_ml;
  report["ed"] = keyframe_json(result.ed);
  report["es"] = keyframe_json(result.es);
  report["vlm"] = vlm_json(result);
  report["timings_ms"] = {{"decode", result.timings.decode_ms},         {"preprocess", result.timings.preprocess_ms},
                          {"quality", result.timings.quality_ms},       {"inference", result.timings.inference_ms},
                          {"geometry", result.timings.geometry_ms},     {"cardiac", result.timings.cardiac_ms},
                          {"vlm", result.timings.vlm_ms},               {"total", result.timings.total_ms}};
  report["model"] = report_detail::model_json(result.model);
  return report.dump(indent < 0 ? -1 : indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace echo
