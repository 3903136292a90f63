// The C ABI's DICOM report (docs/pacs.md): echo_result_dicom_report over echo::make_dicom_report.
#include <memory>

#include "echo/dicom_report.hpp"
#include "echo_capi_handles.hpp"
#include "echo_capi_internal.hpp"

struct echo_dicom_report {
  echo::DicomReport report;
};

namespace {

using namespace echo::capi;

echo_dicom_options default_dicom_options() noexcept {
  echo_dicom_options o{};
  o.struct_size = sizeof o;
  o.overlays = 1;
  o.series_number = 0;
  return o;
}

echo_status check_report(const char* function, const echo_dicom_report* report) {
  return report == nullptr ? null_argument(function, "report") : ECHO_OK;
}

}  // namespace

extern "C" {

ECHO_API echo_status echo_dicom_options_init(echo_dicom_options* options, size_t struct_size) {
  return init_struct("echo_dicom_options_init", options, struct_size, default_dicom_options());
}

ECHO_API echo_status echo_result_dicom_report(const echo_result* result, const echo_dicom_options* options,
                                              echo_dicom_report** out_report) {
  static constexpr const char* function = "echo_result_dicom_report";
  return guarded(function, [&]() -> echo_status {
    if (result == nullptr) return null_argument(function, "result");
    if (out_report == nullptr) return null_argument(function, "out_report");
    echo_dicom_options o{};
    if (const echo_status s = read_input(function, "options", options, default_dicom_options(), o); s != ECHO_OK) return s;
    if ((o.source_data == nullptr) != (o.source_size == 0) ||
        (o.second_source_data == nullptr) != (o.second_source_size == 0)) {
      return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": a source pointer and its size must be both set or both 0");
    }
    echo::DicomReportInput input;
    input.result = &result->result;
    input.source = {o.source_data, o.source_size, "source"};
    input.second_source = {o.second_source_data, o.second_source_size, "second source"};
    input.ed_frame = result->ed_frame;
    input.es_frame = result->es_frame;
    echo::DicomReportOptions report_options;
    report_options.overlays = o.overlays != 0;
    if (o.series_number > 0) report_options.series_number = o.series_number;
    auto report = echo::make_dicom_report(input, report_options);
    if (!report) return fail(report.error());
    auto handle = std::make_unique<echo_dicom_report>();
    handle->report = std::move(*report);
    *out_report = handle.release();
    return ECHO_OK;
  });
}

ECHO_API void echo_dicom_report_destroy(echo_dicom_report* report) {
  guarded_void([&] { delete report; });
}

ECHO_API echo_status echo_dicom_report_count(const echo_dicom_report* report, size_t* out_count) {
  static constexpr const char* function = "echo_dicom_report_count";
  return guarded(function, [&]() -> echo_status {
    if (const echo_status s = check_report(function, report); s != ECHO_OK) return s;
    if (out_count == nullptr) return null_argument(function, "out_count");
    *out_count = report->report.objects.size();
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_dicom_report_object(const echo_dicom_report* report, size_t index,
                                              echo_dicom_object* out_object) {
  static constexpr const char* function = "echo_dicom_report_object";
  return guarded(function, [&]() -> echo_status {
    if (const echo_status s = check_report(function, report); s != ECHO_OK) return s;
    if (const echo_status s = check_output(function, "out_object", out_object); s != ECHO_OK) return s;
    const auto& objects = report->report.objects;
    if (index >= objects.size()) {
      return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": index " + std::to_string(index) +
                                             " is not below the object count " + std::to_string(objects.size()));
    }
    const echo::DicomObject& object = objects[index];
    echo_dicom_object c{};
    c.struct_size = sizeof c;
    c.kind = object.kind.c_str();
    c.sop_class_uid = object.sop_class_uid.c_str();
    c.sop_instance_uid = object.sop_instance_uid.c_str();
    c.data = object.bytes.data();
    c.size = object.bytes.size();
    write_output(out_object, c);
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_dicom_report_write(const echo_dicom_report* report, const char* directory) {
  static constexpr const char* function = "echo_dicom_report_write";
  return guarded(function, [&]() -> echo_status {
    if (const echo_status s = check_report(function, report); s != ECHO_OK) return s;
    if (directory == nullptr || directory[0] == '\0') return null_argument(function, "directory");
    auto written = echo::write_dicom_report(report->report, directory);
    return written ? ECHO_OK : fail(written.error());
  });
}

}  // extern "C"
