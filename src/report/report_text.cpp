// Short text in the form clinicians read: "LVEF approximately 52% (normal)" / "LVEF约为52%(正常)".
#include <cmath>
#include <string>

#include "echo/report.hpp"
#include "report/report_internal.hpp"

namespace echo {
namespace {

const char* category_text(EfCategory category, ReportLanguage language) {
  const bool zh = language == ReportLanguage::zh;
  switch (category) {
    case EfCategory::normal: return zh ? "正常" : "normal";
    case EfCategory::mildly_reduced: return zh ? "轻度减低" : "mildly reduced";
    case EfCategory::moderately_reduced: return zh ? "中度减低" : "moderately reduced";
    case EfCategory::severely_reduced: return zh ? "重度减低" : "severely reduced";
    case EfCategory::hyperdynamic: return zh ? "高于正常" : "hyperdynamic";
  }
  return "";
}

std::string rejection_text(const AnalysisResult& result, ReportLanguage language) {
  const bool zh = language == ReportLanguage::zh;
  std::string reasons;
  for (const QualityReason& reason : result.quality.reasons) {
    if (reason.severity != Severity::reject) continue;
    if (!reasons.empty()) reasons += zh ? ";" : "; ";
    reasons += zh ? reason.message_zh : reason.message_en;
  }
  if (reasons.empty()) reasons = result.ef_withheld_reason;
  return (zh ? "图像不合格,原因:" : "image not acceptable, reason: ") + reasons;
}

}  // namespace

std::string report_text(const AnalysisResult& result, ReportLanguage language) {
  const bool zh = language == ReportLanguage::zh;
  if (!result.ef_percent) return rejection_text(result, language);
  const long ef_rounded = std::lround(*result.ef_percent);
  std::string text = zh ? "LVEF约为" + std::to_string(ef_rounded) + "%"
                        : "LVEF approximately " + std::to_string(ef_rounded) + "%";
  if (result.classification) {
    const char* category = category_text(result.classification->category, language);
    text += zh ? std::string("(") + category + ")" : std::string(" (") + category + ")";
  }
  if (result.ef_basis == "loop_extremes")
    text += zh ? ",取自整段最大与最小左心室(未能划分完整心动周期)"
               : ", from the largest and smallest LV of the loop (no complete beat delimited)";
  if (result.edv_ml && result.esv_ml) {
    const long edv = std::lround(*result.edv_ml);
    const long esv = std::lround(*result.esv_ml);
    text += zh ? ",EDV " + std::to_string(edv) + " mL,ESV " + std::to_string(esv) + " mL"
               : ", EDV " + std::to_string(edv) + " mL, ESV " + std::to_string(esv) + " mL";
  }
  text += zh ? "。自动分析结果,仅供参考,需临床医生确认。"
             : ". Automated second opinion, to be confirmed by a clinician.";
  if (!result.model.validated_on_real_patients) {
    text += zh ? "" : " ";
    text += report_detail::not_validated_on_patients(language);
  }
  return text;
}

}  // namespace echo
