// Our JPEG Lossless decoder (src/io/jpeg_lossless_decode.cpp): exact against DCMTK's encoder (dcmcjpeg, every
// predictor, point transform, grey and RGB) and against a minimal encoder written here for what dcmcjpeg
// cannot make (restart intervals, one scan per component, 12-bit samples); damaged streams give a reason.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "echo/io.hpp"
#include "io/lossless_decode.hpp"
#include "test_support.hpp"

namespace {

using echo::io_detail::DecodeTarget;
using echo::io_detail::decode_jpeg_lossless;

// Smooth gradients, edges and noise: every predictor and most difference categories get exercised.
std::vector<std::uint16_t> test_samples(int rows, int cols, int components, int precision, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(0, 7);
  const int max_value = (1 << precision) - 1;
  std::vector<std::uint16_t> samples(static_cast<std::size_t>(rows * cols * components));
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x)
      for (int c = 0; c < components; ++c) {
        int v = (x * 7 + y * 3 + c * 40) % (max_value + 1);
        if ((x / 5 + y / 4) % 3 == 0) v = max_value - v;  // hard edges
        v = std::min(max_value, v + noise(rng));
        samples[static_cast<std::size_t>((y * cols + x) * components + c)] = static_cast<std::uint16_t>(v);
      }
  return samples;
}

// A minimal JPEG Lossless encoder: one 5-bit code per difference category (17 codes: always a valid table).
class TestEncoder {
 public:
  struct Options {
    int predictor = 1;
    int restart_lines = 0;            // 0: no restart interval
    bool scan_per_component = false;  // one scan per component instead of one interleaved scan
  };

  std::vector<std::uint8_t> encode(const std::vector<std::uint16_t>& samples, int rows, int cols, int components,
                                   int precision, const Options& options) {
    out_ = {0xff, 0xd8};
    std::vector<std::uint8_t> frame = {static_cast<std::uint8_t>(precision), static_cast<std::uint8_t>(rows >> 8),
                                       static_cast<std::uint8_t>(rows), static_cast<std::uint8_t>(cols >> 8),
                                       static_cast<std::uint8_t>(cols), static_cast<std::uint8_t>(components)};
    for (int c = 0; c < components; ++c) frame.insert(frame.end(), {static_cast<std::uint8_t>(c + 1), 0x11, 0});
    segment(0xc3, frame);
    std::vector<std::uint8_t> table = {0x00};
    for (int len = 1; len <= 16; ++len) table.push_back(len == 5 ? 17 : 0);
    for (int v = 0; v <= 16; ++v) table.push_back(static_cast<std::uint8_t>(v));
    segment(0xc4, table);
    if (options.restart_lines > 0) {
      const int interval = options.restart_lines * cols;
      segment(0xdd, {static_cast<std::uint8_t>(interval >> 8), static_cast<std::uint8_t>(interval)});
    }
    if (options.scan_per_component) {
      for (int c = 0; c < components; ++c) scan(samples, rows, cols, components, {c}, options);
    } else {
      std::vector<int> all;
      for (int c = 0; c < components; ++c) all.push_back(c);
      scan(samples, rows, cols, components, all, options);
    }
    out_.insert(out_.end(), {0xff, 0xd9});
    return out_;
  }

