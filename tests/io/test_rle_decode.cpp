// Our RLE Lossless path (src/io/rle_decode.cpp): frames packed here from known pixels (grey 8-bit, colour
// 16-bit, literal and replicate runs, no-op headers, even-length padding) must unpack to those pixels; damaged
// frames are refused with the reason, the check that runs before GDCM reads a file gives the same reason as
// the decoder, and a file with a damaged frame is refused before GDCM's decoder (which wrote past its buffer
// on such a frame, found by the dicom fuzzer) sees it.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "echo/io.hpp"
#include "io/jpeg_check.hpp"
#include "io/lossless_decode.hpp"

namespace {

using echo::io_detail::DecodeTarget;
using echo::io_detail::decode_rle;
using echo::io_detail::rle_frame_problem;

using Bytes = std::vector<unsigned char>;

// PackBits as PS3.5 G.3.1 describes it: replicate runs of 2..128 equal bytes, literal runs of 1..128 others.
Bytes pack(const Bytes& plane) {
  Bytes out;
  std::size_t i = 0;
  while (i < plane.size()) {
    std::size_t run = 1;
    while (i + run < plane.size() && run < 128 && plane[i + run] == plane[i]) ++run;
    if (run >= 2) {
      out.push_back(static_cast<unsigned char>(1 - static_cast<int>(run)));
      out.push_back(plane[i]);
      i += run;
      continue;
    }
    std::size_t literal = 1;
    while (i + literal < plane.size() && literal < 128 &&
           !(i + literal + 1 < plane.size() && plane[i + literal] == plane[i + literal + 1]))
      ++literal;
    out.push_back(static_cast<unsigned char>(literal - 1));
    out.insert(out.end(), plane.begin() + static_cast<std::ptrdiff_t>(i), plane.begin() + static_cast<std::ptrdiff_t>(i + literal));
    i += literal;
  }
  if (out.size() % 2 == 1) out.push_back(0);  // even-length segments (G.3.1)
  return out;
}

void put_le32(Bytes& out, std::size_t at, std::uint32_t value) {
  for (int b = 0; b < 4; ++b) out[at + static_cast<std::size_t>(b)] = static_cast<unsigned char>(value >> (8 * b));
}

// A frame of `pixels` (pixel-interleaved, little-endian samples as decode_rle gives them).
Bytes encode_frame(const Bytes& pixels, const DecodeTarget& t) {
  const int segments = t.components * t.bytes_per_sample;
  const std::size_t count = static_cast<std::size_t>(t.rows) * static_cast<std::size_t>(t.cols);
  Bytes frame(64, 0);
  put_le32(frame, 0, static_cast<std::uint32_t>(segments));
  for (int k = 0; k < segments; ++k) {
    const int sample = k / t.bytes_per_sample, msb_first = k % t.bytes_per_sample;
    const std::size_t first = static_cast<std::size_t>(sample * t.bytes_per_sample + (t.bytes_per_sample - 1 - msb_first));
    Bytes plane(count);
    for (std::size_t p = 0; p < count; ++p) plane[p] = pixels[first + p * static_cast<std::size_t>(segments)];
    put_le32(frame, 4 + 4 * static_cast<std::size_t>(k), static_cast<std::uint32_t>(frame.size()));
    const Bytes packed = pack(plane);
    frame.insert(frame.end(), packed.begin(), packed.end());
  }
  return frame;
}

Bytes make_pixels(const DecodeTarget& t, unsigned seed) {
  Bytes pixels(echo::io_detail::decoded_bytes(t));
  std::mt19937 rng(seed);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = (i / 7) % 3 == 0 ? static_cast<unsigned char>(rng()) : 40;
  return pixels;
}

std::string decode(const Bytes& frame, const DecodeTarget& t, Bytes& out) {
  out.assign(echo::io_detail::decoded_bytes(t), 0xAB);
  const std::string why = decode_rle(frame.data(), frame.size(), t, out.data());
  EXPECT_EQ(why, rle_frame_problem(frame.data(), frame.size(), t.rows, t.cols, t.components, t.bytes_per_sample));
  return why;
}

void expect_round_trip(const DecodeTarget& t, unsigned seed) {
  const Bytes pixels = make_pixels(t, seed);
  Bytes out;
  EXPECT_EQ(decode(encode_frame(pixels, t), t, out), "");
  EXPECT_EQ(out, pixels);
}

TEST(RleDecode, Grey8) { expect_round_trip({31, 45, 1, 1}, 1); }

TEST(RleDecode, Colour16MostSignificantByteFirstInEachSample) { expect_round_trip({12, 17, 3, 2}, 2); }

TEST(RleDecode, NoOpHeadersAndTrailingPaddingAreAccepted) {
  const DecodeTarget t{1, 3, 1, 1};
  Bytes frame(64, 0);
  put_le32(frame, 0, 1);
  put_le32(frame, 4, 64);
  const unsigned char segment[] = {0x80, 0x00, 7, 0x80, 0xFF, 9, 0x00};  // no-op, 7, no-op, 9 9, padding
  frame.insert(frame.end(), std::begin(segment), std::end(segment));
  Bytes out;
  EXPECT_EQ(decode(frame, t, out), "");
  EXPECT_EQ(out, (Bytes{7, 9, 9}));
}

TEST(RleDecode, DamagedFramesAreRefusedWithTheReason) {
  const DecodeTarget t{8, 8, 1, 1};
  const Bytes sound = encode_frame(make_pixels(t, 3), t);
  Bytes out;
  auto refused_with = [&](Bytes frame, const std::string& reason) {
    const std::string why = decode(frame, t, out);
    EXPECT_NE(why.find(reason), std::string::npos) << "got: '" << why << "', wanted: " << reason;
  };
  refused_with(Bytes(sound.begin(), sound.begin() + 40), "the RLE header needs 64 bytes");
  Bytes two_segments = sound;
  put_le32(two_segments, 0, 2);
  put_le32(two_segments, 8, 70);
  refused_with(two_segments, "declares 2 segments where the image needs 1");
  Bytes zero_segments = sound;
  put_le32(zero_segments, 0, 0);
  refused_with(zero_segments, "declares 0 segments");
  Bytes late_start = sound;
  put_le32(late_start, 4, 66);
  refused_with(late_start, "starts at byte 66, not 64");
  refused_with(Bytes(sound.begin(), sound.begin() + 64), "starts at byte 64 of a 64-byte frame");
  refused_with(Bytes(sound.begin(), sound.end() - 6), "RLE segment 1: a");
  Bytes overrun = sound;
  overrun[64] = 0x81;  // a replicate run of 128 bytes in a 64-byte plane
  refused_with(overrun, "a run reaches past the image's 64 bytes");
  Bytes cut_literal(64, 0);
  put_le32(cut_literal, 0, 1);
  put_le32(cut_literal, 4, 64);
  cut_literal.push_back(10);  // 11 literal bytes announced, 2 present
  cut_literal.push_back(1);
  cut_literal.push_back(2);
  refused_with(cut_literal, "a run is cut by the end of its segment");
}

TEST(RleDecode, SegmentsMayNotOverlapOrGoBackwards) {
  const DecodeTarget t{4, 4, 3, 1};
  Bytes frame = encode_frame(make_pixels(t, 4), t);
  put_le32(frame, 12, 64);  // the third segment where the first is
  Bytes out;
  const std::string why = decode(frame, t, out);
  EXPECT_NE(why.find("RLE segment 3 starts before the one before it ends"), std::string::npos) << why;
}

// Every single-byte change of a frame: decoded or refused, and the pre-GDCM check always agrees.
TEST(RleDecode, EveryByteChangedDecodesOrIsRefused) {
  const DecodeTarget t{6, 10, 3, 2};
  const Bytes sound = encode_frame(make_pixels(t, 5), t);
  std::mt19937 rng(6);
  int refused = 0;
  Bytes out;
  for (std::size_t at = 0; at < sound.size(); ++at) {
    Bytes damaged = sound;
    damaged[at] = static_cast<unsigned char>(damaged[at] ^ (1u + rng() % 255u));
    if (!decode(damaged, t, out).empty()) ++refused;
  }
  EXPECT_GT(refused, 0);
}

// A phantom written as RLE reads back; the same file with frame 2's segment count changed is refused by the
// structure check, naming the frame, before GDCM decodes it.
TEST(RleDecode, AFileWithADamagedFrameIsRefusedBeforeGdcm) {
  echo::Cine cine;
  cine.rows = 24;
  cine.cols = 32;
  for (int f = 0; f < 3; ++f) {
    for (int i = 0; i < cine.rows * cine.cols; ++i) cine.gray.push_back(static_cast<std::uint8_t>((i * (f + 3)) % 251));
    cine.frame_times_ms.push_back(20.0 * f);
  }
  const std::string path = ::testing::TempDir() + "/rle-phantom.dcm";
  echo::DicomWriteOptions options;
  options.compression = echo::DicomCompression::rle;
  ASSERT_TRUE(echo::write_dicom_file(cine, path, options).has_value());
  const auto read = echo::read_dicom_file(path);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_EQ(read->gray, cine.gray);

  FILE* file = std::fopen(path.c_str(), "rb");
  ASSERT_NE(file, nullptr);
  std::string bytes;
  char chunk[4096];
  for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, file)) > 0;) bytes.append(chunk, n);
  std::fclose(file);
  const std::string header("\x01\x00\x00\x00\x40\x00\x00\x00", 8);  // one segment, at byte 64
  const std::size_t frame1 = bytes.find(header), frame2 = bytes.find(header, frame1 + 1);
  ASSERT_NE(frame2, std::string::npos);
  bytes[frame2] = 2;  // frame 2 now declares two segments (GDCM would divide its output between them)
  const auto damaged = echo::read_dicom_buffer(bytes.data(), bytes.size());
  ASSERT_FALSE(damaged.has_value());
  EXPECT_EQ(damaged.error().code, echo::ErrorCode::malformed);
  EXPECT_NE(damaged.error().message.find("RLE frame 2 of 3 is damaged: the RLE header declares 2 segments"), std::string::npos)
      << damaged.error().message;
}

}  // namespace
