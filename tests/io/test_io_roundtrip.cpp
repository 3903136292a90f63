// Round trips through the writers and the raw-buffer converters, and the calibration / timing rules.
// Synthetic cines are built here (a speckle-like pattern with a dark ellipse), no shared data needed.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <random>

#include <gdcmImageChangeTransferSyntax.h>
#include <gdcmImageReader.h>
#include <gdcmImageWriter.h>
#include <gdcmReader.h>
#include <gdcmWriter.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "echo/io.hpp"
#include "io/io_internal.hpp"
#include "test_support.hpp"

namespace {

// A deterministic test cine: smooth speckle-like texture with a moving dark cavity; colour optional.
echo::Cine make_cine(int frames, int rows, int cols, bool colour, double frame_time_ms = 20.0) {
  echo::Cine cine;
  cine.rows = rows;
  cine.cols = cols;
  cine.gray.resize(static_cast<std::size_t>(frames) * rows * cols);
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> noise(0, 60);
  for (int f = 0; f < frames; ++f) {
    const double radius = 0.25 + 0.05 * std::sin(f * 0.7);
    for (int y = 0; y < rows; ++y) {
      for (int x = 0; x < cols; ++x) {
        const double dx = (x - cols / 2.0) / cols, dy = (y - rows / 2.0) / rows;
        const bool cavity = dx * dx + dy * dy < radius * radius;
        const int base = cavity ? 20 : 120 + static_cast<int>(60 * std::sin(x * 0.05) * std::cos(y * 0.07));
        cine.frame(f)[y * cols + x] = static_cast<std::uint8_t>(std::clamp(base + noise(rng), 0, 255));
      }
    }
    cine.frame_times_ms.push_back(frame_time_ms * f);
    if (colour) {
      echo::ColorFrame cf;
      cf.frame_index = f;
      cf.rgb.width = cols;
      cf.rgb.height = rows;
      cf.rgb.pixels.resize(static_cast<std::size_t>(rows) * cols * 3);
      for (int i = 0; i < rows * cols; ++i) {
        const std::uint8_t g = cine.frame(f)[i];
        const bool doppler = (i % cols) > cols / 2 && (i / cols) < rows / 3;  // a red box like colour flow
        cf.rgb.pixels[3 * i] = doppler ? 220 : g;
        cf.rgb.pixels[3 * i + 1] = doppler ? 30 : g;
        cf.rgb.pixels[3 * i + 2] = doppler ? 40 : g;
        cine.frame(f)[i] = echo::io_detail::luma_from_rgb(cf.rgb.pixels[3 * i], cf.rgb.pixels[3 * i + 1], cf.rgb.pixels[3 * i + 2]);
      }
      cine.color.push_back(std::move(cf));
    }
  }
  cine.calibration.mm_per_px_x = 0.3125;
  cine.calibration.mm_per_px_y = 0.3125;
  cine.calibration.source = echo::CalibrationSource::synthetic;
  cine.calibration.trusted = true;
  cine.metadata.manufacturer = "EchoAnalyzer";
  cine.metadata.model_name = "Phantom";
  cine.metadata.heart_rate_bpm = 72;
  cine.metadata.r_wave_times_ms = {0.0, 833.0};
  cine.metadata.view_hint = "a4c";
  return cine;
}

int max_abs_diff(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  EXPECT_EQ(a.size(), b.size());
  int d = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

double mean_abs_diff(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) sum += std::abs(a[i] - b[i]);
  return a.empty() ? 0.0 : sum / static_cast<double>(a.size());
}

// Mean absolute luma error of libjpeg (through OpenCV) encoding and decoding the cine's frames at `quality`.
double reference_jpeg_error(const echo::Cine& cine, bool colour, int quality) {
  std::vector<std::uint8_t> decoded_luma;
  for (int f = 0; f < cine.frame_count(); ++f) {
    cv::Mat frame;
    if (colour) {
      const auto& rgb = cine.color[static_cast<std::size_t>(f)].rgb;
      cv::cvtColor(cv::Mat(rgb.height, rgb.width, CV_8UC3, const_cast<std::uint8_t*>(rgb.pixels.data())), frame,
                   cv::COLOR_RGB2BGR);
    } else {
      frame = cv::Mat(cine.rows, cine.cols, CV_8UC1, const_cast<std::uint8_t*>(cine.frame(f))).clone();
    }
    std::vector<std::uint8_t> encoded;
    cv::imencode(".jpg", frame, encoded, {cv::IMWRITE_JPEG_QUALITY, quality});
    const cv::Mat luma = cv::imdecode(encoded, cv::IMREAD_GRAYSCALE);
    decoded_luma.insert(decoded_luma.end(), luma.datastart, luma.dataend);
  }
  return mean_abs_diff(decoded_luma, cine.gray);
}

struct SyntaxCase {
  echo::DicomCompression compression;
  bool colour;
  bool big_endian;
  const char* expected_syntax;  // prefix of the transfer syntax name read back
};

class DicomRoundTrip : public testing::TestWithParam<SyntaxCase> {};

TEST_P(DicomRoundTrip, PixelsTimingAndCalibrationSurvive) {
  const SyntaxCase c = GetParam();
  const echo::Cine original = make_cine(5, 96, 128, c.colour);
  echo::DicomWriteOptions options;
  options.compression = c.compression;
  options.write_color = c.colour;
  options.big_endian = c.big_endian;
  const std::string path = (echo_test::scratch_dir() / "cine.dcm").string();
  auto written = echo::write_dicom_file(original, path, options);
  ASSERT_TRUE(written.has_value()) << written.error().message;

  echo::ReadOptions read_options;
  read_options.max_color_frames = -1;
  auto back = echo::read_dicom_file(path, read_options);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->metadata.transfer_syntax.rfind(c.expected_syntax, 0), 0u) << back->metadata.transfer_syntax;
  EXPECT_EQ(back->metadata.sop_class_uid, "1.2.840.10008.5.1.4.1.1.3.1");
  ASSERT_EQ(back->frame_count(), 5);
  ASSERT_EQ(back->rows, 96);
  ASSERT_EQ(back->cols, 128);
  if (c.compression == echo::DicomCompression::jpeg_baseline) {
    // Lossy: the stated tolerance is the error of libjpeg itself at the same quality on the same frames
    // (OpenCV encode + decode), plus 25 % and a quarter grey level for the different chroma path.
    const double codec_error = reference_jpeg_error(original, c.colour, options.jpeg_quality);
    EXPECT_GT(codec_error, 0.0);
    EXPECT_LT(mean_abs_diff(back->gray, original.gray), 1.25 * codec_error + 0.25);
  } else {
    EXPECT_EQ(back->gray, original.gray);
  }
  if (c.colour) {
    ASSERT_EQ(back->color.size(), original.color.size());
    for (std::size_t k = 0; k < original.color.size(); ++k) {
      if (c.compression == echo::DicomCompression::jpeg_baseline) {
        EXPECT_LT(mean_abs_diff(back->color[k].rgb.pixels, original.color[k].rgb.pixels), 6.0);
      } else {
        EXPECT_EQ(back->color[k].rgb.pixels, original.color[k].rgb.pixels);
      }
    }
  } else {
    EXPECT_TRUE(back->color.empty());
  }
  EXPECT_EQ(back->metadata.timing_source, "FrameTime");
  EXPECT_EQ(back->frame_times_ms, original.frame_times_ms);
  EXPECT_TRUE(back->calibration.trusted) << back->calibration.note;
  EXPECT_EQ(back->calibration.source, echo::CalibrationSource::ultrasound_region);
  EXPECT_DOUBLE_EQ(back->calibration.mm_per_px_x, 0.3125);
  EXPECT_DOUBLE_EQ(back->calibration.mm_per_px_y, 0.3125);
  EXPECT_EQ(back->metadata.manufacturer, "EchoAnalyzer");
  EXPECT_EQ(back->metadata.model_name, "Phantom");
  EXPECT_DOUBLE_EQ(back->metadata.heart_rate_bpm, 72.0);
  EXPECT_EQ(back->metadata.r_wave_times_ms, original.metadata.r_wave_times_ms);
  EXPECT_EQ(back->metadata.view_hint, "a4c");
}

