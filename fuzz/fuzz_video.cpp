// Target 2: video bytes (AVI/MJPEG, MP4) through the video reader, which needs a path: the first byte picks
// the extension, the rest is written to a per-process scratch file.
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "cine_checks.hpp"
#include "echo/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  echo_fuzz::FuzzInput in(data, size);
  const std::uint8_t kind = in.byte();
  static const char* const kExtensions[] = {".avi", ".mp4", ".mov", ".m4v"};
  const std::string path = echo_fuzz::scratch_path(kExtensions[kind & 3]);
  if (!echo_fuzz::write_bytes(path, in.rest(), in.remaining())) return 0;
  echo::ReadOptions options;
  options.max_color_frames = (kind & 4) ? -1 : 2;
  options.max_total_pixels = 64ull << 20;  // small fuzz inputs; a huge declared size must be refused, not allocated
  const auto cine = (kind & 8) ? echo::read_file(path, options) : echo::read_video_file(path, options);
  std::remove(path.c_str());
  if (cine) echo_fuzz::check_cine(*cine);
  else ECHO_FUZZ_CHECK(!cine.error().message.empty() && cine.error().code != echo::ErrorCode::internal);
  return 0;
}
