// Target 1: DICOM from bytes through the reader's buffer entry (parse, every decoder, calibration, timing),
// and through the streamed frame source (the analyzer's path), which must give the whole reader's frames:
// both succeed with equal pixels, or both fail. Options come from the input size so that the DICOM bytes
// are untouched. docs/reliability.md.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cine_checks.hpp"
#include "echo/io.hpp"

namespace {

// Every frame of the streamed source against the whole reader's.
void check_streamed_like_whole(const std::uint8_t* data, std::size_t size, const echo::ReadOptions& options,
                               const echo::Expected<echo::Cine>& whole) {
  const auto source = echo::open_dicom_buffer_source(data, size, options, "fuzz.dcm");
  bool all_read = static_cast<bool>(source);
  if (source) {
    const echo::FrameSource& frames = **source;
    const echo::Cine& header = frames.header();
    std::vector<std::uint8_t> luma(header.frame_bytes());
    for (int i = 0; i < frames.frame_count() && all_read; ++i) {
      const auto read = frames.read_luma(i, luma.data());
      all_read = static_cast<bool>(read);
      if (!read) ECHO_FUZZ_CHECK(!read.error().message.empty() && read.error().code != echo::ErrorCode::internal);
      if (read && whole) ECHO_FUZZ_CHECK(std::equal(luma.begin(), luma.end(), whole->frame(i)));
    }
    if (all_read && whole) {
      ECHO_FUZZ_CHECK(frames.frame_count() == whole->frame_count() && header.frame_times_ms == whole->frame_times_ms);
      ECHO_FUZZ_CHECK(frames.color_frames().size() == whole->color.size());
      std::vector<std::uint8_t> rgb(header.frame_bytes() * 3);
      for (const echo::ColorFrame& colour : whole->color) {
        ECHO_FUZZ_CHECK(static_cast<bool>(frames.read_rgb(colour.frame_index, rgb.data())) && rgb == colour.rgb.pixels);
      }
    }
  } else {
    ECHO_FUZZ_CHECK(!source.error().message.empty() && source.error().code != echo::ErrorCode::internal);
  }
  ECHO_FUZZ_CHECK(all_read == static_cast<bool>(whole));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  echo::ReadOptions options;
  options.decode_threads = 1;
  options.max_color_frames = (size & 1) ? -1 : 2;
  options.fast_jpeg = (size & 2) == 0;
  options.keep_identifiers = (size & 4) != 0;
  const auto cine = echo::read_dicom_buffer(data, size, options, "fuzz.dcm");
  if (cine) echo_fuzz::check_cine(*cine);
  else ECHO_FUZZ_CHECK(!cine.error().message.empty() && cine.error().code != echo::ErrorCode::internal);
  check_streamed_like_whole(data, size, options, cine);
  return 0;
}