 private:
  void segment(int marker, const std::vector<std::uint8_t>& body) {
    const std::size_t length = body.size() + 2;
    out_.insert(out_.end(), {0xff, static_cast<std::uint8_t>(marker), static_cast<std::uint8_t>(length >> 8),
                             static_cast<std::uint8_t>(length)});
    out_.insert(out_.end(), body.begin(), body.end());
  }
  void put_bits(std::uint32_t value, int count) {
    for (int i = count - 1; i >= 0; --i) {
      byte_ = (byte_ << 1) | ((value >> i) & 1u);
      if (++bits_ == 8) {
        out_.push_back(static_cast<std::uint8_t>(byte_));
        if (byte_ == 0xff) out_.push_back(0x00);
        byte_ = 0, bits_ = 0;
      }
    }
  }
  void flush() {
    while (bits_ != 0) put_bits(1, 1);
  }
  static int predict(int predictor, int a, int b, int c) {
    switch (predictor) {
      case 1: return a;
      case 2: return b;
      case 3: return c;
      case 4: return a + b - c;
      case 5: return a + ((b - c) >> 1);
      case 6: return b + ((a - c) >> 1);
      default: return (a + b) >> 1;
    }
  }
  void scan(const std::vector<std::uint16_t>& s, int rows, int cols, int components, const std::vector<int>& in_scan,
            const Options& options) {
    std::vector<std::uint8_t> header = {static_cast<std::uint8_t>(in_scan.size())};
    for (int c : in_scan) header.insert(header.end(), {static_cast<std::uint8_t>(c + 1), 0x00});
    header.insert(header.end(), {static_cast<std::uint8_t>(options.predictor), 0, 0});
    segment(0xda, header);
    auto at = [&](int x, int y, int c) { return static_cast<int>(s[static_cast<std::size_t>((y * cols + x) * components + c)]); };
    int restarts = 0;
    for (int y = 0; y < rows; ++y) {
      const bool first_line = options.restart_lines > 0 ? y % options.restart_lines == 0 : y == 0;
      if (first_line && y > 0) {
        flush();
        out_.insert(out_.end(), {0xff, static_cast<std::uint8_t>(0xd0 + (restarts++ % 8))});
      }
      for (int x = 0; x < cols; ++x)
        for (int c : in_scan) {
          const int p = first_line ? (x == 0 ? half_ : at(x - 1, y, c))
                                   : (x == 0 ? at(x, y - 1, c) : predict(options.predictor, at(x - 1, y, c), at(x, y - 1, c), at(x - 1, y - 1, c)));
          int diff = (at(x, y, c) - p) & 0xffff;
          if (diff >= 0x8000) diff -= 0x10000;
          int category = 0;
          while ((std::abs(diff) >> category) != 0) ++category;
          put_bits(static_cast<std::uint32_t>(category), 5);
          if (category > 0 && category < 16) put_bits(static_cast<std::uint32_t>(diff < 0 ? diff + (1 << category) - 1 : diff), category);
        }
    }
    flush();
  }

 public:
  int half_ = 128;  // 2^(P-1): the first sample's prediction

 private:
  std::vector<std::uint8_t> out_;
  std::uint32_t byte_ = 0;
  int bits_ = 0;
};

std::vector<std::uint8_t> decode(const std::vector<std::uint8_t>& stream, const DecodeTarget& target, std::string& problem) {
  std::vector<std::uint8_t> out(echo::io_detail::decoded_bytes(target), 0xee);
  problem = decode_jpeg_lossless(stream.data(), stream.size(), target, out.data());
  return out;
}

