// Raw scanner buffers (borrowed views) to 8-bit luma and cines.
#include <cmath>
#include <cstring>

#include "io/io_internal.hpp"

namespace echo {
namespace {

int bytes_per_pixel(PixelFormat format) {
  switch (format) {
    case PixelFormat::gray8: return 1;
    case PixelFormat::gray16: return 2;
    case PixelFormat::rgb8: return 3;
    case PixelFormat::bgr8: return 3;
    case PixelFormat::rgba8: return 4;
  }
  return 0;
}

Expected<void> validate(const FrameView& frame, const std::string& what, int bits_stored) {
  const int bpp = bytes_per_pixel(frame.format);
  if (bpp == 0) return make_error(ErrorCode::invalid_argument, what + ": unknown pixel format");
  if (frame.data == nullptr) return make_error(ErrorCode::invalid_argument, what + ": null data pointer");
  if (frame.width <= 0 || frame.height <= 0 || frame.width > 65535 || frame.height > 65535) {
    return make_error(ErrorCode::invalid_argument, what + ": invalid size " + std::to_string(frame.width) + "x" +
                                                       std::to_string(frame.height));
  }
  const std::size_t packed = static_cast<std::size_t>(frame.width) * static_cast<std::size_t>(bpp);
  if (frame.row_stride_bytes != 0 && frame.row_stride_bytes < packed) {
    return make_error(ErrorCode::invalid_argument, what + ": row stride " + std::to_string(frame.row_stride_bytes) +
                                                       " bytes is shorter than a row (" + std::to_string(packed) + ")");
  }
  if (frame.format == PixelFormat::gray16 && (bits_stored < 1 || bits_stored > 16)) {
    return make_error(ErrorCode::invalid_argument, what + ": bits_stored must be 1..16 for GRAY16");
  }
  return {};
}

// Writes the luma of `frame` into `out` (width*height bytes); `rgb` (3 bytes/pixel) too when not null.
void convert(const FrameView& frame, int bits_stored, std::uint8_t* out, std::uint8_t* rgb) {
  const int bpp = bytes_per_pixel(frame.format);
  const std::size_t stride = frame.row_stride_bytes != 0 ? frame.row_stride_bytes
                                                         : static_cast<std::size_t>(frame.width) * static_cast<std::size_t>(bpp);
  const auto* base = static_cast<const std::uint8_t*>(frame.data);
  const std::size_t w = static_cast<std::size_t>(frame.width);
  for (int y = 0; y < frame.height; ++y) {
    const std::uint8_t* row = base + stride * static_cast<std::size_t>(y);
    std::uint8_t* dst = out + w * static_cast<std::size_t>(y);
    std::uint8_t* dst_rgb = rgb ? rgb + 3 * w * static_cast<std::size_t>(y) : nullptr;
    switch (frame.format) {
      case PixelFormat::gray8:
        std::memcpy(dst, row, w);
        break;
      case PixelFormat::gray16:
        for (std::size_t x = 0; x < w; ++x) {
          std::uint16_t v;
          std::memcpy(&v, row + 2 * x, 2);  // native byte order, as the scanner hands it over
          const std::uint32_t masked = v & ((1u << bits_stored) - 1u);
          dst[x] = static_cast<std::uint8_t>(bits_stored >= 8 ? masked >> (bits_stored - 8) : masked << (8 - bits_stored));
        }
        break;
      case PixelFormat::rgb8:
      case PixelFormat::bgr8:
      case PixelFormat::rgba8:
        for (std::size_t x = 0; x < w; ++x) {
          const std::uint8_t* p = row + static_cast<std::size_t>(bpp) * x;
          const bool bgr = frame.format == PixelFormat::bgr8;
          const int r = bgr ? p[2] : p[0], g = p[1], b = bgr ? p[0] : p[2];
          dst[x] = io_detail::luma_from_rgb(r, g, b);
          if (dst_rgb) {
            dst_rgb[3 * x] = static_cast<std::uint8_t>(r);
            dst_rgb[3 * x + 1] = static_cast<std::uint8_t>(g);
            dst_rgb[3 * x + 2] = static_cast<std::uint8_t>(b);
          }
        }
        break;
    }
  }
}

bool is_colour(PixelFormat f) { return f == PixelFormat::rgb8 || f == PixelFormat::bgr8 || f == PixelFormat::rgba8; }

}  // namespace

Expected<Image8> frame_to_gray8(const FrameView& frame, int bits_stored) {
  if (auto ok = validate(frame, "raw frame", bits_stored); !ok) return tl::unexpected(ok.error());
  Image8 image(frame.width, frame.height);
  convert(frame, bits_stored, image.pixels.data(), nullptr);
  return image;
}

Expected<Cine> cine_from_frames(const FrameView* frames, int frame_count, const double* frame_times_ms,
                                double fps_if_no_times, const Calibration& calibration, const ReadOptions& options,
                                int gray16_bits_stored) {
  if (frames == nullptr || frame_count <= 0) {
    return make_error(ErrorCode::invalid_argument, "raw frames: no frames given");
  }
  const int width = frames[0].width, height = frames[0].height;
  for (int i = 0; i < frame_count; ++i) {
    const std::string what = "raw frame " + std::to_string(i);
    if (auto ok = validate(frames[i], what, gray16_bits_stored); !ok) return tl::unexpected(ok.error());
    if (frames[i].width != width || frames[i].height != height) {
      return make_error(ErrorCode::invalid_argument, what + ": size differs from frame 0");
    }
  }
  const std::uint64_t total = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height) *
                              static_cast<std::uint64_t>(frame_count);
  if (total > options.max_total_pixels) {
    return make_error(ErrorCode::too_large, "raw frames: " + std::to_string(total) + " pixels exceed the limit of " +
                                                std::to_string(options.max_total_pixels));
  }
  // A caller's pixel size must be a size (0 = unknown): NaN, infinite or negative would become volumes.
  for (const double mm : {calibration.mm_per_px_x, calibration.mm_per_px_y}) {
    if (!std::isfinite(mm) || mm < 0.0) {
      return make_error(ErrorCode::invalid_argument, "raw frames: pixel size " + std::to_string(mm) +
                                                         " mm is not a finite value >= 0 (0 = unknown)");
    }
  }
  // Trusted volumes need a size: a trusted calibration of unknown size (0) is a contradiction, not a guess.
  if (calibration.trusted && !calibration.known()) {
    return make_error(ErrorCode::invalid_argument, "raw frames: the calibration is marked trusted but its pixel size is "
                                                   "0 (unknown); give mm per pixel in x and y, or leave it untrusted");
  }
  if (frame_times_ms == nullptr && !(std::isfinite(fps_if_no_times) && fps_if_no_times > 0.0) && frame_count > 1) {
    return make_error(ErrorCode::invalid_argument, "raw frames: neither frame times nor a positive frame rate given");
  }
  Cine cine;
  cine.rows = height;
  cine.cols = width;
  cine.gray.resize(cine.frame_bytes() * static_cast<std::size_t>(frame_count));
  const bool colour = is_colour(frames[0].format);
  const std::vector<int> keep = colour ? io_detail::color_frame_indices(frame_count, options.max_color_frames) : std::vector<int>{};
  std::size_t next_colour = 0;
  for (int i = 0; i < frame_count; ++i) {
    std::uint8_t* rgb = nullptr;
    if (next_colour < keep.size() && keep[next_colour] == i) {
      ColorFrame cf;
      cf.frame_index = i;
      cf.rgb.width = width;
      cf.rgb.height = height;
      cf.rgb.pixels.resize(cine.frame_bytes() * 3);
      cine.color.push_back(std::move(cf));
      rgb = cine.color.back().rgb.pixels.data();
      ++next_colour;
    }
    convert(frames[i], gray16_bits_stored, cine.frame(i), rgb);
  }
  cine.frame_times_ms.resize(static_cast<std::size_t>(frame_count));
  for (int i = 0; i < frame_count; ++i) {
    if (frame_times_ms != nullptr) {
      const double t = frame_times_ms[i] - frame_times_ms[0];
      if (!std::isfinite(t) || (i > 0 && !(frame_times_ms[i] > frame_times_ms[i - 1]))) {
        return make_error(ErrorCode::invalid_argument, "raw frames: frame times must be finite and increasing");
      }
      cine.frame_times_ms[static_cast<std::size_t>(i)] = t;
    } else {
      const double t = frame_count > 1 ? 1000.0 * i / fps_if_no_times : 0.0;
      if (!std::isfinite(t)) {  // a denormal frame rate overflows the time stamps
        return make_error(ErrorCode::invalid_argument, "raw frames: frame rate " + std::to_string(fps_if_no_times) +
                                                           " fps gives no finite frame times");
      }
      cine.frame_times_ms[static_cast<std::size_t>(i)] = t;
    }
  }
  cine.calibration = calibration;
  cine.metadata.source_kind = "raw";
  cine.metadata.timing_source = frame_times_ms != nullptr ? "caller" : "caller_fps";
  cine.metadata.photometric = colour ? "RGB" : "MONOCHROME2";
  cine.metadata.bits_stored = frames[0].format == PixelFormat::gray16 ? gray16_bits_stored : 8;
  return cine;
}

}  // namespace echo
