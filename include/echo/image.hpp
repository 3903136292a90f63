// echo/image.hpp: plain value types for images, masks and points shared by every stage.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace echo {

// A single-channel 8-bit image or binary mask (0 / nonzero), row-major, tightly packed.
struct Image8 {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // width * height bytes

  Image8() = default;
  Image8(int w, int h, std::uint8_t fill = 0)
      : width(w), height(h), pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h), fill) {}
  bool empty() const { return width <= 0 || height <= 0; }
  std::uint8_t& at(int x, int y) { return pixels[static_cast<std::size_t>(y) * width + x]; }
  std::uint8_t at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
};

// An interleaved 8-bit RGB image, row-major, tightly packed.
struct ImageRgb8 {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // width * height * 3 bytes, R G B order
};

// A point in pixel coordinates: x to the right, y down, (0,0) the centre of the top-left pixel.
struct Point2 {
  double x = 0.0;
  double y = 0.0;
};

using Contour = std::vector<Point2>;  // a closed polygon, first point not repeated at the end

// Pixel layouts accepted from raw scanner buffers.
enum class PixelFormat : int { gray8 = 0, gray16 = 1, rgb8 = 2, bgr8 = 3, rgba8 = 4 };

// A borrowed view of caller memory: valid only for the duration of the call that receives it.
struct FrameView {
  const void* data = nullptr;
  int width = 0;
  int height = 0;
  PixelFormat format = PixelFormat::gray8;
  std::size_t row_stride_bytes = 0;  // 0 means tightly packed
};

}  // namespace echo