std::vector<std::uint8_t> as_bytes(const std::vector<std::uint16_t>& samples, int bytes_per_sample) {
  std::vector<std::uint8_t> out;
  for (std::uint16_t v : samples) {
    out.push_back(static_cast<std::uint8_t>(v));
    if (bytes_per_sample == 2) out.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  return out;
}

struct EncoderCase {
  int components, precision, predictor, restart_lines;
  bool scan_per_component;
};

class LosslessOwnEncoder : public testing::TestWithParam<EncoderCase> {};

TEST_P(LosslessOwnEncoder, DecodesExactly) {
  const EncoderCase& c = GetParam();
  const int rows = 23, cols = 31, bytes = c.precision > 8 ? 2 : 1;
  const auto samples = test_samples(rows, cols, c.components, c.precision, 5);
  TestEncoder encoder;
  encoder.half_ = 1 << (c.precision - 1);
  const auto stream = encoder.encode(samples, rows, cols, c.components, c.precision,
                                     {c.predictor, c.restart_lines, c.scan_per_component});
  std::string problem;
  const auto out = decode(stream, {rows, cols, c.components, bytes}, problem);
  ASSERT_EQ(problem, "");
  EXPECT_EQ(out, as_bytes(samples, bytes));
}

INSTANTIATE_TEST_SUITE_P(Streams, LosslessOwnEncoder,
                         testing::Values(EncoderCase{1, 8, 1, 0, false}, EncoderCase{1, 8, 7, 0, false},
                                         EncoderCase{1, 8, 4, 3, false},   // restart every 3 lines
                                         EncoderCase{1, 12, 6, 0, false},  // 12-bit samples in 16-bit words
                                         EncoderCase{1, 16, 5, 5, false}, EncoderCase{3, 8, 2, 0, false},
                                         EncoderCase{3, 8, 3, 0, true},  // one scan per component
                                         EncoderCase{3, 8, 7, 4, true}));

TEST(LosslessDecoder, RefusesAStreamThatDoesNotMatchTheHeader) {
  const auto samples = test_samples(10, 12, 1, 8, 1);
  TestEncoder encoder;
  const auto stream = encoder.encode(samples, 10, 12, 1, 8, {});
  std::string problem;
  decode(stream, {10, 14, 1, 1}, problem);
  EXPECT_NE(problem.find("12x10"), std::string::npos) << problem;
  decode(stream, {10, 12, 3, 1}, problem);
  EXPECT_NE(problem.find("components"), std::string::npos) << problem;
}

TEST(LosslessDecoder, DamagedStreamsGiveAReasonAndStayInBounds) {
  const int rows = 16, cols = 20;
  const auto samples = test_samples(rows, cols, 3, 8, 9);
  TestEncoder encoder;
  const auto stream = encoder.encode(samples, rows, cols, 3, 8, {6, 4, false});
  const DecodeTarget target{rows, cols, 3, 1};
  std::string problem;
  for (std::size_t cut = 0; cut < stream.size() - 2; cut += 3) {  // every truncation before the EOI
    const std::vector<std::uint8_t> truncated(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(cut));
    decode(truncated, target, problem);
    EXPECT_NE(problem, "") << "truncated at " << cut;
  }
  std::mt19937 rng(42);
  int refused = 0;
  for (int i = 0; i < 500; ++i) {
    auto flipped = stream;
    flipped[rng() % flipped.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    // Over-sized output with a guard tail: nothing may be written past decoded_bytes.
    std::vector<std::uint8_t> out(echo::io_detail::decoded_bytes(target) + 64, 0xee);
    problem = decode_jpeg_lossless(flipped.data(), flipped.size(), target, out.data());
    refused += problem.empty() ? 0 : 1;
    for (std::size_t k = echo::io_detail::decoded_bytes(target); k < out.size(); ++k) ASSERT_EQ(out[k], 0xee);
  }
  EXPECT_GT(refused, 0);
}

// Through the DICOM reader, streams made by DCMTK's independent encoder: every predictor and a point
// transform, grey and RGB, equal to the original pixels.
class LosslessDcmtk : public testing::TestWithParam<std::string> {};

echo::Cine gradient_cine(bool colour) {
  echo::Cine cine;
  cine.rows = 48;
  cine.cols = 64;
  const auto grey = test_samples(cine.rows, cine.cols * 3, 1, 8, 3);
  for (int f = 0; f < 3; ++f)
    for (int i = 0; i < cine.rows * cine.cols; ++i) cine.gray.push_back(static_cast<std::uint8_t>(grey[static_cast<std::size_t>(i + f * 50)]));
  cine.frame_times_ms = {0.0, 20.0, 40.0};
  if (colour) {
    for (int f = 0; f < 3; ++f) {
      echo::ColorFrame frame;
      frame.frame_index = f;
      frame.rgb.width = cine.cols;
      frame.rgb.height = cine.rows;
      for (int i = 0; i < cine.rows * cine.cols; ++i) {
        const std::uint8_t v = cine.gray[static_cast<std::size_t>(f * cine.rows * cine.cols + i)];
        frame.rgb.pixels.insert(frame.rgb.pixels.end(), {v, static_cast<std::uint8_t>(255 - v), static_cast<std::uint8_t>(v / 2)});
      }
      cine.color.push_back(std::move(frame));
    }
  }
  return cine;
}

TEST_P(LosslessDcmtk, EqualsTheOriginal) {
  if (std::system("command -v dcmcjpeg >/dev/null 2>&1") != 0) {
    if (echo_test::running_under_ci()) FAIL() << "dcmcjpeg (Debian dcmtk) missing under CI: scripts/setup.sh installs it";
    GTEST_SKIP() << "dcmcjpeg (Debian dcmtk) not installed";
  }
  const std::string& flags = GetParam();
  for (bool colour : {false, true}) {
    const echo::Cine cine = gradient_cine(colour);
    const auto dir = echo_test::scratch_dir();
    const std::string native = (dir / (colour ? "rgb.dcm" : "grey.dcm")).string(), lossless = native + ".jpl.dcm";
    echo::DicomWriteOptions options;
    options.compression = echo::DicomCompression::none;
    options.write_color = colour;
    ASSERT_TRUE(echo::write_dicom_file(cine, native, options).has_value());
    ASSERT_EQ(std::system(("dcmcjpeg " + flags + " " + native + " " + lossless).c_str()), 0) << flags;
    echo::ReadOptions read_options;
    read_options.max_color_frames = 3;
    auto back = echo::read_dicom_file(lossless, read_options);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    ASSERT_NE(back->metadata.transfer_syntax.find("Lossless"), std::string::npos) << back->metadata.transfer_syntax;
    const int shift = flags.find("+pt 2") != std::string::npos ? 2 : 0;
    std::vector<std::uint8_t> expected = cine.gray;
    for (auto& v : expected) v = static_cast<std::uint8_t>((v >> shift) << shift);
    if (!colour) {
      EXPECT_EQ(back->gray, expected) << flags;
    } else if (shift == 0) {
      ASSERT_EQ(back->color.size(), cine.color.size());
      for (std::size_t k = 0; k < cine.color.size(); ++k) EXPECT_EQ(back->color[k].rgb.pixels, cine.color[k].rgb.pixels) << flags;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Predictors, LosslessDcmtk,
                         testing::Values("+e1", "+el +sv 1", "+el +sv 2", "+el +sv 3", "+el +sv 4", "+el +sv 5",
                                         "+el +sv 6", "+el +sv 7", "+el +sv 4 +pt 2"),
                         [](const testing::TestParamInfo<std::string>& param_info) {
                           return "case" + std::to_string(param_info.index);
                         });

// A damaged frame inside a DICOM file: a clean error that names the frame, not an abort in GDCM.
TEST(LosslessDecoder, ReaderNamesTheDamagedFrame) {
  const echo::Cine cine = gradient_cine(false);
  const auto path = (echo_test::scratch_dir() / "lossless.dcm").string();
  echo::DicomWriteOptions options;
  options.compression = echo::DicomCompression::jpeg_lossless;
  ASSERT_TRUE(echo::write_dicom_file(cine, path, options).has_value());
  std::FILE* file = std::fopen(path.c_str(), "r+b");
  ASSERT_NE(file, nullptr);
  std::fseek(file, 0, SEEK_END);
  const long size = std::ftell(file);
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  std::fseek(file, 0, SEEK_SET);
  ASSERT_EQ(std::fread(bytes.data(), 1, bytes.size(), file), bytes.size());
  // The last frame's scan: zero a run of bytes just before its end-of-image marker (lengths unchanged).
  std::size_t eoi = bytes.size() - 2;
  while (eoi > 0 && !(bytes[eoi] == 0xff && bytes[eoi + 1] == 0xd9)) --eoi;
  ASSERT_GT(eoi, 300u);
  for (std::size_t k = eoi - 200; k < eoi; ++k) bytes[k] = 0xff;  // 0xFF not followed by 0: a marker mid-scan
  std::fseek(file, 0, SEEK_SET);
  ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file), bytes.size());
  std::fclose(file);
  auto back = echo::read_dicom_file(path);
  ASSERT_FALSE(back.has_value());
  EXPECT_EQ(back.error().code, echo::ErrorCode::malformed);
  EXPECT_NE(back.error().message.find("frame 3 of 3"), std::string::npos) << back.error().message;
}

}  // namespace
