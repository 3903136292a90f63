// echo/report.hpp: the result as JSON (schema: docs/report_schema.md), as short clinical text in
// English or Chinese, and as pictures (keyframe overlays, volume curve).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "echo/cine.hpp"
#include "echo/error.hpp"
#include "echo/image.hpp"
#include "echo/result.hpp"

namespace echo {

enum class ReportLanguage { en, zh };

std::string report_json(const AnalysisResult& result, int indent = 2);
// "LVEF approximately 52% (normal)" / "LVEF约为52%(正常)", or "image not acceptable, reason: ..." / "图像不合格,原因:...".
std::string report_text(const AnalysisResult& result, ReportLanguage language);

// The frame with the LV contour, the long axis and the discs drawn (colour, original size).
Expected<ImageRgb8> render_keyframe_overlay(const Cine& cine, const KeyframeGeometry& keyframe, const std::string& label);
// The same drawn on one grey frame (the keyframe's pixels kept apart from their cine).
Expected<ImageRgb8> render_keyframe_overlay(const Image8& frame, const KeyframeGeometry& keyframe, const std::string& label);
// The LV volume (or area) over time with ED and ES marked.
Expected<ImageRgb8> render_volume_curve(const AnalysisResult& result, int width = 800, int height = 360);
// Writes ed.png, es.png and volume_curve.png into directory (created when missing).
Expected<void> write_overlays(const Cine& cine, const AnalysisResult& result, const std::string& directory);
Expected<void> write_png(const ImageRgb8& image, const std::string& path);

// Agreement plots (echoa validate): the statistics drawn as lines and in the title.
struct AgreementLines {
  double bias = 0.0;                  // mean of measured - reference
  std::optional<double> loa_low;      // bias -/+ 1.96 SD (absent below two pairs)
  std::optional<double> loa_high;
  std::optional<double> pearson_r;
  double mae = 0.0;
};
// Bland-Altman: the pair's mean on x, measured - reference on y, with the bias and the 95% limits of agreement.
Expected<ImageRgb8> render_bland_altman(const std::vector<double>& reference, const std::vector<double>& measured,
                                        const AgreementLines& lines, const std::string& quantity, int width = 800,
                                        int height = 600);
// Measured against reference, with the identity line.
Expected<ImageRgb8> render_agreement_scatter(const std::vector<double>& reference, const std::vector<double>& measured,
                                             const AgreementLines& lines, const std::string& quantity, int width = 700,
                                             int height = 700);

}  // namespace echo
