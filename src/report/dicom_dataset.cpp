// The DICOM report's building blocks: the source's identity, deterministic UIDs, the shared modules, the SR
// content items as GDCM data sets, and Part 10 encoding.
#include <array>
#include <cstdio>
#include <ctime>
#include <istream>
#include <sstream>

#include <gdcmExplicitDataElement.h>
#include <gdcmItem.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmSwapper.h>
#include <gdcmWriter.h>

#include "echo/sha256.hpp"
#include "io/dicom_structure.hpp"
#include "io/gdcm_util.hpp"
#include "report/dicom_internal.hpp"

namespace echo::dicom_detail {
namespace {

using io_detail::get_string;
using io_detail::put_bytes;

// General Study (and Patient Study) attributes copied from the source; group 0010 is copied whole.
constexpr std::array<std::pair<std::uint16_t, std::uint16_t>, 17> kStudyTags{{
    {0x0008, 0x0005}, {0x0008, 0x0020}, {0x0008, 0x0030}, {0x0008, 0x0050}, {0x0008, 0x0051}, {0x0008, 0x0090},
    {0x0008, 0x0096}, {0x0008, 0x0201}, {0x0008, 0x1030}, {0x0008, 0x1032}, {0x0008, 0x1048}, {0x0008, 0x1049},
    {0x0008, 0x1060}, {0x0008, 0x1062}, {0x0008, 0x1080}, {0x0020, 0x000d}, {0x0020, 0x0010}}};

// Type 2 attributes of the Patient and General Study modules: present, empty when the source lacks them.
struct Type2Tag {
  std::uint16_t group, element;
  gdcm::VR::VRType vr;
};
constexpr std::array<Type2Tag, 9> kType2Tags{{{0x0010, 0x0010, gdcm::VR::PN},
                                              {0x0010, 0x0020, gdcm::VR::LO},
                                              {0x0010, 0x0030, gdcm::VR::DA},
                                              {0x0010, 0x0040, gdcm::VR::CS},
                                              {0x0008, 0x0020, gdcm::VR::DA},
                                              {0x0008, 0x0030, gdcm::VR::TM},
                                              {0x0008, 0x0050, gdcm::VR::SH},
                                              {0x0008, 0x0090, gdcm::VR::PN},
                                              {0x0020, 0x0010, gdcm::VR::SH}}};

gdcm::DataSet identity_of(const gdcm::DataSet& ds) {
  gdcm::DataSet identity;
  for (const gdcm::DataElement& de : ds.GetDES()) {
    if (de.GetTag().GetGroup() == 0x0010) identity.Insert(de);
  }
  for (const auto& [group, element] : kStudyTags) {
    const gdcm::Tag tag(group, element);
    if (ds.FindDataElement(tag)) identity.Insert(ds.GetDataElement(tag));
  }
  return identity;
}

std::string reading(const DicomSourceBytes& source) {
  return "DICOM report: source '" + (source.name.empty() ? std::string("<memory>") : source.name) + "': ";
}

// The first date/time pair the source has, so that the new objects do not depend on the clock.
void source_dates(const gdcm::DataSet& ds, SourceInfo& info) {
  const std::uint16_t pairs[][2] = {{0x0023, 0x0033}, {0x0022, 0x0032}, {0x0021, 0x0031}, {0x0020, 0x0030}};
  for (const auto& pair : pairs) {
    auto date = get_string(ds, 0x0008, pair[0]);
    if (!date || date->size() != 8) continue;
    info.content_date = *date;
    info.content_time = get_string(ds, 0x0008, pair[1]).value_or("000000");
    return;
  }
}

}  // namespace

Expected<SourceInfo> read_source(const DicomSourceBytes& source) {
  SourceInfo info;
  if (source.data == nullptr || source.size == 0) return info;
  io_detail::silence_gdcm();
  io_detail::MemoryBuffer buffer(static_cast<const char*>(source.data), source.size);
  std::istream stream(&buffer);
  // Truncation is refused before GDCM sees it: its fallback parsers assert() (abort the process) on it.
  if (auto intact = io_detail::check_dicom_structure(stream, source.name); !intact) {
    return make_error(ErrorCode::malformed, reading(source) + intact.error().message);
  }
  gdcm::Reader reader;
  reader.SetStream(stream);
  bool parsed = false;
  try {
    parsed = reader.ReadUpToTag(gdcm::Tag(0x7fe0, 0x0010));
  } catch (...) {
    parsed = false;
  }
  if (!parsed) return make_error(ErrorCode::malformed, reading(source) + "not a DICOM file, or its header is damaged");
  const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  info.is_dicom = true;
  info.sop_class_uid = get_string(ds, 0x0008, 0x0016).value_or("");
  info.sop_instance_uid = get_string(ds, 0x0008, 0x0018).value_or("");
  info.series_instance_uid = get_string(ds, 0x0020, 0x000e).value_or("");
  info.study_instance_uid = get_string(ds, 0x0020, 0x000d).value_or("");
  info.frame_count = std::atoi(get_string(ds, 0x0028, 0x0008).value_or("0").c_str());
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"SOP Class UID (0008,0016)", &info.sop_class_uid},
                                    {"SOP Instance UID (0008,0018)", &info.sop_instance_uid},
                                    {"Series Instance UID (0020,000E)", &info.series_instance_uid}}) {
    if (value->empty()) {
      return make_error(ErrorCode::malformed, reading(source) + "it has no " + name + ", so the report could not reference it");
    }
  }
  source_dates(ds, info);
  info.identity = identity_of(ds);
  return info;
}

