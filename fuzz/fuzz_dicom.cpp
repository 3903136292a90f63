// Target 1: DICOM from bytes through the reader's buffer entry (parse, every decoder, calibration, timing).
// Options come from the input size so that the DICOM bytes are untouched. docs/reliability.md.
#include <cstddef>
#include <cstdint>

#include "cine_checks.hpp"
#include "echo/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  echo::ReadOptions options;
  options.decode_threads = 1;
  options.max_color_frames = (size & 1) ? -1 : 2;
  options.fast_jpeg = (size & 2) == 0;
  options.keep_identifiers = (size & 4) != 0;
  const auto cine = echo::read_dicom_buffer(data, size, options, "fuzz.dcm");
  if (cine) echo_fuzz::check_cine(*cine);
  else ECHO_FUZZ_CHECK(!cine.error().message.empty() && cine.error().code != echo::ErrorCode::internal);
  return 0;
}