INSTANTIATE_TEST_SUITE_P(
    Syntaxes, DicomRoundTrip,
    testing::Values(SyntaxCase{echo::DicomCompression::none, false, false, "Explicit VR Little Endian"},
                    SyntaxCase{echo::DicomCompression::none, true, false, "Explicit VR Little Endian"},
                    SyntaxCase{echo::DicomCompression::none, true, true, "Explicit VR Big Endian"},
                    SyntaxCase{echo::DicomCompression::jpeg_baseline, false, false, "JPEG Baseline"},
                    SyntaxCase{echo::DicomCompression::jpeg_baseline, true, false, "JPEG Baseline"},
                    SyntaxCase{echo::DicomCompression::jpeg_lossless, false, false, "JPEG Lossless"},
                    SyntaxCase{echo::DicomCompression::jpeg_lossless, true, false, "JPEG Lossless"},
                    SyntaxCase{echo::DicomCompression::jpeg_ls, false, false, "JPEG-LS Lossless"},
                    SyntaxCase{echo::DicomCompression::jpeg_ls, true, false, "JPEG-LS Lossless"},
                    SyntaxCase{echo::DicomCompression::jpeg2000, false, false, "JPEG 2000"},
                    SyntaxCase{echo::DicomCompression::jpeg2000, true, false, "JPEG 2000"},
                    SyntaxCase{echo::DicomCompression::rle, false, false, "RLE Lossless"},
                    SyntaxCase{echo::DicomCompression::rle, true, false, "RLE Lossless"}),
    [](const testing::TestParamInfo<SyntaxCase>& param_info) {
      const SyntaxCase& c = param_info.param;
      return std::string(echo::dicom_compression_name(c.compression)) + (c.colour ? "_rgb" : "_gray") +
             (c.big_endian ? "_big_endian" : "");
    });

TEST(DicomWriter, IrregularTimingWritesFrameTimeVector) {
  echo::Cine cine = make_cine(4, 32, 48, false);
  cine.frame_times_ms = {0.0, 30.0, 70.0, 100.0};
  const std::string path = (echo_test::scratch_dir() / "irregular.dcm").string();
  ASSERT_TRUE(echo::write_dicom_file(cine, path, {}).has_value());
  auto back = echo::read_dicom_file(path);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->metadata.timing_source, "FrameTimeVector");
  EXPECT_EQ(back->frame_times_ms, cine.frame_times_ms);
}

TEST(DicomWriter, RegionsFromMetadataAreWrittenExactly) {
  echo::Cine cine = make_cine(2, 64, 100, false);
  echo::UltrasoundRegion a{2, 3, 48, 60, 1, 1, 3, 3, 0.0123456789012345, 0.0123456789012345};
  echo::UltrasoundRegion b{51, 3, 97, 60, 1, 1, 3, 3, 0.0123456789012345, 0.0123456789012345};
  cine.metadata.regions = {a, b};
  const std::string path = (echo_test::scratch_dir() / "dual.dcm").string();
  echo::DicomWriteOptions options;
  options.compression = echo::DicomCompression::none;
  ASSERT_TRUE(echo::write_dicom_file(cine, path, options).has_value());
  auto back = echo::read_dicom_file(path);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  ASSERT_EQ(back->metadata.regions.size(), 2u);
  EXPECT_EQ(back->metadata.regions[1].x0, 51);
  EXPECT_EQ(back->metadata.regions[1].x1, 97);
  EXPECT_EQ(back->metadata.regions[0].physical_delta_x, 0.0123456789012345);  // bit-exact FD
  EXPECT_DOUBLE_EQ(back->calibration.mm_per_px_x, 0.123456789012345);
  EXPECT_NE(back->calibration.note.find("dual view"), std::string::npos) << back->calibration.note;
}

TEST(DicomWriter, OutputIsDeterministic) {
  const echo::Cine cine = make_cine(3, 40, 40, false);
  const auto dir = echo_test::scratch_dir();
  ASSERT_TRUE(echo::write_dicom_file(cine, (dir / "a.dcm").string()).has_value());
  ASSERT_TRUE(echo::write_dicom_file(cine, (dir / "b.dcm").string()).has_value());
  std::ifstream a(dir / "a.dcm", std::ios::binary), b(dir / "b.dcm", std::ios::binary);
  const std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_FALSE(sa.empty());
  EXPECT_EQ(sa, sb);
}

TEST(DicomWriter, RejectsEmptyCineAndUnwritablePath) {
  echo::Cine empty;
  auto r = echo::write_dicom_file(empty, (echo_test::scratch_dir() / "x.dcm").string());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, echo::ErrorCode::invalid_argument);
  auto w = echo::write_dicom_file(make_cine(1, 8, 8, false), "/nonexistent-dir/x.dcm");
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code, echo::ErrorCode::io_failed);
}

