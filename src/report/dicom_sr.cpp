// The SR content tree of one result: PS3.16 TID 5200 (Adult Echocardiography Procedure Report) with the
// device observer context (TID 1001/1002/1004) and the left-ventricle section (TID 5202) whose measurement
// groups hold TID 5203 measurements. Codes checked against PS3.16 (via pydicom's PS3.16 tables); the tree
// and every code are listed in docs/pacs.md.
#include <cstdio>

#include "echo/report.hpp"
#include "report/dicom_internal.hpp"

namespace echo::dicom_detail {
namespace {

// Concept names and values (scheme, value, meaning as PS3.16 gives them).
const Code kReportTitle{"125200", "DCM", "Adult Echocardiography Procedure Report"};
const Code kObserverType{"121005", "DCM", "Observer Type"};
const Code kDevice{"121007", "DCM", "Device"};
const Code kDeviceUid{"121012", "DCM", "Device Observer UID"};
const Code kDeviceName{"121013", "DCM", "Device Observer Name"};
const Code kDeviceManufacturer{"121014", "DCM", "Device Observer Manufacturer"};
const Code kDeviceModel{"121015", "DCM", "Device Observer Model Name"};
const Code kFindings{"121070", "DCM", "Findings"};
const Code kFindingSite{"363698007", "SCT", "Finding Site"};
const Code kLeftVentricle{"87878005", "SCT", "Left Ventricle"};
const Code kMeasurementGroup{"125007", "DCM", "Measurement Group"};
const Code kImageMode{"399264008", "SCT", "Image Mode"};
const Code k2dMode{"399064001", "SCT", "2D mode"};
const Code kMeasurementMethod{"370129005", "SCT", "Measurement Method"};
const Code kDisksSinglePlane{"125208", "DCM", "Method of Disks, Single Plane"};
const Code kDisksBiplane{"125207", "DCM", "Method of Disks, Biplane"};
const Code kEjectionFraction{"18043-0", "LN", "Left Ventricular Ejection Fraction by US"};
const Code kEndDiastolicVolume{"18026-5", "LN", "Left Ventricular End Diastolic Volume"};
const Code kEndSystolicVolume{"18148-7", "LN", "Left Ventricular End Systolic Volume"};
const Code kHeartRate{"8867-4", "LN", "Heart rate"};
const Code kCardiacCyclePoint{"272518008", "SCT", "Cardiac Cycle Point"};
const Code kEndDiastole{"416190007", "SCT", "End Diastole"};
const Code kEndSystole{"416430001", "SCT", "End Systole"};
const Code kDerivation{"121401", "DCM", "Derivation"};
const Code kMean{"373098007", "SCT", "Mean"};
const Code kBeatNumber{"122149", "DCM", "Beat Number"};
const Code kAlgorithmName{"111001", "DCM", "Algorithm Name"};
const Code kAlgorithmVersion{"111003", "DCM", "Algorithm Version"};
const Code kAlgorithmParameters{"111002", "DCM", "Algorithm Parameters"};
const Code kQualityAssessment{"111050", "DCM", "Quality Assessment"};
const Code kQualityFinding{"111052", "DCM", "Quality Finding"};
const Code kSummary{"121111", "DCM", "Summary"};
const Code kComment{"121106", "DCM", "Comment"};
const Code kMeasurementFailure{"114006", "DCM", "Measurement failure"};
const Code kPercent{"%", "UCUM", "%"};
const Code kMilliliter{"ml", "UCUM", "ml"};
const Code kBeatsPerMinute{"{H.B.}/min", "UCUM", "BPM"};
const Code kNoUnits{"1", "UCUM", "no units"};

ContentItem item(const char* relationship, const char* value_type, const Code& concept_name) {
  ContentItem c;
  c.relationship = relationship;
  c.value_type = value_type;
  c.concept_name = concept_name;
  return c;
}

ContentItem text(const char* relationship, const Code& concept_name, const std::string& value) {
  ContentItem c = item(relationship, "TEXT", concept_name);
  c.text = value;
  return c;
}

ContentItem code(const char* relationship, const Code& concept_name, const Code& value) {
  ContentItem c = item(relationship, "CODE", concept_name);
  c.code = value;
  return c;
}

ContentItem num(const Code& concept_name, std::optional<double> value, const Code& unit) {
  ContentItem c = item("CONTAINS", "NUM", concept_name);
  c.number = value;
  c.unit = unit;
  c.qualifier = kMeasurementFailure;
  return c;
}

// An INFERRED FROM reference to frames of the source (none when the source cannot be referenced).
void add_image_reference(ContentItem& parent, const SourceInfo& source, std::vector<int> frames_1based) {
  if (!source.is_dicom || source.study_instance_uid.empty()) return;
  ContentItem image;
  image.relationship = "INFERRED FROM";
  image.value_type = "IMAGE";
  image.ref_class_uid = source.sop_class_uid;
  image.ref_instance_uid = source.sop_instance_uid;
  if (source.frame_count > 1) image.ref_frames = std::move(frames_1based);
  parent.children.push_back(std::move(image));
}

std::vector<ContentItem> observer_context(const AnalysisResult& result) {
  ContentItem uid = item("HAS OBS CONTEXT", "UIDREF", kDeviceUid);
  uid.text = uuid_uid("device\n" + result.sdk_version + "\n" + result.model.name + "\n" + result.model.weights_sha256);
  return {code("HAS OBS CONTEXT", kObserverType, kDevice), uid,
          text("HAS OBS CONTEXT", kDeviceName, "EchoAnalyzer SDK " + result.sdk_version),
          text("HAS OBS CONTEXT", kDeviceManufacturer, "EchoAnalyzer"),
          text("HAS OBS CONTEXT", kDeviceModel, result.model.name + " " + result.model.version)};
}

// TID 4019 (algorithm identification) as modifiers of a measurement group: the model, its version and hash.
void add_algorithm(ContentItem& group, const AnalysisResult& result) {
  group.children.push_back(text("HAS CONCEPT MOD", kAlgorithmName, result.model.name));
  group.children.push_back(text("HAS CONCEPT MOD", kAlgorithmVersion, result.model.version));
  group.children.push_back(text("HAS CONCEPT MOD", kAlgorithmParameters,
                                "weights SHA-256 " + result.model.weights_sha256 + "; precision " +
                                    result.model.precision + "; device " + result.model.device));
}

ContentItem with_method(ContentItem measurement, const Code& method) {
  measurement.children.push_back(code("HAS CONCEPT MOD", kMeasurementMethod, method));
  return measurement;
}

ContentItem mean_group(const AnalysisResult& result, const SourceInfo& source, const SourceInfo& second) {
  const Code& method = result.biplane ? kDisksBiplane : kDisksSinglePlane;
  ContentItem group = item("CONTAINS", "CONTAINER", kMeasurementGroup);
  group.children.push_back(code("HAS CONCEPT MOD", kImageMode, k2dMode));
  add_algorithm(group, result);
  ContentItem ef = with_method(num(kEjectionFraction, result.ef_percent, kPercent), method);
  if (result.ef_percent && result.ef_basis == "beats") ef.children.push_back(code("HAS CONCEPT MOD", kDerivation, kMean));
  if (result.ed.frame >= 0 && result.es.frame >= 0) add_image_reference(ef, source, {result.ed.frame + 1, result.es.frame + 1});
  if (result.biplane) add_image_reference(ef, second, {});  // the biplane EF also rests on the A2C cine
  group.children.push_back(std::move(ef));
  if (result.edv_ml && result.esv_ml) {
    group.children.push_back(with_method(num(kEndDiastolicVolume, result.edv_ml, kMilliliter), method));
    group.children.push_back(with_method(num(kEndSystolicVolume, result.esv_ml, kMilliliter), method));
  }
  if (result.heart_rate_bpm > 0.0) group.children.push_back(num(kHeartRate, result.heart_rate_bpm, kBeatsPerMinute));
  if (!result.ef_percent) group.children.push_back(text("CONTAINS", kComment, "EF withheld: " + result.ef_withheld_reason));
  if (result.ef_percent && !result.edv_ml) {
    const std::string why = result.volumes_unavailable_reason.empty() ? "not measured" : result.volumes_unavailable_reason;
    group.children.push_back(text("CONTAINS", kComment, "Volumes (mL) not reported: " + why));
  }
  if (result.ef_basis == "loop_extremes") {
    group.children.push_back(text("CONTAINS", kComment,
                                  "No complete beat could be delimited: EF from the largest and smallest LV of the loop"));
  }
  return group;
}

// One group per beat: single-plane values of the analysed cine, with its ED and ES frames referenced.
ContentItem beat_group(const BeatResult& beat, int number, const SourceInfo& source) {
  ContentItem group = item("CONTAINS", "CONTAINER", kMeasurementGroup);
  group.children.push_back(code("HAS CONCEPT MOD", kImageMode, k2dMode));
  group.children.push_back(num(kBeatNumber, number, kNoUnits));
  ContentItem ef = with_method(num(kEjectionFraction, beat.ef_percent, kPercent), kDisksSinglePlane);
  add_image_reference(ef, source, {beat.ed_frame + 1, beat.es_frame + 1});
  group.children.push_back(std::move(ef));
  if (beat.edv_ml && beat.esv_ml) {
    ContentItem edv = with_method(num(kEndDiastolicVolume, beat.edv_ml, kMilliliter), kDisksSinglePlane);
    edv.children.push_back(code("HAS CONCEPT MOD", kCardiacCyclePoint, kEndDiastole));
    add_image_reference(edv, source, {beat.ed_frame + 1});
    ContentItem esv = with_method(num(kEndSystolicVolume, beat.esv_ml, kMilliliter), kDisksSinglePlane);
    esv.children.push_back(code("HAS CONCEPT MOD", kCardiacCyclePoint, kEndSystole));
    add_image_reference(esv, source, {beat.es_frame + 1});
    group.children.push_back(std::move(edv));
    group.children.push_back(std::move(esv));
  }
  if (beat.excluded) group.children.push_back(text("CONTAINS", kComment, "Left out of the mean: " + beat.exclusion_reason));
  return group;
}

ContentItem quality_section(const AnalysisResult& result) {
  ContentItem section = item("CONTAINS", "CONTAINER", kQualityAssessment);
  char score[64];
  std::snprintf(score, sizeof score, "Quality gate %s (score %.2f)", result.quality.pass ? "passed" : "failed",
                result.quality.score);
  section.children.push_back(text("CONTAINS", kComment, score));
  for (const QualityReason& reason : result.quality.reasons) {
    section.children.push_back(text("CONTAINS", kQualityFinding, std::string(reason.code_name) + ": " + reason.message_en));
  }
  return section;
}

}  // namespace

ContentItem sr_content_tree(const AnalysisResult& result, const SourceInfo& source, const SourceInfo& second,
                            bool new_study) {
  ContentItem root;
  root.value_type = "CONTAINER";
  root.concept_name = kReportTitle;
  root.children = observer_context(result);
  ContentItem findings = item("CONTAINS", "CONTAINER", kFindings);
  findings.children.push_back(code("HAS CONCEPT MOD", kFindingSite, kLeftVentricle));
  findings.children.push_back(mean_group(result, source, second));
  for (std::size_t i = 0; i < result.beats.size() && result.ef_percent; ++i) {
    findings.children.push_back(beat_group(result.beats[i], static_cast<int>(i) + 1, source));
  }
  root.children.push_back(std::move(findings));
  root.children.push_back(quality_section(result));
  root.children.push_back(text("CONTAINS", kSummary, report_text(result, ReportLanguage::en)));
  root.children.push_back(text("CONTAINS", kComment,
                               "Automated second opinion (EchoAnalyzer): a clinician must confirm these values "
                               "before they are used. This report is unverified and partial."));
  if (new_study) {
    root.children.push_back(text("CONTAINS", kComment,
                                 "The source had no Study Instance UID: this report is in a new study and does not "
                                 "reference the source images."));
  }
  return root;
}

}  // namespace echo::dicom_detail
