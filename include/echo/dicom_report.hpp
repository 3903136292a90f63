// echo/dicom_report.hpp: the result as DICOM objects for PACS: a Comprehensive SR that follows PS3.16
// TID 5200 (Adult Echocardiography Procedure Report, left-ventricle section) and the ED/ES overlays and the
// volume curve as Secondary Capture images, all in one new series of the source's study. Content tree and
// codes: docs/pacs.md. No GDCM type appears here.
//
// Privacy: the source's patient and study attributes are copied into these objects and nowhere else; no
// message of this stage names them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "echo/error.hpp"
#include "echo/image.hpp"
#include "echo/result.hpp"

namespace echo {

// A DICOM file in memory (Part 10 bytes), borrowed for the call. data == nullptr: the cine did not come from
// DICOM (video, frames): the objects then go into a new study with an empty patient module.
struct DicomSourceBytes {
  const void* data = nullptr;
  std::size_t size = 0;
  std::string name;  // for messages only (a file name, never a patient attribute)
};

struct DicomReportInput {
  const AnalysisResult* result = nullptr;
  DicomSourceBytes source;         // the analysed cine's file (the A4C one for a biplane study)
  DicomSourceBytes second_source;  // biplane: the A2C cine's file (referenced as evidence)
  Image8 ed_frame;                 // grey pixels of result->ed.frame and result->es.frame, for the overlays;
  Image8 es_frame;                 // empty: that overlay is left out
};

struct DicomReportOptions {
  bool overlays = true;            // ED/ES contour overlays and the volume curve as Secondary Capture
  int series_number = 9401;        // Series Number of the new series
};

struct DicomObject {
  std::string kind;                // "sr", "ed_overlay", "es_overlay", "volume_curve"
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::vector<std::uint8_t> bytes; // a DICOM Part 10 file, Explicit VR Little Endian
};

struct DicomReport {
  std::string series_instance_uid;
  bool new_study = false;          // the source had no Study Instance UID (or was not DICOM)
  std::vector<DicomObject> objects;  // the SR first
};

// Builds the SR and the overlays. The same input gives the same bytes: UIDs are `2.25.` UUIDs derived from
// the source's SOP Instance UID and the content. Errors: invalid_argument (no result), malformed (a source
// that cannot be parsed or referenced: no SOP Class/Instance UID or no Series Instance UID).
Expected<DicomReport> make_dicom_report(const DicomReportInput& input, const DicomReportOptions& options = {});

// Writes each object as DIRECTORY/<kind>.dcm (directory created when missing), all or nothing: each file is
// written under a temporary name and renamed when all are written; on failure none is left. Returns the paths.
Expected<std::vector<std::string>> write_dicom_report(const DicomReport& report, const std::string& directory);

}  // namespace echo