// GDCM's own converter writes the file (fragments as GDCM lays them out); our reader must agree.
TEST(DicomReader, ReadsWhatGdcmConverterWrites) {
  const echo::Cine original = make_cine(3, 64, 80, false);
  const auto dir = echo_test::scratch_dir();
  echo::DicomWriteOptions raw;
  raw.compression = echo::DicomCompression::none;
  ASSERT_TRUE(echo::write_dicom_file(original, (dir / "raw.dcm").string(), raw).has_value());
  const gdcm::TransferSyntax::TSType syntaxes[] = {gdcm::TransferSyntax::JPEGLosslessProcess14_1,
                                                   gdcm::TransferSyntax::JPEGLSLossless,
                                                   gdcm::TransferSyntax::JPEG2000Lossless,
                                                   gdcm::TransferSyntax::RLELossless,
                                                   gdcm::TransferSyntax::ImplicitVRLittleEndian,
                                                   gdcm::TransferSyntax::ExplicitVRBigEndian};
  for (auto ts : syntaxes) {
    gdcm::ImageReader reader;
    reader.SetFileName((dir / "raw.dcm").string().c_str());
    ASSERT_TRUE(reader.Read());
    gdcm::ImageChangeTransferSyntax change;
    change.SetInput(reader.GetImage());
    change.SetTransferSyntax(ts);
    ASSERT_TRUE(change.Change()) << gdcm::TransferSyntax::GetTSString(ts);
    gdcm::ImageWriter writer;
    writer.SetFile(reader.GetFile());
    writer.SetImage(change.GetOutput());
    const std::string out = (dir / (std::string("conv_") + std::to_string(static_cast<int>(ts)) + ".dcm")).string();
    writer.SetFileName(out.c_str());
    ASSERT_TRUE(writer.Write());
    auto back = echo::read_dicom_file(out);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(back->gray, original.gray) << gdcm::TransferSyntax::GetTSString(ts);
    EXPECT_EQ(back->frame_times_ms, original.frame_times_ms);
  }
}

// JPEG frames split over several fragments with an empty offset table: grouped at start-of-image markers.
TEST(DicomReader, FragmentedJpegFramesWithoutOffsetTable) {
  const echo::Cine original = make_cine(3, 64, 80, false);
  const auto dir = echo_test::scratch_dir();
  ASSERT_TRUE(echo::write_dicom_file(original, (dir / "jpeg.dcm").string()).has_value());
  gdcm::Reader reader;
  reader.SetFileName((dir / "jpeg.dcm").string().c_str());
  ASSERT_TRUE(reader.Read());
  gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  const gdcm::DataElement& pixel = ds.GetDataElement(gdcm::Tag(0x7fe0, 0x0010));
  const gdcm::SequenceOfFragments* fragments = pixel.GetSequenceOfFragments();
  ASSERT_NE(fragments, nullptr);
  ASSERT_EQ(fragments->GetNumberOfFragments(), 3u);
  gdcm::SmartPointer<gdcm::SequenceOfFragments> split = new gdcm::SequenceOfFragments;
  for (unsigned i = 0; i < 3; ++i) {
    const gdcm::ByteValue* bv = fragments->GetFragment(i).GetByteValue();
    const std::uint32_t half = (bv->GetLength() / 2) & ~1u;
    gdcm::Fragment first, second;
    first.SetByteValue(bv->GetPointer(), half);
    second.SetByteValue(bv->GetPointer() + half, bv->GetLength() - half);
    split->AddFragment(first);
    split->AddFragment(second);
  }
  gdcm::DataElement replaced(gdcm::Tag(0x7fe0, 0x0010), gdcm::VL(0xFFFFFFFF), gdcm::VR::OB);
  replaced.SetValue(*split);
  ds.Replace(replaced);
  gdcm::Writer writer;
  writer.SetFile(reader.GetFile());
  writer.SetFileName((dir / "split.dcm").string().c_str());
  ASSERT_TRUE(writer.Write());
  auto whole = echo::read_dicom_file((dir / "jpeg.dcm").string());
  auto back = echo::read_dicom_file((dir / "split.dcm").string());
  ASSERT_TRUE(whole.has_value());
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->gray, whole->gray);
}

// The bytes of a file, changed by `edit`, written back.
void edit_file(const std::string& path, const std::function<void(std::string&)>& edit) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  in.close();
  edit(bytes);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// 8-bit JPEG of every DCT process goes through libjpeg-turbo (GDCM's codec asserts on damaged scans), and a
// scan that makes libjpeg warn is an error, not a frame of grey fill analysed as if it were the heart.
TEST(DicomReader, JpegDctFramesAreStrictAndNeverGdcm) {
  const echo::Cine original = make_cine(3, 64, 80, false);
  const auto dir = echo_test::scratch_dir();
  const std::string baseline = (dir / "baseline.dcm").string(), extended = (dir / "extended.dcm").string(),
                    damaged = (dir / "damaged.dcm").string();
  ASSERT_TRUE(echo::write_dicom_file(original, baseline).has_value());
  std::filesystem::copy_file(baseline, extended, std::filesystem::copy_options::overwrite_existing);
  edit_file(extended, [](std::string& b) {  // the same frames declared as JPEG Extended (process 2 & 4)
    for (std::size_t at = b.find("1.2.840.10008.1.2.4.50"); at != std::string::npos; at = b.find("1.2.840.10008.1.2.4.50", at))
      b[at + 21] = '1';
  });
  auto base = echo::read_dicom_file(baseline), ext = echo::read_dicom_file(extended);
  ASSERT_TRUE(base.has_value() && ext.has_value());
  EXPECT_NE(ext->metadata.transfer_syntax.find("Extended"), std::string::npos) << ext->metadata.transfer_syntax;
  EXPECT_EQ(ext->gray, base->gray);

  std::filesystem::copy_file(baseline, damaged, std::filesystem::copy_options::overwrite_existing);
  edit_file(damaged, [](std::string& b) {  // garbage in the middle of the second frame's scan
    std::size_t sos = b.find("\xff\xda");
    sos = b.find("\xff\xda", sos + 2);
    ASSERT_NE(sos, std::string::npos);
    for (std::size_t k = sos + 40; k < sos + 120; k += 3) b[k] = static_cast<char>(0xd4);
  });
  auto bad = echo::read_dicom_file(damaged);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, echo::ErrorCode::malformed);
  EXPECT_NE(bad.error().message.find("damaged frame"), std::string::npos) << bad.error().message;
}

// A header that declares a huge image with a few bytes of pixels is refused before allocation.
TEST(DicomReader, HugeDeclaredSizeIsTooLarge) {
  const auto dir = echo_test::scratch_dir();
  echo::DicomWriteOptions raw;
  raw.compression = echo::DicomCompression::none;
  ASSERT_TRUE(echo::write_dicom_file(make_cine(1, 8, 8, false), (dir / "small.dcm").string(), raw).has_value());
  gdcm::Reader reader;
  reader.SetFileName((dir / "small.dcm").string().c_str());
  ASSERT_TRUE(reader.Read());
  gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  const auto set_us = [&ds](std::uint16_t e, std::uint16_t v) {
    gdcm::DataElement de(gdcm::Tag(0x0028, e));
    de.SetVR(gdcm::VR::US);
    de.SetByteValue(reinterpret_cast<const char*>(&v), 2);
    ds.Replace(de);
  };
  set_us(0x0010, 60000);
  set_us(0x0011, 60000);
  gdcm::DataElement frames(gdcm::Tag(0x0028, 0x0008));
  frames.SetVR(gdcm::VR::IS);
  frames.SetByteValue("100000", 6);
  ds.Replace(frames);
  gdcm::Writer writer;
  writer.SetFile(reader.GetFile());
  writer.SetFileName((dir / "huge.dcm").string().c_str());
  ASSERT_TRUE(writer.Write());
  auto cine = echo::read_dicom_file((dir / "huge.dcm").string());
  ASSERT_FALSE(cine.has_value());
  EXPECT_EQ(cine.error().code, echo::ErrorCode::too_large);
  EXPECT_NE(cine.error().message.find("huge.dcm"), std::string::npos);
}

