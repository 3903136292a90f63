// Our JPEG-LS decoder (src/io/jpeg_ls_decode.cpp) against an independent encoder: DCMTK's dcmcjpls compresses
// a native DICOM that GDCM writes here from known pixels, and the decoded samples must equal those pixels
// (lossless) or stay within NEAR of them (near-lossless). Damaged copies of the streams must give a valid
// decode or a reason, never a crash or a write outside the output buffer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gdcmImageWriter.h>
#include <gdcmReader.h>
#include <gdcmTrace.h>

#include "echo/io.hpp"
#include "io/jpeg_check.hpp"
#include "io/lossless_decode.hpp"
#include "test_support.hpp"

namespace {

using echo::io_detail::DecodeTarget;

// GDCM warns about the minimal native files written here; the warnings are noise in the test log.
const bool kQuietGdcm = (gdcm::Trace::WarningOff(), true);

// Known pixels: samples pixel-interleaved, values within bits_stored.
struct Image {
  int rows = 0, cols = 0, components = 1, bits_stored = 8;
  std::vector<std::uint16_t> samples;
  int bytes_per_sample() const { return bits_stored > 8 ? 2 : 1; }
  DecodeTarget target() const { return {rows, cols, components, bytes_per_sample()}; }
};

// Flat bands (run mode, long runs across lines), ramps, edges, isolated dots (run interruptions) and full-range
// noise (escape codes), different per component but flat together in the top band (sample-interleaved runs).
Image make_image(int rows, int cols, int components, int bits_stored, unsigned seed) {
  Image img{rows, cols, components, bits_stored, {}};
  const int maxval = (1 << bits_stored) - 1;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> full(0, maxval), small(-3, 3);
  img.samples.resize(static_cast<std::size_t>(rows) * cols * components);
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < cols; ++x) {
      for (int c = 0; c < components; ++c) {
        int v;
        if (y < rows / 4) {
          v = (x == cols / 3 && y % 3 == 1) ? maxval / 2 + c : maxval / 5;  // flat with dots
        } else if (y < rows / 2) {
          v = ((x * 7 + y * 3) * (c + 1) * (maxval / 255 + 1)) % (maxval + 1);  // ramps with wrap-around edges
        } else if (y < 3 * rows / 4) {
          v = full(rng);  // noise
        } else {
          v = std::clamp(maxval / 3 + (x / 8) * 5 * (c + 1) + small(rng), 0, maxval);  // smooth texture
        }
        img.samples[(static_cast<std::size_t>(y) * cols + x) * components + c] = static_cast<std::uint16_t>(v);
      }
    }
  }
  return img;
}

bool write_native_dicom(const Image& img, const std::filesystem::path& path) {
  gdcm::ImageWriter writer;
  gdcm::Image& image = writer.GetImage();
  image.SetNumberOfDimensions(2);
  const unsigned int dims[2] = {static_cast<unsigned>(img.cols), static_cast<unsigned>(img.rows)};
  image.SetDimensions(dims);
  const auto allocated = static_cast<unsigned short>(8 * img.bytes_per_sample());
  const auto stored = static_cast<unsigned short>(img.bits_stored);
  image.SetPixelFormat(gdcm::PixelFormat(static_cast<unsigned short>(img.components), allocated, stored,
                                         static_cast<unsigned short>(stored - 1), 0));
  image.SetPhotometricInterpretation(img.components == 3 ? gdcm::PhotometricInterpretation::RGB
                                                         : gdcm::PhotometricInterpretation::MONOCHROME2);
  image.SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
  std::vector<char> bytes;
  for (std::uint16_t s : img.samples) {
    bytes.push_back(static_cast<char>(s & 0xFF));
    if (img.bytes_per_sample() == 2) bytes.push_back(static_cast<char>(s >> 8));
  }
  gdcm::DataElement pixels(gdcm::Tag(0x7fe0, 0x0010));
  pixels.SetByteValue(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
  image.SetDataElement(pixels);
  writer.SetFileName(path.string().c_str());
  return writer.Write();
}

// The one fragment of the first frame of an encapsulated DICOM file.
std::vector<unsigned char> first_fragment(const std::filesystem::path& path) {
  gdcm::Reader reader;
  reader.SetFileName(path.string().c_str());
  if (!reader.Read()) return {};
  const gdcm::DataElement& pixel = reader.GetFile().GetDataSet().GetDataElement(gdcm::Tag(0x7fe0, 0x0010));
  const gdcm::SequenceOfFragments* fragments = pixel.GetSequenceOfFragments();
  if (fragments == nullptr || fragments->GetNumberOfFragments() == 0) return {};
  const gdcm::ByteValue* bv = fragments->GetFragment(0).GetByteValue();
  if (bv == nullptr) return {};
  const auto* p = reinterpret_cast<const unsigned char*>(bv->GetPointer());
  return {p, p + bv->GetLength()};
}

// JPEG-LS stream of `img` encoded by dcmcjpls with `options`; empty (and `skip` set) when the tool is absent.
std::vector<unsigned char> encode_with_dcmtk(const Image& img, const std::string& options, std::string& skip) {
  if (std::system("command -v dcmcjpls > /dev/null 2>&1") != 0) {
    skip = "dcmcjpls (Debian package dcmtk, scripts/setup.sh) is not installed";
    return {};
  }
  const auto dir = echo_test::scratch_dir();
  const auto native = dir / "native.dcm", encoded = dir / "jpeg-ls.dcm";
  std::filesystem::remove(encoded);
  if (!write_native_dicom(img, native)) return {};
  const std::string command = "dcmcjpls " + options + " '" + native.string() + "' '" + encoded.string() + "'";
  if (std::system(command.c_str()) != 0) return {};
  return first_fragment(encoded);
}

// Decodes `stream` for img's header into samples; the reason is "" on success.
std::string decode(const std::vector<unsigned char>& stream, const Image& img, std::vector<std::uint16_t>& samples) {
  const DecodeTarget target = img.target();
  std::vector<unsigned char> out(echo::io_detail::decoded_bytes(target));
  const std::string why = echo::io_detail::decode_jpeg_ls(stream.data(), stream.size(), target, out.data());
  samples.assign(img.samples.size(), 0);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    samples[i] = target.bytes_per_sample == 2 ? static_cast<std::uint16_t>(out[2 * i] | (out[2 * i + 1] << 8)) : out[i];
  }
  return why;
}

