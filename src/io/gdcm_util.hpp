// Private GDCM helpers of the io stage: silencing, attribute access with length checks.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gdcmDataSet.h>

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

// Transfer syntax UID -> its DICOM name ("JPEG Baseline", ...); the UID itself when unknown.
std::string transfer_syntax_name(const std::string& uid);

}  // namespace echo::io_detail