// Legal encodings that Debian's GDCM asserts on (the host process would abort) are refused with a clear error:
// Bits Stored other than 8 with 8 bits allocated (ImageCodec::DecodeByStreams), and a Photometric
// Interpretation that GDCM completes to PALETTE COLOR ("PALETTE COLO") without its lookup tables.
namespace {
std::string rewrite_uncompressed(const std::filesystem::path& dir, const std::string& name,
                                 const std::function<void(gdcm::DataSet&)>& change) {
  echo::DicomWriteOptions raw;
  raw.compression = echo::DicomCompression::none;
  const std::string source = (dir / "source.dcm").string();
  EXPECT_TRUE(echo::write_dicom_file(make_cine(2, 16, 16, false), source, raw).has_value());
  gdcm::Reader reader;
  reader.SetFileName(source.c_str());
  EXPECT_TRUE(reader.Read());
  change(reader.GetFile().GetDataSet());
  gdcm::Writer writer;
  writer.SetFile(reader.GetFile());
  const std::string out = (dir / name).string();
  writer.SetFileName(out.c_str());
  EXPECT_TRUE(writer.Write());
  return out;
}

void set_element(gdcm::DataSet& ds, std::uint16_t element, gdcm::VR vr, const std::string& bytes) {
  gdcm::DataElement de(gdcm::Tag(0x0028, element));
  de.SetVR(vr);
  de.SetByteValue(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
  ds.Replace(de);
}
}  // namespace

TEST(DicomReader, EightBitsAllocatedWithOtherBitsStoredIsRefusedNotAborted) {
  const auto dir = echo_test::scratch_dir();
  const std::string path = rewrite_uncompressed(dir, "bits7.dcm", [](gdcm::DataSet& ds) {
    set_element(ds, 0x0101, gdcm::VR::US, std::string("\x07\x00", 2));
    set_element(ds, 0x0102, gdcm::VR::US, std::string("\x06\x00", 2));
  });
  auto cine = echo::read_dicom_file(path);
  ASSERT_FALSE(cine.has_value());
  EXPECT_EQ(cine.error().code, echo::ErrorCode::unsupported);
  EXPECT_NE(cine.error().message.find("bits7.dcm"), std::string::npos);
  EXPECT_NE(cine.error().message.find("Bits Stored 7"), std::string::npos) << cine.error().message;
}

TEST(DicomReader, SamplesPerPixelOtherThanOneThreeFourIsRefusedNotAborted) {
  const auto dir = echo_test::scratch_dir();
  const std::string path = rewrite_uncompressed(dir, "spp2.dcm", [](gdcm::DataSet& ds) {
    set_element(ds, 0x0002, gdcm::VR::US, std::string("\x02\x00", 2));
  });
  auto cine = echo::read_dicom_file(path);
  ASSERT_FALSE(cine.has_value());
  EXPECT_EQ(cine.error().code, echo::ErrorCode::malformed);
  EXPECT_NE(cine.error().message.find("Samples per Pixel 2"), std::string::npos) << cine.error().message;
}

TEST(DicomReader, ColourWithoutPhotometricOrWithPlanarTwoIsRefusedNotAborted) {
  const auto dir = echo_test::scratch_dir();
  const std::string no_photometric = rewrite_uncompressed(dir, "nopi.dcm", [](gdcm::DataSet& ds) {
    set_element(ds, 0x0002, gdcm::VR::US, std::string("\x03\x00", 2));
    ds.Remove(gdcm::Tag(0x0028, 0x0004));
  });
  auto cine = echo::read_dicom_file(no_photometric);
  ASSERT_FALSE(cine.has_value());
  EXPECT_NE(cine.error().message.find("no Photometric Interpretation"), std::string::npos) << cine.error().message;
  const std::string planar = rewrite_uncompressed(dir, "planar.dcm", [](gdcm::DataSet& ds) {
    set_element(ds, 0x0002, gdcm::VR::US, std::string("\x03\x00", 2));
    set_element(ds, 0x0004, gdcm::VR::CS, "RGB ");
    set_element(ds, 0x0006, gdcm::VR::US, std::string("\x02\x00", 2));
  });
  cine = echo::read_dicom_file(planar);
  ASSERT_FALSE(cine.has_value());
  EXPECT_NE(cine.error().message.find("Planar Configuration 2"), std::string::npos) << cine.error().message;
}

// Pixel Representation is 0 or 1; GDCM adds any other value to its scalar type and asserts (the dicom
// fuzzer's 16128 under JPEG-LS: fuzz/regressions/dicom/gdcm-assert-pixel-representation-16128.dcm).
TEST(DicomReader, PixelRepresentationOtherThanZeroOrOneIsRefusedNotAborted) {
  const auto dir = echo_test::scratch_dir();
  for (const char* value : {"\x02\x00", "\x00\x3f"}) {
    const std::string path = rewrite_uncompressed(dir, "pixelrep.dcm", [&](gdcm::DataSet& ds) {
      set_element(ds, 0x0103, gdcm::VR::US, std::string(value, 2));
    });
    auto cine = echo::read_dicom_file(path);
    ASSERT_FALSE(cine.has_value());
    EXPECT_EQ(cine.error().code, echo::ErrorCode::malformed);
    EXPECT_NE(cine.error().message.find("Pixel Representation"), std::string::npos) << cine.error().message;
    EXPECT_NE(cine.error().message.find("(must be 0 or 1)"), std::string::npos) << cine.error().message;
  }
  const std::string signed_path = rewrite_uncompressed(dir, "signed.dcm", [](gdcm::DataSet& ds) {
    set_element(ds, 0x0103, gdcm::VR::US, std::string("\x01\x00", 2));
  });
  EXPECT_TRUE(echo::read_dicom_file(signed_path).has_value()) << "signed samples (1) stay readable";
}

TEST(DicomReader, BitsStoredThatGdcmIgnoresStillReads) {
  // 0 and above Bits Allocated are ignored by GDCM (Bits Stored stays 8): the file reads as before.
  for (const char* stored : {"\x00\x00", "\x0c\x00"}) {
    const auto dir = echo_test::scratch_dir();
    const std::string path = rewrite_uncompressed(dir, "bits.dcm", [stored](gdcm::DataSet& ds) {
      set_element(ds, 0x0101, gdcm::VR::US, std::string(stored, 2));
    });
    auto cine = echo::read_dicom_file(path);
    ASSERT_TRUE(cine.has_value()) << cine.error().message;
    EXPECT_EQ(cine->frame_count(), 2);
  }
}

TEST(DicomReader, TruncatedPaletteNameWithoutTablesIsRefusedNotAborted) {
  const auto dir = echo_test::scratch_dir();
  const std::string path = rewrite_uncompressed(dir, "palette.dcm", [](gdcm::DataSet& ds) {
    set_element(ds, 0x0004, gdcm::VR::CS, "PALETTE COLO");
  });
  auto cine = echo::read_dicom_file(path);
  ASSERT_FALSE(cine.has_value());
  EXPECT_EQ(cine.error().code, echo::ErrorCode::malformed);
  EXPECT_NE(cine.error().message.find("PALETTE COLOR lookup table"), std::string::npos) << cine.error().message;
}

TEST(DicomReader, BufferAndFileAgree) {
  const echo::Cine original = make_cine(2, 32, 32, true);
  const std::string path = (echo_test::scratch_dir() / "c.dcm").string();
  echo::DicomWriteOptions options;
  options.write_color = true;
  ASSERT_TRUE(echo::write_dicom_file(original, path, options).has_value());
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto a = echo::read_dicom_file(path);
  auto b = echo::read_dicom_buffer(bytes.data(), bytes.size());
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value()) << b.error().message;
  EXPECT_EQ(a->gray, b->gray);
  auto truncated = echo::read_dicom_buffer(bytes.data(), bytes.size() / 2, {}, "half.dcm");
  if (!truncated) {
    EXPECT_NE(truncated.error().message.find("half.dcm"), std::string::npos);
  }
  auto empty = echo::read_dicom_buffer(nullptr, 0);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, echo::ErrorCode::invalid_argument);
}

