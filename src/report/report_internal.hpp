// Private pieces shared by the report formats (JSON, text, DICOM SR, review page) and the validation summary.
#pragma once

#include <nlohmann/json.hpp>

#include "echo/report.hpp"

namespace echo::report_detail {

// The disclosure every report carries while the model's manifest does not claim validation on patients
// (all bundled models: they learnt from phantoms only; docs/model.md, "On real echoes").
inline const char* not_validated_on_patients(ReportLanguage language) {
  return language == ReportLanguage::zh ? "该模型仅用合成图像训练,尚未经患者图像验证。"
                                        : "The model learnt from synthetic images only and is not validated on patient images.";
}

// The segmentation model as the reports name it (the analysis JSON's and the validation summary's `model`).
inline nlohmann::json model_json(const ModelInfo& model) {
  return {{"name", model.name},           {"version", model.version},
          {"sha256", model.weights_sha256}, {"precision", model.precision},
          {"device", model.device},       {"validated_on_real_patients", model.validated_on_real_patients}};
}

}  // namespace echo::report_detail
