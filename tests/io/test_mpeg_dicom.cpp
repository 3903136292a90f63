// DICOM cine loops in the MPEG transfer syntaxes (MPEG-2, H.264, HEVC), decoded through FFmpeg
// (src/io/ffmpeg_video.hpp, decode_mpeg_frames in src/io/dicom_reader.cpp). The loops are made here: a test
// cine encoded by libavcodec, its stream put into our own DICOM writer's file as the Pixel Data's fragments.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include <gdcmReader.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmWriter.h>

#include "echo/io.hpp"
#include "io/ffmpeg_video.hpp"
#include "io/gdcm_util.hpp"
#include "test_support.hpp"

namespace {

// A moving dark disc on a textured background, 96 x 128 (even: 4:2:0), 25 fps, with calibration.
echo::Cine moving_disc_cine(int frames) {
  echo::Cine cine;
  cine.rows = 96;
  cine.cols = 128;
  cine.gray.resize(static_cast<std::size_t>(frames) * cine.frame_bytes());
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> noise(0, 30);
  for (int f = 0; f < frames; ++f) {
    const double radius = 22 + 6 * std::sin(f * 0.8);
    for (int y = 0; y < cine.rows; ++y) {
      for (int x = 0; x < cine.cols; ++x) {
        const bool cavity = std::hypot(x - 64.0, y - 48.0) < radius;
        const int base = cavity ? 25 : 110 + static_cast<int>(50 * std::sin(x * 0.09) * std::cos(y * 0.11));
        cine.frame(f)[y * cine.cols + x] = static_cast<std::uint8_t>(std::clamp(base + noise(rng), 0, 255));
      }
    }
    cine.frame_times_ms.push_back(40.0 * f);
  }
  cine.calibration.mm_per_px_x = cine.calibration.mm_per_px_y = 0.3;
  cine.calibration.trusted = true;
  return cine;
}

// The cine as one elementary stream by the library's own encoder (libavcodec MPEG-2, libx264, libx265); empty
// when this FFmpeg build has no such encoder.
std::string encode_stream(const echo::Cine& cine, echo::io_detail::ElementaryCodec codec) {
  auto stream = echo::io_detail::encode_elementary_stream(codec, cine.gray.data(), cine.frame_count(), cine.rows,
                                                          cine.cols, codec == echo::io_detail::ElementaryCodec::mpeg2 ? 3 : 10, "");
  return stream ? *stream : std::string();
}

struct Declared {
  int frames = -1;  // Number of Frames; -1 = the cine's
  int rows = -1;    // Rows and Columns; -1 = the cine's
  int cols = -1;
};

// Our writer's DICOM of `cine` with `stream` as its Pixel Data (three fragments), YBR_PARTIAL_420, and
// `syntax_uid` as its transfer syntax (written as H.264 4.1 by GDCM, then the UID renamed in place: all the
// MPEG UIDs have the same length).
std::string mpeg_dicom(const echo::Cine& cine, const std::string& stream, const std::string& syntax_uid,
                       const std::string& name, Declared declared = {}) {
  const std::string path = (echo_test::scratch_dir() / name).string();
  EXPECT_TRUE(echo::write_dicom_file(cine, path).has_value());
  gdcm::Reader reader;
  reader.SetFileName(path.c_str());
  EXPECT_TRUE(reader.Read());
  gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  gdcm::SmartPointer<gdcm::SequenceOfFragments> fragments = new gdcm::SequenceOfFragments;
  std::string even = stream;
  if (even.size() % 2 != 0) even.push_back('\0');
  const std::size_t third = (even.size() / 3) & ~std::size_t{1};
  for (std::size_t begin : {std::size_t{0}, third, 2 * third}) {
    const std::size_t end = begin == 2 * third ? even.size() : begin + third;
    gdcm::Fragment fragment;
    fragment.SetByteValue(even.data() + begin, static_cast<std::uint32_t>(end - begin));
    fragments->AddFragment(fragment);
  }
  gdcm::DataElement pixel_data(gdcm::Tag(0x7fe0, 0x0010), gdcm::VL(0xFFFFFFFF), gdcm::VR::OB);
  pixel_data.SetValue(*fragments);
  ds.Replace(pixel_data);
  const auto text = [](int v) { return std::to_string(v); };
  echo::io_detail::put_bytes(ds, 0x0028, 0x0004, gdcm::VR::CS, "YBR_PARTIAL_420");
  echo::io_detail::put_bytes(ds, 0x0028, 0x0008, gdcm::VR::IS, text(declared.frames >= 0 ? declared.frames : cine.frame_count()));
  const std::uint16_t rows = static_cast<std::uint16_t>(declared.rows >= 0 ? declared.rows : cine.rows);
  const std::uint16_t cols = static_cast<std::uint16_t>(declared.cols >= 0 ? declared.cols : cine.cols);
  echo::io_detail::put_bytes(ds, 0x0028, 0x0010, gdcm::VR::US, std::string(reinterpret_cast<const char*>(&rows), 2));
  echo::io_detail::put_bytes(ds, 0x0028, 0x0011, gdcm::VR::US, std::string(reinterpret_cast<const char*>(&cols), 2));
  const std::uint16_t three = 3, zero = 0;
  echo::io_detail::put_bytes(ds, 0x0028, 0x0002, gdcm::VR::US, std::string(reinterpret_cast<const char*>(&three), 2));
  echo::io_detail::put_bytes(ds, 0x0028, 0x0006, gdcm::VR::US, std::string(reinterpret_cast<const char*>(&zero), 2));
  reader.GetFile().GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax::MPEG4AVCH264HighProfileLevel4_1);
  gdcm::Writer writer;
  writer.SetFile(reader.GetFile());
  writer.SetFileName(path.c_str());
  EXPECT_TRUE(writer.Write());
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const std::size_t at = bytes.find("1.2.840.10008.1.2.4.102");
  EXPECT_TRUE(at != std::string::npos && at < 1024) << "transfer syntax UID not in the file meta group";
  bytes.replace(at, syntax_uid.size(), syntax_uid);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

double mean_abs_diff(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::abs(int(a[i]) - int(b[i]));
  return a.empty() ? 0.0 : sum / static_cast<double>(a.size());
}

using echo::io_detail::ElementaryCodec;

struct SyntaxCase {
  const char* uid;
  ElementaryCodec codec;
  const char* encoder;
};

class MpegDicom : public testing::TestWithParam<SyntaxCase> {};

TEST_P(MpegDicom, LoopDecodesWithItsTimingAndCalibration) {
  const echo::Cine original = moving_disc_cine(9);
  const std::string stream = encode_stream(original, GetParam().codec);
  if (stream.empty()) GTEST_SKIP() << "this FFmpeg build has no " << GetParam().encoder << " encoder to make the test loop";
  const std::string uid = GetParam().uid;
  const std::string path = mpeg_dicom(original, stream, uid, "mpeg" + uid.substr(uid.rfind('.') + 1) + ".dcm");
  auto read = echo::read_file(path);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_EQ(read->metadata.transfer_syntax_uid, uid);
  EXPECT_EQ(read->metadata.photometric, "YBR_PARTIAL_420");
  ASSERT_EQ(read->frame_count(), 9);
  ASSERT_EQ(read->rows, 96);
  ASSERT_EQ(read->cols, 128);
  EXPECT_NEAR(read->fps(), 25.0, 1e-9);
  EXPECT_NEAR(read->calibration.mm_per_px_x, 0.3, 1e-6);
  EXPECT_TRUE(read->calibration.trusted);
  // Lossy: the frames in display order, each close to its own original (1-2.7 grey levels here; a neighbouring
  // frame differs by 11-15, so a frame out of order or repeated fails).
  for (int f = 0; f < 9; ++f) {
    const std::vector<std::uint8_t> a(original.frame(f), original.frame(f) + original.frame_bytes());
    const std::vector<std::uint8_t> b(read->frame(f), read->frame(f) + read->frame_bytes());
    EXPECT_LT(mean_abs_diff(a, b), 4.0) << "frame " << f;
  }
  // The caller's-memory entry reads the same pixels.
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto from_memory = echo::read_dicom_buffer(bytes.data(), bytes.size(), {}, "memory.dcm");
  ASSERT_TRUE(from_memory.has_value()) << from_memory.error().message;
  EXPECT_EQ(from_memory->gray, read->gray);
}

INSTANTIATE_TEST_SUITE_P(Syntaxes, MpegDicom,
                         testing::Values(SyntaxCase{"1.2.840.10008.1.2.4.100", ElementaryCodec::mpeg2, "mpeg2video"},
                                         SyntaxCase{"1.2.840.10008.1.2.4.101", ElementaryCodec::mpeg2, "mpeg2video"},
                                         SyntaxCase{"1.2.840.10008.1.2.4.102", ElementaryCodec::h264, "libx264"},
                                         SyntaxCase{"1.2.840.10008.1.2.4.103", ElementaryCodec::h264, "libx264"},
                                         SyntaxCase{"1.2.840.10008.1.2.4.104", ElementaryCodec::h264, "libx264"},
                                         SyntaxCase{"1.2.840.10008.1.2.4.107", ElementaryCodec::hevc, "libx265"}),
                         [](const testing::TestParamInfo<SyntaxCase>& param) {
                           const std::string uid = param.param.uid;
                           return "ts_" + uid.substr(uid.rfind('.') + 1);
                         });

// Number of Frames must be what the stream holds, and every picture must be Rows x Columns: a mismatch is
// an error that says so, never a loop with missing frames or a picture copied over a different size.
TEST(MpegDicomErrors, FrameCountAndSizeMustMatchTheStream) {
  const echo::Cine original = moving_disc_cine(9);
  const std::string stream = encode_stream(original, ElementaryCodec::mpeg2);
  ASSERT_FALSE(stream.empty()) << "libavcodec always has its own MPEG-2 encoder";
  const std::string uid = "1.2.840.10008.1.2.4.100";
  const auto error_of = [](const std::string& path) {
    auto read = echo::read_file(path);
    EXPECT_FALSE(read.has_value());
    return read ? echo::Error{} : read.error();
  };
  echo::Error e = error_of(mpeg_dicom(original, stream, uid, "fewer.dcm", {8, -1, -1}));
  EXPECT_EQ(e.code, echo::ErrorCode::malformed);
  EXPECT_NE(e.message.find("fewer.dcm': the MPEG2 Main Profile / Main Level stream holds more pictures than the 8 frames declared"),
            std::string::npos) << e.message;
  e = error_of(mpeg_dicom(original, stream, uid, "more.dcm", {10, -1, -1}));
  EXPECT_NE(e.message.find("stream holds 9 pictures, Number of Frames declares 10"), std::string::npos) << e.message;
  e = error_of(mpeg_dicom(original, stream, uid, "smaller.dcm", {-1, 64, 80}));
  EXPECT_EQ(e.code, echo::ErrorCode::malformed);
  EXPECT_NE(e.message.find("picture 1 decodes to 128x96, Rows and Columns declare 80x64"), std::string::npos) << e.message;
}

// A stream cut short or with bytes flipped gives an error (damaged or missing pictures), never a loop.
TEST(MpegDicomErrors, DamagedStreamIsAnError) {
  const echo::Cine original = moving_disc_cine(9);
  const std::string stream = encode_stream(original, ElementaryCodec::mpeg2);
  ASSERT_FALSE(stream.empty());
  const std::string uid = "1.2.840.10008.1.2.4.100";
  auto cut = echo::read_file(mpeg_dicom(original, stream.substr(0, stream.size() / 2), uid, "cut.dcm"));
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error().code, echo::ErrorCode::malformed);
  EXPECT_NE(cut.error().message.find("cut.dcm"), std::string::npos) << cut.error().message;
  std::string flipped = stream;
  for (std::size_t i = flipped.size() / 3; i < flipped.size() / 3 + 64; ++i) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  auto damaged = echo::read_file(mpeg_dicom(original, flipped, uid, "flipped.dcm"));
  ASSERT_FALSE(damaged.has_value()) << "64 flipped bytes in the middle of the stream decoded as a clean loop";
  EXPECT_EQ(damaged.error().code, echo::ErrorCode::malformed) << damaged.error().message;
}