// Without preamble and meta group GDCM guesses the encoding from the first element, and big endian when that
// element's group or element exceeds 0xFF; it then allocated 1.5 GB for one misread length (a fuzz finding).
// The structure check reads with GDCM's guess and refuses what GDCM would misread, before GDCM reads.
TEST(DicomReader, HeaderlessFileIsCheckedWithGdcmsGuessOfItsEncoding) {
  echo::DicomWriteOptions options;
  options.compression = echo::DicomCompression::none;
  const std::string path = (echo_test::scratch_dir() / "whole.dcm").string();
  ASSERT_TRUE(echo::write_dicom_file(make_cine(2, 32, 32, false), path, options).has_value());
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(bytes.compare(128, 4, "DICM"), 0);
  std::uint32_t meta_length = 0;  // (0002,0000) UL at 132: tag, VR, 2-byte length, then the value
  std::memcpy(&meta_length, bytes.data() + 140, 4);
  const std::string data_set = bytes.substr(144 + meta_length);
  ASSERT_EQ(data_set.compare(0, 2, std::string("\x08\x00", 2)), 0) << "the data set starts with group 0008";

  auto read = echo::read_dicom_buffer(data_set.data(), data_set.size(), {}, "headerless.dcm");
  ASSERT_TRUE(read.has_value()) << read.error().message;  // group 0008 first: little endian, as written
  EXPECT_EQ(read->frame_count(), 2);

  // (0000,6060) FL first: GDCM would read the little endian data set as big endian.
  const std::string big_guess = std::string("\x00\x00\x60\x60" "FL\x04\x00" "\x56\x13\x8e\x42", 12) + data_set;
  read = echo::read_dicom_buffer(big_guess.data(), big_guess.size(), {}, "big-guess.dcm");
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, echo::ErrorCode::malformed);
  EXPECT_NE(read.error().message.find("big-guess.dcm"), std::string::npos) << read.error().message;
  EXPECT_NE(read.error().message.find("truncated or damaged"), std::string::npos) << read.error().message;

  // A private creator (0009,0010) first: GDCM reads implicit VR, so "LO" and the length are a 4-byte length.
  const std::string implicit_guess = std::string("\x09\x00\x10\x00" "LO\x04\x00" "ACME", 12) + data_set;
  read = echo::read_dicom_buffer(implicit_guess.data(), implicit_guess.size(), {}, "implicit-guess.dcm");
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, echo::ErrorCode::malformed) << read.error().message;
}

// ---- video and still images ----

class VideoRoundTrip : public testing::TestWithParam<std::string> {};

TEST_P(VideoRoundTrip, FramesRateAndContentSurvive) {
  const echo::Cine original = make_cine(12, 96, 128, false, 40.0);  // 25 fps
  const std::string path = (echo_test::scratch_dir() / ("cine." + GetParam())).string();
  auto written = echo::write_video_file(original, path);
  ASSERT_TRUE(written.has_value()) << written.error().message;
  auto back = echo::read_file(path);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->metadata.source_kind, "video");
  EXPECT_EQ(back->frame_count(), 12);
  EXPECT_EQ(back->rows, 96);
  EXPECT_EQ(back->cols, 128);
  EXPECT_NEAR(back->fps(), 25.0, 0.01);
  EXPECT_EQ(back->metadata.timing_source, "container");
  // Lossy codecs: mean error within 6 grey levels (MJPG and mp4v at their default quality).
  EXPECT_LT(mean_abs_diff(back->gray, original.gray), 6.0);
  EXPECT_FALSE(back->calibration.known());
}

INSTANTIATE_TEST_SUITE_P(Containers, VideoRoundTrip, testing::Values("avi", "mp4"));

// The FFmpeg reader (io/ffmpeg_video.hpp) gives the frames OpenCV's VideoCapture gave before it, byte for byte:
// same conversion (BGR24 via swscale, then BGR to grey), same frame count, same rate.
TEST_P(VideoRoundTrip, FramesEqualOpenCvsReader) {
  const echo::Cine original = make_cine(9, 97, 113, false, 1000.0 / 30.0);  // odd sizes: chroma edges
  const std::string path = (echo_test::scratch_dir() / ("opencv." + GetParam())).string();
  ASSERT_TRUE(echo::write_video_file(original, path).has_value());
  auto ours = echo::read_file(path);
  ASSERT_TRUE(ours.has_value()) << ours.error().message;
  cv::VideoCapture capture(path, cv::CAP_FFMPEG);
  ASSERT_TRUE(capture.isOpened());
  EXPECT_DOUBLE_EQ(ours->fps(), capture.get(cv::CAP_PROP_FPS));
  cv::Mat bgr, gray;
  int frames = 0;
  for (; capture.read(bgr); ++frames) {
    ASSERT_LT(frames, ours->frame_count());
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
    ASSERT_EQ(gray.rows, ours->rows);
    ASSERT_EQ(gray.cols, ours->cols);
    EXPECT_EQ(std::memcmp(gray.data, ours->frame(frames), ours->frame_bytes()), 0) << "frame " << frames;
  }
  EXPECT_EQ(frames, ours->frame_count());
}

