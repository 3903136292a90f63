// RLE Lossless frames (DICOM PS3.5 Annex G) decoded here, and the check that runs before GDCM reads an RLE
// file (see lossless_decode.hpp and jpeg_check.hpp for why).
//
// A frame is a 64-byte header (the number of segments, then up to 15 little-endian segment offsets) and one
// PackBits segment per byte plane: for each sample, its most significant byte first. Each segment decodes to
// exactly rows x columns bytes; a segment may carry one byte of even-length padding after that.
#include <cstdint>
#include <string>

#include "io/jpeg_check.hpp"
#include "io/lossless_decode.hpp"

namespace echo::io_detail {
namespace {

constexpr std::size_t kHeaderBytes = 64;
constexpr std::uint32_t kMaxSegments = 15;

std::uint32_t le32(const unsigned char* p) {
  return p[0] | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}

// Where each segment begins, and where the last one ends (the frame's end).
struct Segments {
  std::uint32_t count = 0;
  std::size_t begin[kMaxSegments + 1] = {};
};

// The header must declare exactly `expected` segments (samples x bytes per sample), the first at byte 64 and
// each later one after the one before, all inside the frame.
std::string read_header(const unsigned char* data, std::size_t size, std::uint32_t expected, Segments& out) {
  if (size < kHeaderBytes) return "the RLE header needs 64 bytes, the frame has " + std::to_string(size);
  out.count = le32(data);
  if (out.count != expected) {
    return "the RLE header declares " + std::to_string(out.count) + " segments where the image needs " +
           std::to_string(expected) + " (one per byte of each sample)";
  }
  for (std::uint32_t i = 0; i < out.count; ++i) {
    const std::uint32_t offset = le32(data + 4 + 4 * i);
    if (i == 0 && offset != kHeaderBytes) return "the first RLE segment starts at byte " + std::to_string(offset) + ", not 64";
    if (i > 0 && offset <= out.begin[i - 1]) return "RLE segment " + std::to_string(i + 1) + " starts before the one before it ends";
    if (offset >= size) {
      return "RLE segment " + std::to_string(i + 1) + " starts at byte " + std::to_string(offset) + " of a " +
             std::to_string(size) + "-byte frame";
    }
    out.begin[i] = offset;
  }
  out.begin[out.count] = size;
  return "";
}

// One PackBits segment in [p, end) to exactly `count` bytes, written to out[0], out[stride], ... (nothing is
// written when out is null: a check). A run may not reach past the segment's bytes or past `count`.
std::string unpack_segment(const unsigned char* p, const unsigned char* end, std::size_t count, unsigned char* out,
                           std::size_t stride) {
  std::size_t produced = 0;
  while (produced < count) {
    if (p == end) return "a segment ends after " + std::to_string(produced) + " of its " + std::to_string(count) + " bytes";
    const int header = static_cast<signed char>(*p++);
    if (header == -128) continue;  // no operation (G.3.2)
    const bool literal = header >= 0;
    const std::size_t run = literal ? static_cast<std::size_t>(header) + 1 : static_cast<std::size_t>(1 - header);
    const std::size_t needed = literal ? run : 1;
    if (needed > static_cast<std::size_t>(end - p)) return "a run is cut by the end of its segment";
    if (run > count - produced) return "a run reaches past the image's " + std::to_string(count) + " bytes";
    if (out != nullptr) {
      for (std::size_t i = 0; i < run; ++i) out[(produced + i) * stride] = literal ? p[i] : *p;
    }
    p += needed;
    produced += run;
  }
  return "";
}

// Every segment of a frame, unpacked into `out` (pixel-interleaved, little-endian samples) or only checked.
std::string unpack_frame(const unsigned char* data, std::size_t size, int rows, int cols, int components,
                         int bytes_per_sample, unsigned char* out) {
  if (rows <= 0 || cols <= 0 || components <= 0 || bytes_per_sample <= 0 || components * bytes_per_sample > int(kMaxSegments))
    return "the image's size or pixel format cannot be RLE coded";
  Segments segments;
  const std::string problem = read_header(data, size, static_cast<std::uint32_t>(components * bytes_per_sample), segments);
  if (!problem.empty()) return problem;
  const std::size_t pixels = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  const std::size_t stride = static_cast<std::size_t>(components) * static_cast<std::size_t>(bytes_per_sample);
  for (std::uint32_t k = 0; k < segments.count; ++k) {
    const std::size_t sample = k / static_cast<std::uint32_t>(bytes_per_sample);
    const std::size_t byte = k % static_cast<std::uint32_t>(bytes_per_sample);  // 0: most significant
    const std::size_t first = sample * static_cast<std::size_t>(bytes_per_sample) + (bytes_per_sample - 1 - byte);
    const std::string why = unpack_segment(data + segments.begin[k], data + segments.begin[k + 1], pixels,
                                           out == nullptr ? nullptr : out + first, stride);
    if (!why.empty()) return "RLE segment " + std::to_string(k + 1) + ": " + why;
  }
  return "";
}

}  // namespace

std::string decode_rle(const unsigned char* data, std::size_t size, const DecodeTarget& target, unsigned char* out) {
  return unpack_frame(data, size, target.rows, target.cols, target.components, target.bytes_per_sample, out);
}

std::string rle_frame_problem(const unsigned char* data, std::size_t size, int rows, int cols, int components,
                              int bytes_per_sample) {
  return unpack_frame(data, size, rows, cols, components, bytes_per_sample, nullptr);
}

}  // namespace echo::io_detail
