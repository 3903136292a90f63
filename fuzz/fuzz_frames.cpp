// Target 3: raw scanner frames (random dimensions, strides, pixel formats, frame times, calibration) through
// cine_from_frames and preprocessing (sector, colour, model input). A header of typed fields, then pixels.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cine_checks.hpp"
#include "echo/io.hpp"
#include "echo/preprocess.hpp"

namespace {

// Dimensions: mostly small valid ones, sometimes invalid ones (must be refused before any pixel is read; no
// buffer is allocated for them).
int dimension(echo_fuzz::FuzzInput& in) {
  const std::uint8_t kind = in.byte();
  if (kind < 4) return -static_cast<int>(in.u16());  // 0 or negative
  if (kind < 8) return 65536 + in.u16();              // beyond the 65535 limit
  return 1 + (kind + in.byte()) % 64;
}

void check_preprocessed(const echo::Cine& cine, const echo::Preprocessed& p) {
  const auto side = static_cast<std::size_t>(p.spec.input_size);
  ECHO_FUZZ_CHECK(p.frame_count == cine.frame_count());
  ECHO_FUZZ_CHECK(p.model_input.size() == static_cast<std::size_t>(p.frame_count) * side * side);
  ECHO_FUZZ_CHECK(p.sector.mask.width == cine.cols && p.sector.mask.height == cine.rows);
  for (float v : p.model_input) ECHO_FUZZ_CHECK(std::isfinite(v));
  ECHO_FUZZ_CHECK(std::isfinite(p.mm_per_px_model_x) && std::isfinite(p.mm_per_px_model_y));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  echo_fuzz::FuzzInput in(data, size);
  const int format = in.byte() % 6;  // 5 = not a format
  const int width = dimension(in), height = dimension(in);
  const int frame_count = static_cast<int>(in.byte() % 5);  // 0 = none
  const std::size_t stride_pad = in.byte() % 9;
  const bool zero_stride = in.flag(), short_stride = in.byte() < 8;
  const int bits_stored = in.range(0, 17);
  const bool with_times = in.flag();
  std::vector<double> times(static_cast<std::size_t>(frame_count));
  for (double& t : times) t = in.real();
  const double fps = in.real();
  echo::Calibration calibration;
  calibration.mm_per_px_x = in.real();
  calibration.mm_per_px_y = in.real();
  calibration.source = echo::CalibrationSource::caller;
  calibration.trusted = in.flag();
  echo::ReadOptions options;
  options.max_color_frames = static_cast<int>(in.byte() % 4) - 1;
  options.max_total_pixels = 1u << 20;
  echo::ModelInputSpec spec;
  spec.input_size = in.range(0, 72);
  spec.mean = static_cast<float>(in.real());
  spec.std = static_cast<float>(in.real());

  static const int kBytesPerPixel[] = {1, 2, 3, 3, 4, 1};
  const bool sane = width > 0 && height > 0 && width <= 64 && height <= 64;
  const std::size_t packed = sane ? static_cast<std::size_t>(width) * kBytesPerPixel[format] : 0;
  std::size_t stride = zero_stride ? 0 : packed + stride_pad;
  if (short_stride && packed > 0) stride = packed - 1;
  const std::size_t frame_bytes = sane ? (stride ? stride : packed) * static_cast<std::size_t>(height) : 0;
  // Pixels: the payload, repeated to fill every frame (an empty payload gives black frames).
  std::vector<std::uint8_t> pixels(frame_bytes * static_cast<std::size_t>(frame_count) + 1);
  for (std::size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = in.remaining() ? in.rest()[i % in.remaining()] : 0;
  std::vector<echo::FrameView> frames(static_cast<std::size_t>(frame_count));
  for (int i = 0; i < frame_count; ++i) {
    frames[i].data = pixels.data() + frame_bytes * static_cast<std::size_t>(i);
    frames[i].width = sane ? width : (i == 0 ? width : 1);
    frames[i].height = sane ? height : (i == 0 ? height : 1);
    frames[i].format = static_cast<echo::PixelFormat>(format);
    frames[i].row_stride_bytes = stride;
  }
  if (frame_count > 0) {
    const auto one = echo::frame_to_gray8(frames[0], bits_stored);
    if (one) ECHO_FUZZ_CHECK(one->width == width && one->height == height && one->pixels.size() == packed / kBytesPerPixel[format] * height);
  }
  const auto cine = echo::cine_from_frames(frame_count ? frames.data() : nullptr, frame_count,
                                           with_times ? times.data() : nullptr, fps, calibration, options, bits_stored);
  if (!cine) return 0;
  echo_fuzz::check_cine(*cine);
  const auto prepared = echo::preprocess(*cine, spec);
  if (prepared) check_preprocessed(*cine, *prepared);
  return 0;
}