// A phone's MP4 carries its orientation as a display matrix: the frames come upright, as OpenCV's reader gave
// them (CAP_PROP_ORIENTATION_AUTO). The matrix FFmpeg writes for "rotate=90" is patched into our own MP4's tkhd.
TEST(VideoReader, DisplayMatrixTurnsTheFramesUpright) {
  const echo::Cine original = make_cine(4, 48, 80, false);
  const std::string plain = (echo_test::scratch_dir() / "upright.mp4").string();
  const std::string turned = (echo_test::scratch_dir() / "turned.mp4").string();
  ASSERT_TRUE(echo::write_video_file(original, plain).has_value());
  std::ifstream in(plain, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t tkhd = bytes.find("tkhd");
  ASSERT_NE(tkhd, std::string::npos);
  ASSERT_EQ(bytes[tkhd + 4], 0) << "version-0 tkhd expected";
  const std::int32_t rotate_90[9] = {0, -65536, 0, 65536, 0, 0, 0, 0, 0x40000000};
  for (int i = 0; i < 9; ++i) {
    const auto v = static_cast<std::uint32_t>(rotate_90[i]);
    for (int b = 0; b < 4; ++b) bytes[tkhd + 44 + 4 * i + b] = static_cast<char>(v >> (24 - 8 * b));
  }
  std::ofstream(turned, std::ios::binary) << bytes;

  auto upright = echo::read_file(plain);
  auto read = echo::read_file(turned);
  ASSERT_TRUE(upright.has_value() && read.has_value());
  ASSERT_EQ(read->rows, 80);
  ASSERT_EQ(read->cols, 48);
  ASSERT_EQ(read->frame_count(), upright->frame_count());
  cv::VideoCapture capture(turned, cv::CAP_FFMPEG);
  cv::Mat bgr, gray, clockwise;
  for (int f = 0; f < read->frame_count(); ++f) {
    const cv::Mat plain_frame(upright->rows, upright->cols, CV_8UC1, upright->frame(f));
    cv::rotate(plain_frame, clockwise, cv::ROTATE_90_CLOCKWISE);
    EXPECT_EQ(std::memcmp(clockwise.data, read->frame(f), read->frame_bytes()), 0) << "frame " << f;
    ASSERT_TRUE(capture.read(bgr));
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
    ASSERT_EQ(gray.rows, read->rows);
    EXPECT_EQ(std::memcmp(gray.data, read->frame(f), read->frame_bytes()), 0) << "frame " << f << " against OpenCV";
  }
}

// A raw elementary stream (no container) is refused before FFmpeg opens it: on such a stream FFmpeg's decoder
// failed on some frames and OpenCV copied a whole frame out of a smaller buffer (fuzz finding, heap over-read).
TEST(VideoReader, RawElementaryStreamWithoutAContainerIsRefused) {
  std::string raw("\x00\x00\x01\xb0\x01\x00\x00\x01\xb5\x09\x00\x00\x01\x00\x00\x00\x01\x20", 18);
  raw += std::string(64, '\x5a') + std::string("\x00\x00\x01\xb6\x10", 5) + std::string(64, '\x33');
  for (const char* name : {"raw.m4v", "raw.mp4", "raw.avi"}) {
    const std::string path = (echo_test::scratch_dir() / name).string();
    std::ofstream(path, std::ios::binary) << raw;
    const auto read = echo::read_file(path);
    ASSERT_FALSE(read.has_value()) << name;
    EXPECT_EQ(read.error().code, echo::ErrorCode::unsupported) << name;
    EXPECT_NE(read.error().message.find(name), std::string::npos) << read.error().message;
    EXPECT_NE(read.error().message.find("not a video container"), std::string::npos) << read.error().message;
  }
}

TEST(VideoWriter, RejectsUnknownExtension) {
  auto r = echo::write_video_file(make_cine(2, 16, 16, false), (echo_test::scratch_dir() / "x.gif").string());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, echo::ErrorCode::unsupported);
}

TEST(ImageReader, PngIsOneLosslessFrameJpegNearlySo) {
  const echo::Cine original = make_cine(1, 50, 70, true);
  const auto& rgb = original.color[0].rgb;
  cv::Mat bgr;
  cv::cvtColor(cv::Mat(rgb.height, rgb.width, CV_8UC3, const_cast<std::uint8_t*>(rgb.pixels.data())), bgr, cv::COLOR_RGB2BGR);
  const std::string png = (echo_test::scratch_dir() / "frame.png").string();
  const std::string jpg = (echo_test::scratch_dir() / "frame.jpg").string();
  ASSERT_TRUE(cv::imwrite(png, bgr));
  ASSERT_TRUE(cv::imwrite(jpg, bgr, {cv::IMWRITE_JPEG_QUALITY, 95}));
  auto image = echo::read_file(png);
  ASSERT_TRUE(image.has_value()) << image.error().message;
  EXPECT_EQ(image->metadata.source_kind, "image");
  EXPECT_EQ(image->frame_count(), 1);
  ASSERT_EQ(image->color.size(), 1u);
  EXPECT_EQ(image->color[0].rgb.pixels, rgb.pixels);
  EXPECT_LE(max_abs_diff(image->gray, original.gray), 1);  // OpenCV's and our Rec.601 rounding
  auto lossy = echo::read_file(jpg);
  ASSERT_TRUE(lossy.has_value()) << lossy.error().message;
  EXPECT_LT(mean_abs_diff(lossy->gray, original.gray), 3.0);
  echo::ReadOptions tiny;
  tiny.max_total_pixels = 50 * 70 - 1;
  auto refused = echo::read_file(png, tiny);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, echo::ErrorCode::too_large);
}

TEST(ImageReader, NotAnImageIsAnError) {
  const std::string path = (echo_test::scratch_dir() / "bad.png").string();
  std::ofstream(path) << "this is not a png";
  auto image = echo::read_file(path);
  ASSERT_FALSE(image.has_value());
  EXPECT_NE(image.error().message.find("bad.png"), std::string::npos);
}

// ---- raw buffers ----

TEST(RawFrames, AllFormatsWithRowStride) {
  const int w = 7, h = 5;
  const std::size_t stride_pad = 5;
  std::vector<std::uint8_t> expected(static_cast<std::size_t>(w * h));
  for (int i = 0; i < w * h; ++i) expected[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i * 7);

  struct Case {
    echo::PixelFormat format;
    int bpp;
  };
  for (const Case c : {Case{echo::PixelFormat::gray8, 1}, Case{echo::PixelFormat::gray16, 2}, Case{echo::PixelFormat::rgb8, 3},
                       Case{echo::PixelFormat::bgr8, 3}, Case{echo::PixelFormat::rgba8, 4}}) {
    const std::size_t stride = static_cast<std::size_t>(w * c.bpp) + stride_pad;
    std::vector<std::uint8_t> buffer(stride * h, 0xEE);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const std::uint8_t v = expected[static_cast<std::size_t>(y * w + x)];
        std::uint8_t* p = buffer.data() + stride * y + static_cast<std::size_t>(x * c.bpp);
        if (c.format == echo::PixelFormat::gray16) {
          const std::uint16_t v16 = static_cast<std::uint16_t>(v << 4 | 0x5);  // 12 bits stored
          std::memcpy(p, &v16, 2);
        } else {
          for (int k = 0; k < std::min(c.bpp, 3); ++k) p[k] = v;  // grey in colour: luma == v
          if (c.bpp == 4) p[3] = 255;
        }
      }
    }
    echo::FrameView view{buffer.data(), w, h, c.format, stride};
    auto gray = echo::frame_to_gray8(view, 12);
    ASSERT_TRUE(gray.has_value()) << gray.error().message;
    EXPECT_EQ(gray->pixels, expected) << static_cast<int>(c.format);
  }
}

