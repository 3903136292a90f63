// One clip's outcome from its analysis, the run's summary, and their reports (CSV row, summary.json, text).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "echo/validation.hpp"
#include "report/report_internal.hpp"

namespace echo {
namespace {

constexpr double kLowEfPercent = 30.0;  // severely reduced (ASE/EACVI): listed one by one
constexpr std::size_t kLowEfShown = 20;  // in the printed summary; summary.json has them all

// Shortest text that reads back as the same double: the CSV can be re-read without losing a bit.
std::string number(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : "";
}

template <class T>
std::string optional_text(const std::optional<T>& value) {
  if (!value) return "";
  if constexpr (std::is_integral_v<T>) return std::to_string(*value);
  else return number(*value);
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// "code count, code count" in code order.
std::string counts_text(const std::map<std::string, int>& counts) {
  std::string text;
  for (const auto& [code, count] : counts) text += (text.empty() ? "" : ", ") + code + " " + std::to_string(count);
  return text;
}

const BeatResult* first_used_beat(const AnalysisResult& result) {
  for (const BeatResult& beat : result.beats) {
    if (!beat.excluded) return &beat;
  }
  return result.beats.empty() ? nullptr : &result.beats.front();
}

// Our ED (or ES) frames: every beat's, or the loop-extremes keyframe when the loop had no delimitable beat.
std::vector<int> our_keyframes(const AnalysisResult& result, bool ed) {
  std::vector<int> frames;
  for (const BeatResult& beat : result.beats) frames.push_back(ed ? beat.ed_frame : beat.es_frame);
  const int fallback = ed ? result.ed.frame : result.es.frame;
  if (frames.empty() && fallback >= 0) frames.push_back(fallback);
  return frames;
}

void collect_refusal(const AnalysisResult& result, ClipOutcome& clip) {
  std::vector<std::string> messages;
  for (const QualityReason& reason : result.quality.reasons) {
    if (reason.severity != Severity::reject) continue;
    clip.refusal_codes.push_back(reason.code_name);
    messages.push_back(reason.message_en);
  }
  if (clip.refusal_codes.empty()) clip.refusal_codes.push_back("ef_withheld");
  if (!result.ef_withheld_reason.empty()) messages.insert(messages.begin(), result.ef_withheld_reason);
  clip.message = join(messages, "; ");
}

nlohmann::json to_json(const std::optional<double>& value) { return value ? nlohmann::json(*value) : nlohmann::json(); }

nlohmann::json to_json(const std::optional<Agreement>& a) {
  if (!a) return nullptr;
  return {{"n", a->n},         {"mae", a->mae},           {"rmse", a->rmse},
          {"bias", a->bias},   {"sd", to_json(a->sd)},    {"loa_low", to_json(a->loa_low)},
          {"loa_high", to_json(a->loa_high)}, {"pearson_r", to_json(a->pearson_r)}};
}

nlohmann::json to_json(const ThresholdAgreement& t) {
  return {{"threshold", t.threshold},         {"true_positive", t.true_positive},
          {"false_negative", t.false_negative}, {"true_negative", t.true_negative},
          {"false_positive", t.false_positive}, {"sensitivity", to_json(t.sensitivity)},
          {"specificity", to_json(t.specificity)}};
}

nlohmann::json to_json(const OffsetStats& s) {
  return {{"clips", s.clips},
          {"measured", s.measured},
          {"median_abs_frames", to_json(s.median_abs_frames)},
          {"share_within_3", to_json(s.share_within_3)},
          {"share_within_1", to_json(s.share_within_1)}};
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string percent(const std::optional<double>& share) { return share ? format("%.1f%%", 100.0 * *share) : "n/a"; }

std::string agreement_line(const char* name, const std::optional<Agreement>& a, const char* unit) {
  if (!a) return std::string("  ") + name + ": no pair of ours and a reference\n";
  std::string line = std::string("  ") + name + " (n=" + std::to_string(a->n) + "): MAE " + format("%.2f", a->mae) +
                     unit + ", RMSE " + format("%.2f", a->rmse) + ", bias " + format("%+.2f", a->bias);
  if (a->loa_low) line += " (95% limits of agreement " + format("%+.2f", *a->loa_low) + " to " + format("%+.2f", *a->loa_high) + ")";
  line += ", r " + (a->pearson_r ? format("%.3f", *a->pearson_r) : std::string("n/a")) + "\n";
  return line;
}

std::string threshold_line(const ThresholdAgreement& t) {
  const int pos = t.true_positive + t.false_negative, neg = t.true_negative + t.false_positive;
  return "  EF < " + format("%.0f", t.threshold) + ": sensitivity " + percent(t.sensitivity) + " (" +
         std::to_string(t.true_positive) + "/" + std::to_string(pos) + "), specificity " + percent(t.specificity) +
         " (" + std::to_string(t.true_negative) + "/" + std::to_string(neg) + ")\n";
}

std::string offset_line(const char* name, const OffsetStats& s) {
  if (s.clips == 0) return std::string("  ") + name + " offset: no reference frame on an answered clip\n";
  return std::string("  ") + name + " offset (" + std::to_string(s.clips) + " answered clips with a reference frame, " +
         std::to_string(s.measured) + " with ours): median |offset| " +
         (s.median_abs_frames ? format("%.1f", *s.median_abs_frames) : std::string("n/a")) + " frames, within 3 " +
         percent(s.share_within_3) + ", within 1 " + percent(s.share_within_1) + "\n";
}

}  // namespace

const char* clip_status_name(ClipStatus status) noexcept {
  switch (status) {
    case ClipStatus::answered: return "answered";
    case ClipStatus::refused: return "refused";
    case ClipStatus::unreadable: return "unreadable";
    case ClipStatus::missing: return "missing";
    case ClipStatus::duplicate: return "duplicate";
  }
  return "unknown";
}

ClipOutcome clip_outcome(const ReferenceRow& reference, const std::string& path, const AnalysisResult& result) {
  ClipOutcome clip;
  clip.reference = reference;
  clip.path = path;
  clip.status = result.ef_percent ? ClipStatus::answered : ClipStatus::refused;
  clip.ef_percent = result.ef_percent;
  clip.edv_ml = result.edv_ml;
  clip.esv_ml = result.esv_ml;
  clip.ef_basis = result.ef_percent ? result.ef_basis : "";
  clip.view = result.view;
  clip.view_confidence = result.view_confidence;
  if (!result.ef_percent) collect_refusal(result, clip);
  if (const BeatResult* beat = first_used_beat(result)) {
    clip.ed_frame = beat->ed_frame;
    clip.es_frame = beat->es_frame;
  } else if (result.ed.frame >= 0) {
    clip.ed_frame = result.ed.frame;
    clip.es_frame = result.es.frame;
  }
  if (reference.ed_frame) clip.ed_offset_frames = nearest_offset(our_keyframes(result, true), *reference.ed_frame);
  if (reference.es_frame) clip.es_offset_frames = nearest_offset(our_keyframes(result, false), *reference.es_frame);
  if (result.vlm) {
    clip.vlm_ran = true;
    clip.vlm_kind = result.vlm->kind == VlmAnswer::Kind::ef          ? "ef"
                    : result.vlm->kind == VlmAnswer::Kind::rejection ? "rejection"
                                                                      : "unreadable";
    clip.vlm_ef_percent = result.vlm->ef_percent;
    clip.vlm_rejection_codes = result.vlm->rejection_codes;
  }
  clip.analysis_ms = result.timings.total_ms;
  clip.model = result.model;
  clip.sdk_version = result.sdk_version;
  return clip;
}

ValidationSummary summarize_validation(const std::vector<ClipOutcome>& clips, int table_rows, int skipped_not_present) {
  ValidationSummary s;
  s.rows = table_rows;
  s.skipped_not_present = skipped_not_present;
  std::vector<double> ours, ref, edv_ours, edv_ref, esv_ours, esv_ref, vlm_ours, vlm_ref;
  std::vector<std::optional<int>> ed_offsets, es_offsets;
  for (const ClipOutcome& c : clips) {
    const bool analysed = c.status == ClipStatus::answered || c.status == ClipStatus::refused;
    s.missing += c.status == ClipStatus::missing;
    s.duplicates += c.status == ClipStatus::duplicate;
    s.unreadable += c.status == ClipStatus::unreadable;
    s.answered += c.status == ClipStatus::answered;
    s.refused += c.status == ClipStatus::refused;
    s.analysed += analysed;
    if (analysed && !s.model && !c.model.name.empty()) {
      s.model = c.model;
      s.sdk_version = c.sdk_version;
    }
    s.bad_reference += analysed && c.reference.ef_invalid;
    for (const std::string& code : c.refusal_codes) ++s.refusals_by_reason[code];
    const bool has_file = c.status != ClipStatus::missing && c.status != ClipStatus::duplicate;
    if (has_file && c.reference.ef_percent && *c.reference.ef_percent < kLowEfPercent) {
      s.low_ef.push_back({c.reference.file_name, *c.reference.ef_percent, c.ef_percent, clip_status_name(c.status)});
    }
    if (c.vlm_ran) {
      ++s.vlm_ran;
      for (const std::string& code : c.vlm_rejection_codes) ++s.vlm_refusals_by_reason[code];
      s.vlm_unreadable += c.vlm_kind == "unreadable";
      if (c.vlm_ef_percent) {
        ++s.vlm_answered;
        if (c.reference.ef_percent) {
          vlm_ours.push_back(*c.vlm_ef_percent);
          vlm_ref.push_back(*c.reference.ef_percent);
        }
      }
    }
    if (c.status != ClipStatus::answered) continue;
    if (c.reference.ef_percent) {
      ours.push_back(*c.ef_percent);
      ref.push_back(*c.reference.ef_percent);
    }
    if (c.edv_ml && c.reference.edv_ml) {
      edv_ours.push_back(*c.edv_ml);
      edv_ref.push_back(*c.reference.edv_ml);
    }
    if (c.esv_ml && c.reference.esv_ml) {
      esv_ours.push_back(*c.esv_ml);
      esv_ref.push_back(*c.reference.esv_ml);
    }
    if (c.reference.ed_frame) ed_offsets.push_back(c.ed_offset_frames);
    if (c.reference.es_frame) es_offsets.push_back(c.es_offset_frames);
  }
  const int attempted = s.analysed + s.unreadable;
  if (attempted > 0) s.answered_share = static_cast<double>(s.answered) / attempted;
  s.ef = agreement(ours, ref);
  s.edv = agreement(edv_ours, edv_ref);
  s.esv = agreement(esv_ours, esv_ref);
  s.below_40 = threshold_agreement(ours, ref, 40.0);
  s.below_50 = threshold_agreement(ours, ref, 50.0);
  s.ed_offsets = offset_stats(ed_offsets);
  s.es_offsets = offset_stats(es_offsets);
  s.vlm = s.vlm_ran > 0;
  if (s.vlm_ran > 0) s.vlm_answered_share = static_cast<double>(s.vlm_answered) / s.vlm_ran;
  s.vlm_ef = agreement(vlm_ours, vlm_ref);
  return s;
}

std::string validation_csv_header() {
  return "line,file,status,ref_ef,ref_edv_ml,ref_esv_ml,ref_ed_frame,ref_es_frame,ef,ef_difference,edv_ml,esv_ml,"
         "ef_basis,view,view_confidence,ed_frame,es_frame,ed_offset_frames,es_offset_frames,refusal_reasons,vlm_kind,"
         "vlm_ef,vlm_reasons,analysis_ms,path,message\n";
}

std::string validation_csv_row(const ClipOutcome& c) {
  std::optional<double> difference;
  if (c.ef_percent && c.reference.ef_percent) difference = *c.ef_percent - *c.reference.ef_percent;
  const bool analysed = c.status == ClipStatus::answered || c.status == ClipStatus::refused;
  const std::vector<std::string> fields = {
      std::to_string(c.reference.line), csv_field(c.reference.file_name), clip_status_name(c.status),
      optional_text(c.reference.ef_percent), optional_text(c.reference.edv_ml), optional_text(c.reference.esv_ml),
      optional_text(c.reference.ed_frame), optional_text(c.reference.es_frame), optional_text(c.ef_percent),
      optional_text(difference), optional_text(c.edv_ml), optional_text(c.esv_ml), c.ef_basis, c.view,
      analysed ? format("%.3f", c.view_confidence) : "", optional_text(c.ed_frame), optional_text(c.es_frame),
      optional_text(c.ed_offset_frames), optional_text(c.es_offset_frames), join(c.refusal_codes, ";"), c.vlm_kind,
      optional_text(c.vlm_ef_percent), join(c.vlm_rejection_codes, ";"), analysed ? format("%.1f", c.analysis_ms) : "",
      csv_field(c.path),
      csv_field(c.message)};
  return join(fields, ",") + "\n";
}

std::string validation_summary_json(const ValidationSummary& s, int indent) {
  nlohmann::json low = nlohmann::json::array();
  for (const LowEfClip& clip : s.low_ef) {
    low.push_back({{"file", clip.file_name}, {"reference_ef", clip.reference_ef_percent},
                   {"ef", to_json(clip.ef_percent)}, {"status", clip.status}});
  }
  const nlohmann::json json = {
      {"rows", s.rows},
      {"skipped_not_present", s.skipped_not_present},
      {"missing", s.missing},
      {"duplicates", s.duplicates},
      {"unreadable", s.unreadable},
      {"analysed", s.analysed},
      {"answered", s.answered},
      {"refused", s.refused},
      {"bad_reference", s.bad_reference},
      {"answered_share", to_json(s.answered_share)},
      {"refusals_by_reason", s.refusals_by_reason},
      {"ef", to_json(s.ef)},
      {"edv_ml", to_json(s.edv)},
      {"esv_ml", to_json(s.esv)},
      {"ef_below_40", to_json(s.below_40)},
      {"ef_below_50", to_json(s.below_50)},
      {"ed_offset", to_json(s.ed_offsets)},
      {"es_offset", to_json(s.es_offsets)},
      {"reference_ef_below_30", low},
      {"model", s.model ? report_detail::model_json(*s.model) : nlohmann::json()},
      {"sdk_version", s.model ? nlohmann::json(s.sdk_version) : nlohmann::json()},
      {"vlm", s.vlm ? nlohmann::json{{"ran", s.vlm_ran},
                                      {"answered", s.vlm_answered},
                                      {"answered_share", to_json(s.vlm_answered_share)},
                                      {"refusals_by_reason", s.vlm_refusals_by_reason},
                                      {"unreadable", s.vlm_unreadable},
                                      {"ef", to_json(s.vlm_ef)}}
                    : nlohmann::json()}};
  return json.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string validation_summary_text(const ValidationSummary& s) {
  std::ostringstream out;
  out << s.rows << " table rows: " << s.analysed << " analysed, " << s.unreadable << " unreadable, " << s.missing
      << " missing, " << s.duplicates << " duplicate";
  if (s.skipped_not_present > 0) out << ", " << s.skipped_not_present << " skipped (no file, --only-present)";
  if (s.bad_reference > 0) out << "; " << s.bad_reference << " with a reference EF that is not a number";
  if (s.model) {
    out << "\n  model " << s.model->name << " " << s.model->version << " (" << s.model->precision << ", "
        << s.model->device << ", SHA-256 " << s.model->weights_sha256.substr(0, 12) << "...), SDK " << s.sdk_version
        << (s.model->validated_on_real_patients ? "" : "; its manifest claims no validation on patients");
  }
  out << "\n  answered " << s.answered << "/" << (s.analysed + s.unreadable) << " (" << percent(s.answered_share)
      << "), refused " << s.refused;
  const std::string reasons = counts_text(s.refusals_by_reason);
  if (!reasons.empty()) out << ": " << reasons;
  out << "\n" << agreement_line("EF", s.ef, " points");
  if (s.edv) out << agreement_line("EDV", s.edv, " mL");
  if (s.esv) out << agreement_line("ESV", s.esv, " mL");
  out << threshold_line(s.below_40) << threshold_line(s.below_50) << offset_line("ED", s.ed_offsets)
      << offset_line("ES", s.es_offsets);
  for (std::size_t i = 0; i < s.low_ef.size() && i < kLowEfShown; ++i) {
    const LowEfClip& clip = s.low_ef[i];
    out << "  reference EF < 30: " << clip.file_name << " reference " << format("%.1f", clip.reference_ef_percent)
        << ", ours " << (clip.ef_percent ? format("%.1f", *clip.ef_percent) : clip.status) << "\n";
  }
  if (s.low_ef.size() > kLowEfShown) out << "  ... and " << s.low_ef.size() - kLowEfShown << " more in summary.json\n";
  if (s.vlm) {
    out << "  VLM: answered with an EF " << s.vlm_answered << "/" << s.vlm_ran << " (" << percent(s.vlm_answered_share)
        << ")";
    const std::string vlm_reasons = counts_text(s.vlm_refusals_by_reason);
    if (!vlm_reasons.empty()) out << ", refusals by reason: " << vlm_reasons;
    if (s.vlm_unreadable > 0) out << ", unreadable answers " << s.vlm_unreadable;
    out << "\n" << agreement_line("VLM EF", s.vlm_ef, " points");
  }
  return out.str();
}

}  // namespace echo
