// seed_format.hpp: writes the typed headers that fuzz_frames and fuzz_masks read with FuzzInput, so that
// the seeds made from phantoms start as valid, meaningful inputs. Keep in step with those readers.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace echo_fuzz {

constexpr std::size_t kMasksHeaderBytes = 48;
// fuzz_capi: the header and each call block (fuzz_capi.cpp).
constexpr std::size_t kCapiHeaderBytes = 128, kCapiBlockBytes = 64;

class SeedWriter {
 public:
  void byte(std::uint8_t v) { bytes_.push_back(v); }
  void u16(std::uint16_t v) { byte(static_cast<std::uint8_t>(v & 0xff)), byte(static_cast<std::uint8_t>(v >> 8)); }
  // FuzzInput::real(): kind < 32 is a raw double; kind 64 is an int16 divided by 1.
  void real(double v) {
    if (v == std::floor(v) && std::fabs(v) < 32767) {
      byte(64);
      u16(static_cast<std::uint16_t>(static_cast<std::int16_t>(v)));
      return;
    }
    byte(0);
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; ++i) byte(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
  // FuzzInput-style dimension: kind >= 8 gives 1 + (kind + next) % 64.
  void dimension(int v) { byte(8), byte(static_cast<std::uint8_t>((v - 9 + 64) % 64)); }
  std::vector<std::uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

struct FramesSeed {
  std::uint8_t format = 0, width = 64, height = 64, frame_count = 4, stride_pad = 0;
  bool with_times = true;
  double mm_per_px = 0.3;
};

// The layout fuzz_frames.cpp reads (field by field, in its order).
inline std::vector<std::uint8_t> encode_frames_seed(const FramesSeed& s, const std::vector<std::uint8_t>& pixels) {
  SeedWriter w;
  w.byte(s.format);
  w.dimension(s.width);
  w.dimension(s.height);
  w.byte(s.frame_count);
  w.byte(s.stride_pad);
  w.byte(0);    // zero_stride: no
  w.byte(255);  // short_stride: no
  w.u16(16);    // bits_stored
  w.byte(s.with_times ? 1 : 0);
  for (int i = 0; i < s.frame_count; ++i) w.real(33.0 * i);
  w.real(30);   // fps
  w.real(s.mm_per_px);
  w.real(s.mm_per_px);
  w.byte(1);    // trusted
  w.byte(3);    // max_color_frames: -1 + 3 = 2
  w.u16(64);    // input_size
  w.real(0);    // mean
  w.real(1);    // std
  w.bytes().insert(w.bytes().end(), pixels.begin(), pixels.end());
  return w.bytes();
}

// The 48-byte header fuzz_masks.cpp reads after its mode byte.
inline std::vector<std::uint8_t> encode_masks_header(int fps, double mm_per_px, int disc_count,
                                                     const std::vector<double>& r_waves_ms) {
  SeedWriter w;
  w.byte(static_cast<std::uint8_t>(fps - 1));
  w.real(mm_per_px);
  w.real(mm_per_px);
  w.u16(static_cast<std::uint16_t>(disc_count - 1));
  const std::size_t count = r_waves_ms.size() < 4 ? r_waves_ms.size() : 4;
  w.byte(static_cast<std::uint8_t>(count));
  for (std::size_t i = 0; i < count; ++i) w.real(std::round(r_waves_ms[i]));
  w.bytes().resize(kMasksHeaderBytes, 0);
  return w.bytes();
}

}  // namespace echo_fuzz
