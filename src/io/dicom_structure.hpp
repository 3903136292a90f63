// A structural pre-check of a DICOM stream before GDCM parses it.
// Debian's GDCM is built with assertions: a file cut inside its file meta group or inside a data element
// makes its fallback parsers call assert() on a failed stream (gdcmReader.cxx, gdcmFileMetaInformation.cxx
// ReadCompat), which aborts the host process. Those truncations are found here first and refused with
// ErrorCode::malformed. Only definite truncation is refused: unusual but complete encodings are left to GDCM.
#pragma once
#include <istream>
#include <string>

#include "echo/error.hpp"

namespace echo::io_detail {

// Walks the preamble, the file meta group and every data element (into undefined-length sequences, items
// and encapsulated pixel data) of `in` (seekable), checking that each declared length fits in the stream.
// Leaves `in` cleared and at offset 0. `name` goes into the message.
Expected<void> check_dicom_structure(std::istream& in, const std::string& name);

}  // namespace echo::io_detail