#define ENCODE_OR_SKIP(var, img, options)                          \
  std::string skip_reason;                                         \
  const auto var = encode_with_dcmtk(img, options, skip_reason);   \
  if (!skip_reason.empty() && echo_test::running_under_ci()) FAIL() << skip_reason; \
  if (!skip_reason.empty()) GTEST_SKIP() << skip_reason;           \
  ASSERT_GT(var.size(), 20u) << "dcmcjpls produced no JPEG-LS stream (" << (options) << ")"

void expect_lossless(const Image& img, const std::string& options) {
  ENCODE_OR_SKIP(stream, img, options);
  std::vector<std::uint16_t> decoded;
  ASSERT_EQ(decode(stream, img, decoded), "") << options;
  std::size_t differ = 0;
  for (std::size_t i = 0; i < decoded.size(); ++i) differ += decoded[i] != img.samples[i];
  EXPECT_EQ(differ, 0u) << options << ": samples differing from the original";
}

TEST(JpegLsDecode, Grey8Lossless) { expect_lossless(make_image(47, 61, 1, 8, 1), ""); }

// The precision byte of the stream's frame header (SOF55), or -1.
int sof_precision(const std::vector<unsigned char>& s) {
  for (std::size_t i = 0; i + 4 < s.size(); ++i) {
    if (s[i] == 0xFF && s[i + 1] == 0xF7) return s[i + 4];
  }
  return -1;
}

// dcmcjpls's default ("raw") mode codes 12-bit samples as P = 16 with MAXVAL and thresholds in an LSE segment;
// its "cooked" mode (+pc) as P = 12 with the default parameters.
TEST(JpegLsDecode, Grey12In16BitLossless) {
  const Image img = make_image(40, 73, 1, 12, 2);
  expect_lossless(img, "");
  expect_lossless(img, "+pc");
  std::string skip_reason;
  EXPECT_EQ(sof_precision(encode_with_dcmtk(img, "+pc", skip_reason)), 12);
}

TEST(JpegLsDecode, Grey16Lossless) { expect_lossless(make_image(33, 50, 1, 16, 3), ""); }

// The interleave mode (ILV) byte of the stream's first scan header, or -1.
int sos_interleave(const std::vector<unsigned char>& s) {
  for (std::size_t i = 0; i + 4 < s.size(); ++i) {
    if (s[i] == 0xFF && s[i + 1] == 0xDA) {
      const std::size_t ilv = i + 4 + 1 + 2 * static_cast<std::size_t>(s[i + 4]) + 1;
      return ilv < s.size() ? s[ilv] : -1;
    }
  }
  return -1;
}

TEST(JpegLsDecode, RgbEveryInterleaveModeLossless) {
  const Image img = make_image(45, 58, 3, 8, 4);
  const char* modes[] = {"+in", "+il", "+is"};
  for (int ilv = 0; ilv < 3; ++ilv) {
    expect_lossless(img, modes[ilv]);
    std::string skip_reason;
    EXPECT_EQ(sos_interleave(encode_with_dcmtk(img, modes[ilv], skip_reason)), ilv) << modes[ilv];
  }
}

