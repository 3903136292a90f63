// A structural pre-check of a DICOM stream before GDCM parses it.
// Debian's GDCM is built with assertions: a file cut inside its file meta group or inside a data element
// makes its fallback parsers call assert() on a failed stream (gdcmReader.cxx, gdcmFileMetaInformation.cxx
// ReadCompat), which aborts the host process. Those truncations are found here first and refused with
// ErrorCode::malformed. Only definite truncation is refused: unusual but complete encodings are left to GDCM.
#pragma once
#include <cstdint>
#include <istream>
#include <string>
#include <utility>
#include <vector>

#include "echo/error.hpp"

namespace echo::io_detail {

// Where the top-level encapsulated Pixel Data lies in the stream, for reading its frames on demand.
struct PixelDataLayout {
  bool found = false;                 // the data set's own Pixel Data is encapsulated (undefined length)
  std::uint64_t element_pos = 0;      // the (7FE0,0010) tag
  std::uint64_t offset_table_end = 0; // just after the basic offset table item (the first item)
  std::vector<std::pair<std::uint64_t, std::uint32_t>> fragments;  // each later item's value: offset, length
  std::vector<bool> starts_image;     // that value begins with a JPEG start-of-image marker (FFD8)
};

// Walks the preamble, the file meta group and every data element (into undefined-length sequences, items
// and encapsulated pixel data) of `in` (seekable), checking that each declared length fits in the stream.
// Leaves `in` cleared and at offset 0. `name` goes into the message.
// With `pixel_data`, also records where the encapsulated Pixel Data's fragments are.
Expected<void> check_dicom_structure(std::istream& in, const std::string& name, PixelDataLayout* pixel_data = nullptr);

}  // namespace echo::io_detail