// Our own writer's H.264 loop (DicomCompression::h264, `echoa synth --format dicom-h264`) reads back.
TEST(MpegDicomWriter, H264LoopReadsBackWithItsTimingAndCalibration) {
  const echo::Cine original = moving_disc_cine(12);
  const std::string path = (echo_test::scratch_dir() / "written_h264.dcm").string();
  echo::DicomWriteOptions options;
  options.compression = echo::DicomCompression::h264;
  auto written = echo::write_dicom_file(original, path, options);
  if (!written && written.error().code == echo::ErrorCode::unsupported) GTEST_SKIP() << written.error().message;
  ASSERT_TRUE(written.has_value()) << written.error().message;
  auto read = echo::read_file(path);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_EQ(read->metadata.transfer_syntax_uid, "1.2.840.10008.1.2.4.102");
  ASSERT_EQ(read->frame_count(), 12);
  EXPECT_NEAR(read->fps(), 25.0, 1e-9);
  EXPECT_NEAR(read->calibration.mm_per_px_x, 0.3, 1e-6);
  for (int f = 0; f < 12; ++f) {
    const std::vector<std::uint8_t> a(original.frame(f), original.frame(f) + original.frame_bytes());
    const std::vector<std::uint8_t> b(read->frame(f), read->frame(f) + read->frame_bytes());
    EXPECT_LT(mean_abs_diff(a, b), 4.0) << "frame " << f;
  }
  echo::Cine odd = moving_disc_cine(2);
  odd.cols = 127;
  odd.gray.resize(static_cast<std::size_t>(2 * odd.rows * odd.cols));
  auto refused = echo::write_dicom_file(odd, (echo_test::scratch_dir() / "odd_h264.dcm").string(), options);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, echo::ErrorCode::invalid_argument) << refused.error().message;
}

}  // namespace