TEST(RawFrames, ColourOrderIsRespected) {
  const std::uint8_t rgb[3] = {255, 0, 0}, bgr[3] = {0, 0, 255}, rgba[4] = {255, 0, 0, 9};
  const auto luma = [](const void* data, echo::PixelFormat f) {
    return echo::frame_to_gray8(echo::FrameView{data, 1, 1, f, 0})->pixels[0];
  };
  EXPECT_EQ(luma(rgb, echo::PixelFormat::rgb8), 76);  // 0.299 * 255
  EXPECT_EQ(luma(bgr, echo::PixelFormat::bgr8), 76);
  EXPECT_EQ(luma(rgba, echo::PixelFormat::rgba8), 76);
}

TEST(RawFrames, InvalidViewsAreRejected) {
  std::uint8_t pixels[16] = {};
  const auto code = [](const echo::FrameView& v) { return echo::frame_to_gray8(v).error().code; };
  EXPECT_EQ(code({nullptr, 4, 4, echo::PixelFormat::gray8, 0}), echo::ErrorCode::invalid_argument);
  EXPECT_EQ(code({pixels, 0, 4, echo::PixelFormat::gray8, 0}), echo::ErrorCode::invalid_argument);
  EXPECT_EQ(code({pixels, 4, -1, echo::PixelFormat::gray8, 0}), echo::ErrorCode::invalid_argument);
  EXPECT_EQ(code({pixels, 4, 4, echo::PixelFormat::rgb8, 5}), echo::ErrorCode::invalid_argument);  // stride < row
  EXPECT_EQ(code({pixels, 4, 4, static_cast<echo::PixelFormat>(42), 0}), echo::ErrorCode::invalid_argument);
}

