// The DICOM report: the SR (dicom_sr.cpp) and the overlays as Secondary Capture, in one new series of the
// source's study, and their all-or-nothing writing.
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "echo/dicom_report.hpp"
#include "echo/file_io.hpp"
#include "echo/report.hpp"
#include "io/gdcm_util.hpp"
#include "report/dicom_internal.hpp"

namespace echo {
namespace {

using dicom_detail::CommonAttributes;
using dicom_detail::SourceInfo;
using io_detail::put_bytes;

constexpr const char* kComprehensiveSr = "1.2.840.10008.5.1.4.1.1.88.33";
constexpr const char* kSecondaryCapture = "1.2.840.10008.5.1.4.1.1.7";

// Today's date and time (UTC): only for sources that state no date at all.
std::pair<std::string, std::string> now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[16], time[16];
  std::strftime(date, sizeof date, "%Y%m%d", &tm);
  std::strftime(time, sizeof time, "%H%M%S", &tm);
  return {date, time};
}

// What the UIDs derive from: the sources' SOP Instance UIDs and the result's content (never its timings).
std::string uid_seed(const SourceInfo& source, const SourceInfo& second, const AnalysisResult& result,
                     const std::string& content) {
  std::string seed = source.sop_instance_uid + "\n" + second.sop_instance_uid + "\n";
  seed += content;
  for (double v : result.lv_volume_ml) seed.append(reinterpret_cast<const char*>(&v), sizeof v);
  return seed;
}

gdcm::DataSet sop_reference(const SourceInfo& source) {
  gdcm::DataSet ds;
  put_bytes(ds, 0x0008, 0x1150, gdcm::VR::UI, source.sop_class_uid);
  put_bytes(ds, 0x0008, 0x1155, gdcm::VR::UI, source.sop_instance_uid);
  return ds;
}

// Current Requested Procedure Evidence: the referenced sources, by study and series.
void put_evidence(gdcm::DataSet& ds, const std::vector<const SourceInfo*>& sources) {
  std::vector<gdcm::DataSet> studies;
  for (const SourceInfo* s : sources) {
    if (!s->is_dicom || s->study_instance_uid.empty()) continue;
    gdcm::DataSet series;
    put_bytes(series, 0x0020, 0x000e, gdcm::VR::UI, s->series_instance_uid);
    dicom_detail::put_sequence(series, 0x0008, 0x1199, {sop_reference(*s)});
    gdcm::DataSet study;
    put_bytes(study, 0x0020, 0x000d, gdcm::VR::UI, s->study_instance_uid);
    dicom_detail::put_sequence(study, 0x0008, 0x1115, {series});
    studies.push_back(study);
  }
  if (!studies.empty()) dicom_detail::put_sequence(ds, 0x0040, 0xa375, studies);
}

gdcm::DataSet sr_dataset(const CommonAttributes& common, const dicom_detail::ContentItem& root,
                         const std::string& sop_instance_uid, const SourceInfo& second) {
  gdcm::DataSet ds;
  dicom_detail::put_common(ds, common, "SR");
  put_bytes(ds, 0x0008, 0x0016, gdcm::VR::UI, kComprehensiveSr);
  put_bytes(ds, 0x0008, 0x0018, gdcm::VR::UI, sop_instance_uid);
  put_bytes(ds, 0x0020, 0x0013, gdcm::VR::IS, "1");
  dicom_detail::put_sequence(ds, 0x0008, 0x1111, {});  // Referenced Performed Procedure Step (type 2)
  put_bytes(ds, 0x0040, 0xa491, gdcm::VR::CS, "PARTIAL");
  put_bytes(ds, 0x0040, 0xa493, gdcm::VR::CS, "UNVERIFIED");
  put_bytes(ds, 0x0040, 0xa496, gdcm::VR::CS, "PRELIMINARY");
  dicom_detail::put_sequence(ds, 0x0040, 0xa372, {});  // Performed Procedure Code (type 2)
  put_evidence(ds, {common.source, &second});
  gdcm::DataSet tmpl;
  put_bytes(tmpl, 0x0008, 0x0105, gdcm::VR::CS, "DCMR");
  put_bytes(tmpl, 0x0040, 0xdb00, gdcm::VR::CS, "5200");
  dicom_detail::put_sequence(ds, 0x0040, 0xa504, {tmpl});
  dicom_detail::put_content(ds, root);
  return ds;
}

struct Overlay {
  std::string kind;
  ImageRgb8 image;
  std::string description;
  int source_frame = -1;  // 0-based frame of the source it was drawn on; -1 for the curve
};

gdcm::DataSet sc_dataset(const CommonAttributes& common, const Overlay& overlay, const std::string& sop_instance_uid,
                         int instance_number) {
  gdcm::DataSet ds;
  dicom_detail::put_common(ds, common, "SR");
  put_bytes(ds, 0x0008, 0x0016, gdcm::VR::UI, kSecondaryCapture);
  put_bytes(ds, 0x0008, 0x0018, gdcm::VR::UI, sop_instance_uid);
  put_bytes(ds, 0x0008, 0x0008, gdcm::VR::CS, "DERIVED\\SECONDARY");
  put_bytes(ds, 0x0008, 0x0064, gdcm::VR::CS, "WSD");
  put_bytes(ds, 0x0020, 0x0013, gdcm::VR::IS, std::to_string(instance_number));
  put_bytes(ds, 0x0020, 0x0020, gdcm::VR::CS, "");
  put_bytes(ds, 0x0020, 0x0060, gdcm::VR::CS, "");  // Laterality (type 2C): the heart is not a paired organ
  put_bytes(ds, 0x0028, 0x0301, gdcm::VR::CS, "YES");
  put_bytes(ds, 0x0008, 0x2111, gdcm::VR::ST, dicom_detail::ascii(overlay.description));
  const SourceInfo& source = *common.source;
  if (overlay.source_frame >= 0 && source.is_dicom && !source.study_instance_uid.empty()) {
    gdcm::DataSet reference = sop_reference(source);
    if (source.frame_count > 1) put_bytes(reference, 0x0008, 0x1160, gdcm::VR::IS, std::to_string(overlay.source_frame + 1));
    gdcm::DataSet purpose;
    put_bytes(purpose, 0x0008, 0x0100, gdcm::VR::SH, "121322");
    put_bytes(purpose, 0x0008, 0x0102, gdcm::VR::SH, "DCM");
    put_bytes(purpose, 0x0008, 0x0104, gdcm::VR::LO, "Source image for image processing operation");
    dicom_detail::put_sequence(reference, 0x0040, 0xa170, {purpose});
    dicom_detail::put_sequence(ds, 0x0008, 0x2112, {reference});
  }
  const auto us = [&ds](std::uint16_t element, int value) {
    const std::uint16_t v = static_cast<std::uint16_t>(value);
    put_bytes(ds, 0x0028, element, gdcm::VR::US, std::string{static_cast<char>(v & 0xff), static_cast<char>(v >> 8)});
  };
  us(0x0002, 3);
  put_bytes(ds, 0x0028, 0x0004, gdcm::VR::CS, "RGB");
  us(0x0006, 0);
  us(0x0010, overlay.image.height);
  us(0x0011, overlay.image.width);
  us(0x0100, 8);
  us(0x0101, 8);
  us(0x0102, 7);
  us(0x0103, 0);
  put_bytes(ds, 0x7fe0, 0x0010, gdcm::VR::OB, std::string(overlay.image.pixels.begin(), overlay.image.pixels.end()));
  return ds;
}

Expected<std::vector<Overlay>> render_overlays(const DicomReportInput& input) {
  const AnalysisResult& result = *input.result;
  std::vector<Overlay> overlays;
  const struct {
    const char* kind;
    const char* label;
    const Image8* frame;
    const KeyframeGeometry* keyframe;
  } keyframes[] = {{"ed_overlay", "end-diastole", &input.ed_frame, &result.ed},
                   {"es_overlay", "end-systole", &input.es_frame, &result.es}};
  for (const auto& k : keyframes) {
    if (k.frame->empty() || k.keyframe->frame < 0) continue;
    const std::string label = std::string(k.label) + " (frame " + std::to_string(k.keyframe->frame) + ")";
    auto image = render_keyframe_overlay(*k.frame, *k.keyframe, label);
    if (!image) return tl::unexpected(image.error());
    overlays.push_back({k.kind, std::move(*image), "LV contour, long axis and discs drawn on the " + label, k.keyframe->frame});
  }
  if (!result.lv_volume_ml.empty()) {
    auto curve = render_volume_curve(result);
    if (!curve) return tl::unexpected(curve.error());
    overlays.push_back({"volume_curve", std::move(*curve), "LV volume over time with ED and ES marked", -1});
  }
  return overlays;
}

Expected<DicomReport> build_report(const DicomReportInput& input, const DicomReportOptions& options) {
  if (input.result == nullptr) return make_error(ErrorCode::invalid_argument, "DICOM report: no analysis result");
  auto source = dicom_detail::read_source(input.source);
  if (!source) return tl::unexpected(source.error());
  auto second = dicom_detail::read_source(input.second_source);
  if (!second) return tl::unexpected(second.error());
  const AnalysisResult& result = *input.result;
  DicomReport report;
  report.new_study = source->study_instance_uid.empty();
  const dicom_detail::ContentItem root = dicom_detail::sr_content_tree(result, *source, *second, report.new_study);
  gdcm::DataSet content;
  dicom_detail::put_content(content, root);
  const std::string seed = uid_seed(*source, *second, result, dicom_detail::dataset_bytes(content));

  CommonAttributes common;
  common.source = &*source;
  common.study_instance_uid = report.new_study ? dicom_detail::uuid_uid("study\n" + seed) : source->study_instance_uid;
  common.series_instance_uid = dicom_detail::uuid_uid("series\n" + seed);
  common.series_number = options.series_number;
  std::tie(common.content_date, common.content_time) =
      source->content_date.empty() ? now_utc() : std::make_pair(source->content_date, source->content_time);
  common.sdk_version = result.sdk_version;
  report.series_instance_uid = common.series_instance_uid;

  const std::string sr_uid = dicom_detail::uuid_uid("sr\n" + seed);
  auto sr = dicom_detail::encode_part10(sr_dataset(common, root, sr_uid, *second), "structured report");
  if (!sr) return tl::unexpected(sr.error());
  report.objects.push_back({"sr", kComprehensiveSr, sr_uid, std::move(*sr)});
  if (!options.overlays) return report;
  auto overlays = render_overlays(input);
  if (!overlays) return tl::unexpected(overlays.error());
  int instance = 2;
  for (const Overlay& overlay : *overlays) {
    const std::string uid = dicom_detail::uuid_uid(overlay.kind + "\n" + seed);
    auto bytes = dicom_detail::encode_part10(sc_dataset(common, overlay, uid, instance++), overlay.kind + " image");
    if (!bytes) return tl::unexpected(bytes.error());
    report.objects.push_back({overlay.kind, kSecondaryCapture, uid, std::move(*bytes)});
  }
  return report;
}

std::string writing(const std::string& path) { return "DICOM report: writing '" + path + "': "; }

}  // namespace

Expected<DicomReport> make_dicom_report(const DicomReportInput& input, const DicomReportOptions& options) {
  try {
    return build_report(input, options);
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::out_of_memory, "DICOM report: out of memory");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal, std::string("DICOM report: ") + e.what());
  } catch (...) {
    return make_error(ErrorCode::internal, "DICOM report: unexpected failure");
  }
}

Expected<std::vector<std::string>> write_dicom_report(const DicomReport& report, const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) return make_error(ErrorCode::io_failed, writing(directory) + "cannot create the directory (" + ec.message() + ")");
  // The SR and its images are one set: all are written, or none (echo/file_io.hpp).
  std::vector<std::string> final_paths;
  std::vector<FileBytes> files;
  for (const DicomObject& object : report.objects) {
    final_paths.push_back((fs::path(directory) / (object.kind + ".dcm")).string());
    files.push_back({final_paths.back(), object.bytes.data(), object.bytes.size()});
  }
  if (auto written = write_files_atomically(files); !written) {
    return make_error(written.error().code, "DICOM report: " + written.error().message);
  }
  return final_paths;
}

}  // namespace echo