// Long flat areas: RUNindex climbs to the longest run orders and runs span whole lines.
TEST(JpegLsDecode, LongRunsLossless) {
  Image img = make_image(120, 300, 1, 8, 5);
  std::fill(img.samples.begin(), img.samples.begin() + 90 * 300, std::uint16_t{77});
  expect_lossless(img, "");
}

// Non-default thresholds and RESET arrive in an LSE preset-parameters segment.
TEST(JpegLsDecode, PresetParametersLossless) {
  const Image img = make_image(47, 61, 1, 8, 6);
  ENCODE_OR_SKIP(stream, img, "+t1 5 +t2 11 +t3 40 +rs 32");
  bool has_lse = false;
  for (std::size_t i = 0; i + 1 < stream.size(); ++i) has_lse = has_lse || (stream[i] == 0xFF && stream[i + 1] == 0xF8);
  EXPECT_TRUE(has_lse) << "dcmcjpls wrote no LSE segment";
  std::vector<std::uint16_t> decoded;
  ASSERT_EQ(decode(stream, img, decoded), "");
  EXPECT_EQ(decoded, img.samples);
}

void expect_near_lossless(const Image& img, const std::string& mode) {
  ENCODE_OR_SKIP(stream, img, "+en +md 2 " + mode);
  std::vector<std::uint16_t> decoded;
  ASSERT_EQ(decode(stream, img, decoded), "") << mode;
  int worst = 0;
  std::size_t changed = 0;
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    worst = std::max(worst, std::abs(decoded[i] - img.samples[i]));
    changed += decoded[i] != img.samples[i];
  }
  EXPECT_LE(worst, 2) << mode;
  EXPECT_GT(changed, decoded.size() / 10) << mode << ": NEAR=2 should change many samples";
}

TEST(JpegLsDecode, NearLossless) {
  expect_near_lossless(make_image(47, 61, 1, 8, 7), "");
  expect_near_lossless(make_image(40, 52, 1, 12, 8), "+pc");
  const Image rgb = make_image(45, 58, 3, 8, 9);
  for (const char* mode : {"+in", "+il", "+is"}) expect_near_lossless(rgb, mode);
}

TEST(JpegLsDecode, RefusesHeaderMismatch) {
  const Image img = make_image(20, 30, 1, 12, 10);
  ENCODE_OR_SKIP(stream, img, "+pc");
  std::vector<unsigned char> out(20 * 30 * 3 * 2);
  auto reason = [&](DecodeTarget t) { return echo::io_detail::decode_jpeg_ls(stream.data(), stream.size(), t, out.data()); };
  EXPECT_NE(reason({21, 30, 1, 2}).find("rows"), std::string::npos) << reason({21, 30, 1, 2});
  EXPECT_NE(reason({20, 31, 1, 2}).find("columns"), std::string::npos) << reason({20, 31, 1, 2});
  EXPECT_NE(reason({20, 30, 3, 2}).find("components"), std::string::npos) << reason({20, 30, 3, 2});
  EXPECT_NE(reason({20, 30, 1, 1}).find("precision 12"), std::string::npos) << reason({20, 30, 1, 1});
  EXPECT_EQ(reason({20, 30, 1, 2}), "");
}

std::size_t find_marker(const std::vector<unsigned char>& s, unsigned char code) {
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] == 0xFF && s[i + 1] == code) return i;
  }
  return s.size();
}

TEST(JpegLsDecode, RefusesUnsupportedCodingTools) {
  const Image img = make_image(20, 30, 1, 8, 11);
  ENCODE_OR_SKIP(stream, img, "");
  std::vector<std::uint16_t> decoded;
  const std::size_t sos = find_marker(stream, 0xDA);
  ASSERT_LT(sos + 7, stream.size());
  auto mapped = stream;
  mapped[sos + 6] = 1;  // mapping table selector of the scan's component
  EXPECT_NE(decode(mapped, img, decoded).find("mapping tables"), std::string::npos);
  auto restart = stream;  // DRI with 5 lines before the scan
  restart.insert(restart.begin() + static_cast<std::ptrdiff_t>(sos), {0xFF, 0xDD, 0x00, 0x04, 0x00, 0x05});
  EXPECT_NE(decode(restart, img, decoded).find("restart"), std::string::npos);
  auto baseline = stream;
  baseline[find_marker(baseline, 0xF7) + 1] = 0xC0;
  EXPECT_NE(decode(baseline, img, decoded).find("not a JPEG-LS frame"), std::string::npos);
}

// Decodes a damaged stream into a buffer with a guard band: "" or a reason, and nothing written past the end.
std::string decode_guarded(const std::vector<unsigned char>& stream, const DecodeTarget& target) {
  const std::size_t n = echo::io_detail::decoded_bytes(target);
  std::vector<unsigned char> out(n + 64, 0xA5);
  std::string why = echo::io_detail::decode_jpeg_ls(stream.data(), stream.size(), target, out.data());
  EXPECT_TRUE(std::all_of(out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), [](unsigned char b) { return b == 0xA5; }))
      << "write past the output buffer";
  return why;
}