std::string uuid_uid(const std::string& seed) {
  const std::string hex = sha256_hex(seed.data(), seed.size());
  std::array<unsigned, 16> bytes{};
  for (std::size_t i = 0; i < 16; ++i) bytes[i] = static_cast<unsigned>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  bytes[6] = (bytes[6] & 0x0fu) | 0x80u;  // version 8 (RFC 9562, custom: name-based on SHA-256)
  bytes[8] = (bytes[8] & 0x3fu) | 0x80u;  // variant 10
  // The 128-bit value in decimal: repeated division by 10 of the big-endian bytes.
  std::string digits;
  bool nonzero = true;
  while (nonzero) {
    unsigned remainder = 0;
    nonzero = false;
    for (unsigned& b : bytes) {
      const unsigned value = remainder * 256 + b;
      b = value / 10;
      remainder = value % 10;
      nonzero = nonzero || b != 0;
    }
    digits.insert(digits.begin(), static_cast<char>('0' + remainder));
  }
  return "2.25." + digits;
}

void put_common(gdcm::DataSet& ds, const CommonAttributes& common, const std::string& modality) {
  for (const gdcm::DataElement& de : common.source->identity.GetDES()) ds.Replace(de);
  for (const Type2Tag& t : kType2Tags) {
    if (ds.FindDataElement(gdcm::Tag(t.group, t.element))) continue;
    gdcm::DataElement empty(gdcm::Tag(t.group, t.element));
    empty.SetVR(t.vr);
    ds.Insert(empty);
  }
  put_bytes(ds, 0x0020, 0x000d, gdcm::VR::UI, common.study_instance_uid);
  put_bytes(ds, 0x0008, 0x0060, gdcm::VR::CS, modality);
  put_bytes(ds, 0x0020, 0x000e, gdcm::VR::UI, common.series_instance_uid);
  put_bytes(ds, 0x0020, 0x0011, gdcm::VR::IS, std::to_string(common.series_number));
  put_bytes(ds, 0x0008, 0x103e, gdcm::VR::LO, "EchoAnalyzer LVEF (second opinion)");
  put_bytes(ds, 0x0008, 0x0021, gdcm::VR::DA, common.content_date);
  put_bytes(ds, 0x0008, 0x0031, gdcm::VR::TM, common.content_time);
  put_bytes(ds, 0x0008, 0x0023, gdcm::VR::DA, common.content_date);
  put_bytes(ds, 0x0008, 0x0033, gdcm::VR::TM, common.content_time);
  put_bytes(ds, 0x0008, 0x0070, gdcm::VR::LO, "EchoAnalyzer");
  put_bytes(ds, 0x0008, 0x1090, gdcm::VR::LO, "EchoAnalyzer SDK");
  put_bytes(ds, 0x0018, 0x1020, gdcm::VR::LO, ascii(common.sdk_version));
}

void put_sequence(gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element, const std::vector<gdcm::DataSet>& items) {
  gdcm::SmartPointer<gdcm::SequenceOfItems> sequence = new gdcm::SequenceOfItems();
  sequence->SetLengthToUndefined();
  for (const gdcm::DataSet& nested : items) {
    gdcm::Item item;
    item.SetVLToUndefined();
    item.SetNestedDataSet(nested);
    sequence->AddItem(item);
  }
  gdcm::DataElement de(gdcm::Tag(group, element));
  de.SetVR(gdcm::VR::SQ);
  de.SetValue(*sequence);
  de.SetVLToUndefined();
  ds.Replace(de);
}

namespace {

gdcm::DataSet code_item(const Code& code) {
  gdcm::DataSet ds;
  put_bytes(ds, 0x0008, 0x0100, gdcm::VR::SH, code.value);
  put_bytes(ds, 0x0008, 0x0102, gdcm::VR::SH, code.scheme);
  put_bytes(ds, 0x0008, 0x0104, gdcm::VR::LO, code.meaning);
  return ds;
}

// A Decimal String of at most 16 characters.
std::string decimal_string(double v) {
  char buf[64];
  for (int precision = 10; precision >= 1; --precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::string(buf).size() <= 16) return buf;
  }
  return "0";
}

