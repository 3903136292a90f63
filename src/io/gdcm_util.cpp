#include "io/gdcm_util.hpp"

#include <cstdlib>
#include <cstring>
#include <mutex>

#include <gdcmByteValue.h>
#include <gdcmTrace.h>

namespace echo::io_detail {
namespace {

const gdcm::ByteValue* byte_value(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
  const gdcm::Tag tag(group, element);
  if (!ds.FindDataElement(tag)) return nullptr;
  const gdcm::DataElement& de = ds.GetDataElement(tag);
  if (de.IsEmpty()) return nullptr;
  const gdcm::ByteValue* bv = de.GetByteValue();
  if (bv == nullptr || bv->GetPointer() == nullptr || bv->GetLength() == 0) return nullptr;
  return bv;
}

template <class T>
T load_little_endian(const char* p) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  T out;
  if constexpr (sizeof(T) == 8) {
    std::memcpy(&out, &v, 8);
  } else if constexpr (sizeof(T) == 4) {
    const auto v32 = static_cast<std::uint32_t>(v);
    std::memcpy(&out, &v32, 4);
  } else {
    const auto v16 = static_cast<std::uint16_t>(v);
    std::memcpy(&out, &v16, 2);
  }
  return out;
}

std::string trim(std::string s) {
  const auto is_pad = [](char c) { return c == ' ' || c == '\0' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_pad(s.back())) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && is_pad(s[start])) ++start;
  return s.substr(start);
}

}  // namespace

void silence_gdcm() {
  static std::once_flag once;
  std::call_once(once, [] {
    gdcm::Trace::WarningOff();
    gdcm::Trace::ErrorOff();
    gdcm::Trace::DebugOff();
  });
}

std::optional<std::string> get_string(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
  const gdcm::ByteValue* bv = byte_value(ds, group, element);
  if (bv == nullptr) return std::nullopt;
  return trim(std::string(bv->GetPointer(), bv->GetLength()));
}

std::vector<double> get_decimal_values(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
  std::vector<double> values;
  const auto text = get_string(ds, group, element);
  if (!text) return values;
  std::size_t start = 0;
  while (start <= text->size()) {
    const std::size_t end = std::min(text->find('\\', start), text->size());
    const std::string item = trim(text->substr(start, end - start));
    char* parsed_end = nullptr;
    const double v = std::strtod(item.c_str(), &parsed_end);
    if (item.empty() || parsed_end == item.c_str() || *parsed_end != '\0') return {};  // not a number: ignore all
    values.push_back(v);
    start = end + 1;
  }
  return values;
}

std::optional<double> get_decimal(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
  const auto values = get_decimal_values(ds, group, element);
  if (values.empty()) return std::nullopt;
  return values.front();
}

std::optional<std::uint32_t> get_unsigned(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
  const gdcm::ByteValue* bv = byte_value(ds, group, element);
  if (bv == nullptr) return std::nullopt;
  if (bv->GetLength() == 2) return load_little_endian<std::uint16_t>(bv->GetPointer());
  if (bv->GetLength() >= 4) return load_little_endian<std::uint32_t>(bv->GetPointer());
  return std::nullopt;
}

std::optional<std::int32_t> get_signed32(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
  const gdcm::ByteValue* bv = byte_value(ds, group, element);
  if (bv == nullptr || bv->GetLength() < 4) return std::nullopt;
  return load_little_endian<std::int32_t>(bv->GetPointer());
}

std::optional<double> get_float64(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
  const gdcm::ByteValue* bv = byte_value(ds, group, element);
  if (bv == nullptr || bv->GetLength() < 8) return std::nullopt;
  return load_little_endian<double>(bv->GetPointer());
}

std::vector<double> get_float32_values(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element) {
  std::vector<double> values;
  const gdcm::ByteValue* bv = byte_value(ds, group, element);
  if (bv == nullptr) return values;
  for (std::size_t i = 0; i + 4 <= bv->GetLength(); i += 4) {
    values.push_back(static_cast<double>(load_little_endian<float>(bv->GetPointer() + i)));
  }
  return values;
}

std::string transfer_syntax_name(const std::string& uid) {
  struct Entry {
    const char* uid;
    const char* name;
  };
  static const Entry kNames[] = {
      {"1.2.840.10008.1.2", "Implicit VR Little Endian"},
      {"1.2.840.10008.1.2.1", "Explicit VR Little Endian"},
      {"1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian"},
      {"1.2.840.10008.1.2.2", "Explicit VR Big Endian"},
      {"1.2.840.10008.1.2.4.50", "JPEG Baseline"},
      {"1.2.840.10008.1.2.4.51", "JPEG Extended"},
      {"1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical"},
      {"1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction"},
      {"1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"},
      {"1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)"},
      {"1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)"},
      {"1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression"},
      {"1.2.840.10008.1.2.5", "RLE Lossless"},
      {"1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"},
      {"1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level"},
      {"1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1"},
      {"1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"},
      {"1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video"},
      {"1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video"},
      {"1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2"},
      {"1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1"},
      {"1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1"},
  };
  for (const auto& e : kNames) {
    if (uid == e.uid) return e.name;
  }
  return uid;
}

void put_bytes(gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element, gdcm::VR vr, std::string bytes) {
  if (bytes.size() % 2 != 0) bytes.push_back(vr == gdcm::VR::UI || vr == gdcm::VR::OB ? '\0' : ' ');
  gdcm::DataElement de(gdcm::Tag(group, element));
  de.SetVR(vr);
  de.SetByteValue(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
  ds.Replace(de);
}

MemoryBuffer::MemoryBuffer(const char* data, std::size_t size) {
  char* begin = const_cast<char*>(data);  // never written through: get area only
  setg(begin, begin, begin + size);
}

MemoryBuffer::pos_type MemoryBuffer::seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode which) {
  if (!(which & std::ios_base::in)) return pos_type(off_type(-1));
  off_type base = 0;
  if (dir == std::ios_base::cur) base = gptr() - eback();
  if (dir == std::ios_base::end) base = egptr() - eback();
  const off_type target = base + off;
  if (target < 0 || target > egptr() - eback()) return pos_type(off_type(-1));
  setg(eback(), eback() + target, egptr());
  return pos_type(target);
}

MemoryBuffer::pos_type MemoryBuffer::seekpos(pos_type pos, std::ios_base::openmode which) {
  return seekoff(off_type(pos), std::ios_base::beg, which);
}

}  // namespace echo::io_detail