void check_truncations(const std::vector<unsigned char>& stream, const Image& img) {
  const std::size_t eoi = find_marker(stream, 0xD9);
  ASSERT_LT(eoi, stream.size());
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    const std::vector<unsigned char> part(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(cut));
    const std::string why = decode_guarded(part, img.target());
    if (cut + 4 <= eoi) {
      EXPECT_NE(why, "") << "truncated at " << cut << " of " << stream.size();
    }
  }
  std::vector<std::uint16_t> decoded;
  const std::vector<unsigned char> no_eoi(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(eoi));
  ASSERT_EQ(decode(no_eoi, img, decoded), "");
  EXPECT_EQ(decoded, img.samples);
  auto hit_eoi = stream;  // the damage of the fuzzer's slow file: FFD9 turned into FFD8
  hit_eoi[eoi + 1] = 0xD8;
  EXPECT_NE(decode(hit_eoi, img, decoded).find("after the last scan"), std::string::npos);
  const std::vector<unsigned char> short_scan(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(eoi - 8));
  EXPECT_NE(decode(short_scan, img, decoded).find("scan data end before all"), std::string::npos);
}

void check_byte_flips(const std::vector<unsigned char>& stream, const Image& img, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> where(0, stream.size() - 1);
  std::uniform_int_distribution<int> value(0, 255), how_many(1, 4);
  int refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    auto damaged = stream;
    for (int i = how_many(rng); i > 0; --i) damaged[where(rng)] = static_cast<unsigned char>(value(rng));
    refused += decode_guarded(damaged, img.target()).empty() ? 0 : 1;
  }
  EXPECT_GT(refused, 30) << "most random damage should be noticed";
}

TEST(JpegLsDecode, DamagedGreyStreams) {
  const Image img = make_image(47, 61, 1, 12, 12);
  ENCODE_OR_SKIP(stream, img, "");
  check_truncations(stream, img);
  check_byte_flips(stream, img, 1);
}

TEST(JpegLsDecode, DamagedColourStreams) {
  const Image img = make_image(30, 41, 3, 8, 13);
  for (const char* mode : {"+in", "+il", "+is"}) {
    ENCODE_OR_SKIP(stream, img, mode);
    check_truncations(stream, img);
    check_byte_flips(stream, img, 2);
  }
}

TEST(JpegLsDecode, RefusesGarbage) {
  const Image img = make_image(8, 8, 1, 8, 14);
  std::vector<std::uint16_t> decoded;
  EXPECT_NE(decode({}, img, decoded), "");
  EXPECT_NE(decode({0xFF, 0xD8, 0xFF, 0xD9}, img, decoded), "");
  EXPECT_NE(decode({0x00, 0x01, 0x02, 0x03, 0x04}, img, decoded), "");
  EXPECT_NE(decode(std::vector<unsigned char>(1000, 0xFF), img, decoded), "");
}

// GDCM reads the first JPEG-LS fragment's header with CharLS while it reads the file and leaks a copy of the
// fragment when CharLS refuses it: the reader makes that CharLS call first and refuses such a file.
TEST(JpegLsDecode, AFileWhoseFirstHeaderCharLsRefusesIsRefusedBeforeGdcm) {
  const Image img = make_image(16, 16, 1, 8, 15);
  ENCODE_OR_SKIP(stream, img, "");
  EXPECT_EQ(echo::io_detail::jpeg_ls_first_fragment_problem(stream.data(), stream.size()), "");
  const auto path = echo_test::scratch_dir() / "jpeg-ls.dcm";  // written by encode_with_dcmtk
  ASSERT_TRUE(echo::read_dicom_file(path.string()).has_value());
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t sof = bytes.find("\xFF\xF7");  // the JPEG-LS frame header (SOF55)
  ASSERT_NE(sof, std::string::npos);
  bytes[sof + 1] = static_cast<char>(0xC3);  // now a lossless-JPEG frame header, which CharLS does not read
  const auto damaged = echo::io_detail::jpeg_ls_first_fragment_problem(
      reinterpret_cast<const unsigned char*>(bytes.data()) + (sof - 2), bytes.size() - (sof - 2));
  EXPECT_NE(damaged.find("the JPEG-LS header cannot be read"), std::string::npos) << damaged;
  const auto read = echo::read_dicom_buffer(bytes.data(), bytes.size());
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, echo::ErrorCode::malformed);
  EXPECT_NE(read.error().message.find("the first JPEG-LS fragment of (7FE0,0010) is damaged: the JPEG-LS header cannot be read"),
            std::string::npos) << read.error().message;
}

}  // namespace
