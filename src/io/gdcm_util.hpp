// Private GDCM helpers of the io stage: silencing, attribute access with length checks.
#pragma once
#include <cstdint>
#include <optional>
#include <streambuf>
#include <string>
#include <vector>

#include <gdcmDataSet.h>
#include <gdcmVR.h>

namespace echo::io_detail {

// Turns GDCM's console output off (once per process; idempotent).
void silence_gdcm();

// Attribute values, read from the raw bytes with length checks (GDCM stores them little endian in memory
// whatever the file's byte order). std::nullopt / empty when absent or malformed.
std::optional<std::string> get_string(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element);
std::vector<double> get_decimal_values(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element);
std::optional<double> get_decimal(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element);
std::optional<std::uint32_t> get_unsigned(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element);
std::optional<std::int32_t> get_signed32(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element);
std::optional<double> get_float64(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element);
std::vector<double> get_float32_values(const gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element);

// Sets one attribute from its value bytes, padded to even length (NUL for UI and OB, space otherwise).
void put_bytes(gdcm::DataSet& ds, std::uint16_t group, std::uint16_t element, gdcm::VR vr, std::string bytes);

// A read-only, seekable stream buffer over caller memory (GDCM seeks while parsing).
class MemoryBuffer : public std::streambuf {
 public:
  MemoryBuffer(const char* data, std::size_t size);

 protected:
  pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode which) override;
  pos_type seekpos(pos_type pos, std::ios_base::openmode which) override;
};

// Transfer syntax UID -> its DICOM name ("JPEG Baseline", ...); the UID itself when unknown.
std::string transfer_syntax_name(const std::string& uid);

}  // namespace echo::io_detail