void put_value(gdcm::DataSet& ds, const ContentItem& item) {
  if (item.value_type == "CONTAINER") {
    put_bytes(ds, 0x0040, 0xa050, gdcm::VR::CS, "SEPARATE");
  } else if (item.value_type == "TEXT") {
    put_bytes(ds, 0x0040, 0xa160, gdcm::VR::UT, ascii(item.text));
  } else if (item.value_type == "UIDREF") {
    put_bytes(ds, 0x0040, 0xa124, gdcm::VR::UI, item.text);
  } else if (item.value_type == "CODE") {
    put_sequence(ds, 0x0040, 0xa168, {code_item(item.code)});
  } else if (item.value_type == "NUM") {
    std::vector<gdcm::DataSet> measured;
    if (item.number) {
      gdcm::DataSet value;
      put_sequence(value, 0x0040, 0x08ea, {code_item(item.unit)});
      put_bytes(value, 0x0040, 0xa30a, gdcm::VR::DS, decimal_string(*item.number));
      measured.push_back(value);
    }
    put_sequence(ds, 0x0040, 0xa300, measured);
    if (!item.number) put_sequence(ds, 0x0040, 0xa301, {code_item(item.qualifier)});
  } else if (item.value_type == "IMAGE") {
    gdcm::DataSet reference;
    put_bytes(reference, 0x0008, 0x1150, gdcm::VR::UI, item.ref_class_uid);
    put_bytes(reference, 0x0008, 0x1155, gdcm::VR::UI, item.ref_instance_uid);
    if (!item.ref_frames.empty()) {
      std::string frames;
      for (int f : item.ref_frames) frames += (frames.empty() ? "" : "\\") + std::to_string(f);
      put_bytes(reference, 0x0008, 0x1160, gdcm::VR::IS, frames);
    }
    put_sequence(ds, 0x0008, 0x1199, {reference});
  }
}

gdcm::DataSet content_item(const ContentItem& item) {
  gdcm::DataSet ds;
  put_bytes(ds, 0x0040, 0xa010, gdcm::VR::CS, item.relationship);
  put_content(ds, item);
  return ds;
}

}  // namespace

void put_content(gdcm::DataSet& ds, const ContentItem& item) {
  put_bytes(ds, 0x0040, 0xa040, gdcm::VR::CS, item.value_type);
  if (item.concept_name) put_sequence(ds, 0x0040, 0xa043, {code_item(*item.concept_name)});
  put_value(ds, item);
  if (item.children.empty()) return;
  std::vector<gdcm::DataSet> children;
  children.reserve(item.children.size());
  for (const ContentItem& child : item.children) children.push_back(content_item(child));
  put_sequence(ds, 0x0040, 0xa730, children);
}

std::string dataset_bytes(const gdcm::DataSet& ds) {
  std::ostringstream out(std::ios::binary);
  ds.Write<gdcm::ExplicitDataElement, gdcm::SwapperNoOp>(out);
  return out.str();
}

Expected<std::vector<std::uint8_t>> encode_part10(gdcm::DataSet ds, const std::string& what) {
  gdcm::Writer writer;
  writer.GetFile().SetDataSet(ds);
  writer.GetFile().GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
  std::ostringstream out(std::ios::binary);
  writer.SetStream(out);
  bool written = false;
  try {
    written = writer.Write();
  } catch (...) {
    written = false;
  }
  if (!written) return make_error(ErrorCode::internal, "DICOM report: GDCM could not encode the " + what);
  const std::string bytes = out.str();
  return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
}

std::string ascii(const std::string& text) {
  static const std::pair<const char*, const char*> kReplacements[] = {
      {"\xe2\x89\xa5", ">="}, {"\xe2\x89\xa4", "<="}, {"\xc3\x97", "x"},   {"\xc2\xb1", "+/-"}, {"\xc2\xb0", " deg"},
      {"\xe2\x80\x93", "-"},  {"\xe2\x80\x94", "-"},  {"\xe2\x80\x99", "'"}, {"\xc2\xb2", "2"},   {"\xc2\xb5", "u"},
      {"\xe2\x86\x92", "->"}};
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    for (const auto& [from, to] : kReplacements) {
      const std::size_t n = std::char_traits<char>::length(from);
      if (text.compare(i, n, from) == 0) {
        out += to;
        i += n;
        replaced = true;
        break;
      }
    }
    if (replaced) continue;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out += (c >= 0x20 || c == '\n' || c == '\r') ? static_cast<char>(c) : ' ';
      ++i;
      continue;
    }
    out += '?';  // one '?' per non-ASCII character: skip its continuation bytes
    ++i;
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xc0) == 0x80) ++i;
  }
  return out;
}

}  // namespace echo::dicom_detail