TEST(RawFrames, CineFromFramesKeepsTimesCalibrationAndColour) {
  const int w = 16, h = 8, n = 4;
  std::vector<std::vector<std::uint8_t>> buffers(n, std::vector<std::uint8_t>(w * h * 3));
  std::vector<echo::FrameView> views;
  for (int f = 0; f < n; ++f) {
    for (int i = 0; i < w * h * 3; ++i) buffers[f][static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(f * 40 + i % 3 * 10);
    views.push_back({buffers[f].data(), w, h, echo::PixelFormat::rgb8, 0});
  }
  echo::Calibration cal;
  cal.mm_per_px_x = cal.mm_per_px_y = 0.2;
  cal.source = echo::CalibrationSource::caller;
  cal.trusted = true;
  const double times[n] = {100.0, 120.0, 145.0, 160.0};
  echo::ReadOptions options;
  options.max_color_frames = 2;
  auto cine = echo::cine_from_frames(views.data(), n, times, 0.0, cal, options);
  ASSERT_TRUE(cine.has_value()) << cine.error().message;
  EXPECT_EQ(cine->frame_count(), n);
  EXPECT_EQ(cine->frame_times_ms, (std::vector<double>{0.0, 20.0, 45.0, 60.0}));
  EXPECT_EQ(cine->calibration.source, echo::CalibrationSource::caller);
  EXPECT_DOUBLE_EQ(cine->calibration.mm_per_px_x, 0.2);
  ASSERT_EQ(cine->color.size(), 2u);
  EXPECT_EQ(cine->color[0].frame_index, 1);
  EXPECT_EQ(cine->color[0].rgb.pixels[1], 50);
  EXPECT_EQ(cine->frame(3)[0], echo::io_detail::luma_from_rgb(120, 130, 140));

  auto by_rate = echo::cine_from_frames(views.data(), n, nullptr, 50.0, cal);
  ASSERT_TRUE(by_rate.has_value());
  EXPECT_DOUBLE_EQ(by_rate->fps(), 50.0);
  EXPECT_FALSE(echo::cine_from_frames(views.data(), n, nullptr, 0.0, cal).has_value());
  const double backwards[n] = {0.0, 20.0, 10.0, 30.0};
  EXPECT_FALSE(echo::cine_from_frames(views.data(), n, backwards, 0.0, cal).has_value());
  options.max_total_pixels = static_cast<std::uint64_t>(w * h * n - 1);
  auto too_large = echo::cine_from_frames(views.data(), n, times, 0.0, cal, options);
  ASSERT_FALSE(too_large.has_value());
  EXPECT_EQ(too_large.error().code, echo::ErrorCode::too_large);
  echo::Calibration trusted_without_size;
  trusted_without_size.trusted = true;  // found by the frames fuzzer: a trusted calibration of 0 mm per pixel
  auto contradiction = echo::cine_from_frames(views.data(), n, times, 0.0, trusted_without_size);
  ASSERT_FALSE(contradiction.has_value());
  EXPECT_EQ(contradiction.error().code, echo::ErrorCode::invalid_argument);
  EXPECT_NE(contradiction.error().message.find("trusted"), std::string::npos) << contradiction.error().message;
  views[2].width = 15;
  EXPECT_EQ(echo::cine_from_frames(views.data(), n, times, 0.0, cal).error().code, echo::ErrorCode::invalid_argument);
}

// ---- calibration and timing rules ----

echo::UltrasoundRegion region(int x0, int y0, int x1, int y1, double delta_cm, int spatial = 1, int units = 3) {
  return echo::UltrasoundRegion{x0, y0, x1, y1, spatial, 1, units, units, delta_cm, delta_cm};
}

TEST(CalibrationRules, TissueRegionInCmGivesMm) {
  const auto cal = echo::io_detail::calibration_from_regions({region(10, 10, 300, 200, 0.03)}, 240, 320);
  EXPECT_TRUE(cal.trusted);
  EXPECT_DOUBLE_EQ(cal.mm_per_px_x, 0.3);
  EXPECT_EQ(cal.source, echo::CalibrationSource::ultrasound_region);
}

TEST(CalibrationRules, NonPhysicalScalesAreUnknown) {
  using echo::io_detail::calibration_from_regions;
  for (const auto& r : {region(0, 0, 100, 100, -0.02), region(0, 0, 100, 100, 0.0), region(0, 0, 100, 100, 0.02, 1, 4),
                        region(0, 0, 100, 100, 0.3) /* 3 mm/px: 96 cm across 320 px */}) {
    const auto cal = calibration_from_regions({r}, 240, 320);
    EXPECT_FALSE(cal.known()) << cal.note;
    EXPECT_FALSE(cal.trusted);
    EXPECT_EQ(cal.note.rfind("not trustworthy", 0), 0u) << cal.note;
  }
  const auto no_2d = calibration_from_regions({region(0, 0, 100, 100, 0.02, 3)}, 240, 320);
  EXPECT_FALSE(no_2d.known());
  EXPECT_NE(no_2d.note.find("none is 2D"), std::string::npos);
}

TEST(CalibrationRules, BoxBeyondTheImageInBothDirectionsIsUntrusted) {
  const auto cal = echo::io_detail::calibration_from_regions({region(84, 31, 595, 414, 0.05)}, 240, 320);
  EXPECT_TRUE(cal.known());
  EXPECT_FALSE(cal.trusted);
  EXPECT_NE(cal.note.find("exceeds"), std::string::npos) << cal.note;
  const auto cropped = echo::io_detail::calibration_from_regions({region(84, 31, 300, 414, 0.05)}, 240, 320);
  EXPECT_TRUE(cropped.trusted) << cropped.note;
  EXPECT_NE(cropped.note.find("clipped"), std::string::npos) << cropped.note;
}

TEST(CalibrationRules, DualViewSameScaleTrustedDifferentScaleNot) {
  using echo::io_detail::calibration_from_regions;
  const auto same = calibration_from_regions({region(0, 0, 150, 200, 0.04), region(160, 0, 310, 200, 0.04)}, 240, 320);
  EXPECT_TRUE(same.trusted);
  EXPECT_NE(same.note.find("dual view"), std::string::npos);
  const auto different = calibration_from_regions({region(0, 0, 150, 200, 0.04), region(160, 0, 310, 200, 0.05)}, 240, 320);
  EXPECT_FALSE(different.trusted);
  EXPECT_DOUBLE_EQ(different.mm_per_px_x, 0.4);
  // A colour-flow box inside the tissue region is the same view, not a dual view.
  auto flow = region(50, 50, 100, 100, 0.04);
  flow.data_type = 2;
  const auto overlay = calibration_from_regions({region(0, 0, 300, 200, 0.04), flow}, 240, 320);
  EXPECT_TRUE(overlay.trusted);
  EXPECT_EQ(overlay.note.find("dual view"), std::string::npos);
}

TEST(TimingRules, SourcesInOrderOfPrecedence) {
  using echo::io_detail::timing_from_attributes;
  echo::io_detail::TimingAttributes a;
  a.cine_rate_fps = 50;
  a.recommended_display_fps = 10;
  auto t = timing_from_attributes(a, 3);
  EXPECT_EQ(t.source, "CineRate");
  EXPECT_EQ(t.frame_times_ms, (std::vector<double>{0, 20, 40}));
  a.frame_time_ms = 25;
  EXPECT_EQ(timing_from_attributes(a, 3).source, "FrameTime");
  a.frame_time_vector_ms = {0, 30, 40};
  t = timing_from_attributes(a, 3);
  EXPECT_EQ(t.source, "FrameTimeVector");
  EXPECT_EQ(t.frame_times_ms, (std::vector<double>{0, 30, 70}));
  a.frame_time_vector_ms = {0, -30, 40};  // invalid: next source
  EXPECT_EQ(timing_from_attributes(a, 3).source, "FrameTime");
  echo::io_detail::TimingAttributes only_display;
  only_display.recommended_display_fps = 10;
  EXPECT_EQ(timing_from_attributes(only_display, 2).source, "RecommendedDisplayFrameRate");
  const auto none = timing_from_attributes({}, 4);
  EXPECT_EQ(none.source, "none");
  EXPECT_EQ(none.frame_times_ms, (std::vector<double>(4, 0.0)));
}

// ---- writers on a failing disk (docs/reliability.md) ----

// Writes `path` once freely, then again under a file-size limit of half its size (RLIMIT_FSIZE, as `ulimit
// -f`): the second write must fail naming the file, and leave nothing in the folder: no partial file and no
// temporary. Returns the error message.
std::string write_cut_in_half(const std::string& name, const std::function<echo::Expected<void>(const std::string&)>& write) {
  const std::filesystem::path dir = echo_test::scratch_dir() / ("half_disk_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  const auto whole = write(path);
  EXPECT_TRUE(whole.has_value()) << whole.error().message;
  const auto size = std::filesystem::file_size(path);
  std::filesystem::remove(path);
  rlimit previous{};
  getrlimit(RLIMIT_FSIZE, &previous);
  rlimit half = previous;
  half.rlim_cur = size / 2;
  setrlimit(RLIMIT_FSIZE, &half);
  const auto cut = write(path);
  setrlimit(RLIMIT_FSIZE, &previous);
  EXPECT_FALSE(cut.has_value()) << name << ": a file cut in half was reported as written";
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << name << ": a partial or temporary file was left";
  if (cut.has_value()) return "";
  EXPECT_EQ(cut.error().code, echo::ErrorCode::io_failed);
  EXPECT_NE(cut.error().message.find(path), std::string::npos) << cut.error().message;
  return cut.error().message;
}

TEST_P(VideoRoundTrip, FileSizeLimitLeavesNoPartialVideo) {
  const echo::Cine cine = make_cine(12, 96, 128, false, 40.0);
  const std::string message =
      write_cut_in_half("cine." + GetParam(), [&](const std::string& path) { return echo::write_video_file(cine, path); });
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;  // the reason, asked of the system
}

TEST(DicomWriter, FileSizeLimitLeavesNoPartialFile) {
  const echo::Cine cine = make_cine(5, 96, 128, false);
  const std::string message = write_cut_in_half("cine.dcm", [&](const std::string& path) { return echo::write_dicom_file(cine, path); });
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
}

// Readers are given paths; one naming a FIFO (which blocks open() until a writer comes), a device (which can be
// read forever) or a folder is refused at once with the reason. Without the check this test hangs until ctest's
// timeout.
TEST(Readers, AFifoADeviceOrAFolderIsRefusedNotWaitedOn) {
  const std::string fifo = (echo_test::scratch_dir() / "loop.dcm").string();
  std::remove(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {fifo, std::string("/dev/zero"), echo_test::scratch_dir().string()}) {
    const auto by_content = echo::read_file(path);
    ASSERT_FALSE(by_content.has_value()) << path;
    EXPECT_EQ(by_content.error().code, echo::ErrorCode::invalid_argument) << by_content.error().message;
    EXPECT_NE(by_content.error().message.find(path), std::string::npos) << by_content.error().message;
    EXPECT_EQ(echo::read_dicom_file(path).error().code, echo::ErrorCode::invalid_argument) << path;
    EXPECT_EQ(echo::read_video_file(path).error().code, echo::ErrorCode::invalid_argument) << path;
    EXPECT_EQ(echo::open_frame_source(path).error().code, echo::ErrorCode::invalid_argument) << path;
  }
  EXPECT_NE(echo::read_file(fifo).error().message.find("not a regular file"), std::string::npos);
  std::remove(fifo.c_str());
}

}  // namespace
