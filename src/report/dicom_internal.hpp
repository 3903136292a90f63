// Private to the DICOM report (dicom_*.cpp): the source's identity, UIDs, and a small SR content-item tree
// that is turned into GDCM data sets only at the end.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <gdcmDataSet.h>

#include "echo/dicom_report.hpp"

namespace echo::dicom_detail {

// What the new objects take from a source file. `identity` holds the patient, patient-study and general-study
// attributes and the character set, copied as they are: it goes into the DICOM objects and nowhere else.
struct SourceInfo {
  bool is_dicom = false;
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string series_instance_uid;
  std::string study_instance_uid;  // empty: a new study is made
  std::string content_date;        // of the source (deterministic dates for the new objects)
  std::string content_time;
  int frame_count = 0;             // Number of Frames (0 when absent)
  gdcm::DataSet identity;
};

// Parses a source (up to its pixel data). A DICOM source that cannot be referenced is an error.
Expected<SourceInfo> read_source(const DicomSourceBytes& source);

// "2.25." and the decimal value of a name-based UUID (version 8, from SHA-256 of `seed`).
std::string uuid_uid(const std::string& seed);

// The attributes every new object shares: patient and study (from the source, or a new study), the new
// series, equipment, dates, character set.
struct CommonAttributes {
  const SourceInfo* source = nullptr;
  std::string study_instance_uid;
  std::string series_instance_uid;
  int series_number = 0;
  std::string content_date;
  std::string content_time;
  std::string sdk_version;
};
void put_common(gdcm::DataSet& ds, const CommonAttributes& common, const std::string& modality);

// A coded concept (Code Value, Coding Scheme Designator, Code Meaning).
struct Code {
  std::string value;
  std::string scheme;
  std::string meaning;
};

// One SR content item and its children, by value type.
struct ContentItem {
  std::string relationship;        // "CONTAINS", "HAS CONCEPT MOD", ... (empty for the root)
  std::string value_type;          // CONTAINER, NUM, CODE, TEXT, UIDREF, IMAGE
  std::optional<Code> concept_name;
  std::string text;                // TEXT, UIDREF
  Code code;                       // CODE
  std::optional<double> number;    // NUM; empty: no value, with `qualifier` saying why
  Code unit;                       // NUM
  Code qualifier;                  // NUM without a value
  std::string ref_class_uid;       // IMAGE
  std::string ref_instance_uid;
  std::vector<int> ref_frames;     // IMAGE, 1-based
  std::vector<ContentItem> children;
};

// The TID 5200 tree of a result (docs/pacs.md): sources for the image references, `new_study` for the note.
ContentItem sr_content_tree(const AnalysisResult& result, const SourceInfo& source, const SourceInfo& second,
                            bool new_study);

// Writes the root item's content (value type, concept, children) into `ds`.
void put_content(gdcm::DataSet& ds, const ContentItem& root);

// The data set's bytes (Explicit VR Little Endian, no file meta): a fingerprint of its content.
std::string dataset_bytes(const gdcm::DataSet& ds);

// A Part 10 file of `ds` (Explicit VR Little Endian).
Expected<std::vector<std::uint8_t>> encode_part10(gdcm::DataSet ds, const std::string& what);

// Sets a sequence attribute from its items.
void put_sequence(gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element, const std::vector<gdcm::DataSet>& items);

// Printable ASCII (the SR's own texts; copied attributes keep their bytes).
std::string ascii(const std::string& text);

}  // namespace echo::dicom_detail
