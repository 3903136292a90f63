// The real DICOM files of ../shared/data/dicom, checked against EXPECTED.tsv row by row.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "echo/io.hpp"
#include "test_support.hpp"

namespace {

struct ExpectedRow {
  std::string file, klass, frames, rows, cols, photometric, transfer_syntax, calibration, timing, note;
  bool malformed() const { return klass == "malformed"; }
};

std::vector<ExpectedRow> load_expected() {
  std::vector<ExpectedRow> rows;
  std::ifstream in(echo_test::shared_data_dir() / "EXPECTED.tsv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream s(line);
    std::string field;
    while (std::getline(s, field, '\t')) f.push_back(field);
    f.resize(10);
    rows.push_back({f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]});
  }
  return rows;
}

std::vector<std::string> file_names(bool malformed) {
  std::vector<std::string> names;
  if (!echo_test::shared_data_available()) return {"(shared data absent)"};
  for (const auto& r : load_expected()) {
    if (r.malformed() == malformed) names.push_back(r.file);
  }
  return names;
}

ExpectedRow row_for(const std::string& file) {
  for (const auto& r : load_expected()) {
    if (r.file == file) return r;
  }
  return {};
}

std::string path_of(const std::string& file) { return (echo_test::shared_data_dir() / file).string(); }

std::string test_name(const testing::TestParamInfo<std::string>& info) {
  std::string name;
  for (char c : info.param) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

// A value "0.026229 cm/px" at the start of the calibration column, in mm/px; 0 when the column has none.
double expected_mm_per_px(const std::string& calibration) {
  char* end = nullptr;
  const double cm = std::strtod(calibration.c_str(), &end);
  if (end == calibration.c_str() || std::string(end).rfind(" cm/px", 0) != 0) return 0.0;
  return cm * 10.0;
}

// "FrameTime=33.333; HeartRate=0" -> value of key, NaN when absent.
double timing_value(const std::string& timing, const std::string& key) {
  const auto at = timing.find(key + "=");
  if (at == std::string::npos) return std::nan("");
  return std::strtod(timing.c_str() + at + key.size() + 1, nullptr);
}

class RealFile : public testing::TestWithParam<std::string> {};

TEST_P(RealFile, MatchesExpectedTable) {
  ECHO_REQUIRE_SHARED_DATA();
  const ExpectedRow row = row_for(GetParam());
  ASSERT_FALSE(row.file.empty());
  auto cine = echo::read_file(path_of(row.file));
  ASSERT_TRUE(cine.has_value()) << cine.error().message;
  EXPECT_EQ(cine->frame_count(), std::stoi(row.frames));
  EXPECT_EQ(cine->rows, std::stoi(row.rows));
  EXPECT_EQ(cine->cols, std::stoi(row.cols));
  EXPECT_EQ(cine->metadata.photometric, row.photometric);
  EXPECT_EQ(cine->metadata.transfer_syntax.rfind(row.transfer_syntax, 0), 0u)
      << cine->metadata.transfer_syntax << " vs " << row.transfer_syntax;
  EXPECT_EQ(cine->frame_times_ms.size(), static_cast<std::size_t>(cine->frame_count()));
  EXPECT_EQ(cine->gray.size(), cine->frame_bytes() * static_cast<std::size_t>(cine->frame_count()));

  const echo::Calibration& cal = cine->calibration;
  const double mm = expected_mm_per_px(row.calibration);
  const bool untrusted = row.calibration.find("not trustworthy") != std::string::npos ||
                         row.calibration.rfind("inconsistent", 0) == 0;
  if (row.calibration.rfind("none", 0) == 0) {
    EXPECT_FALSE(cal.known()) << cal.note;
    EXPECT_FALSE(cal.trusted);
    EXPECT_EQ(cal.source, echo::CalibrationSource::none);
  } else if (untrusted) {
    EXPECT_FALSE(cal.trusted) << cal.note;
    EXPECT_NE(cal.note.find("not trustworthy"), std::string::npos) << cal.note;
    EXPECT_EQ(cal.source, echo::CalibrationSource::ultrasound_region);
  } else {
    ASSERT_GT(mm, 0.0) << "table row without a scale: " << row.calibration;
    EXPECT_TRUE(cal.trusted) << cal.note;
    EXPECT_EQ(cal.source, echo::CalibrationSource::ultrasound_region);
    EXPECT_NEAR(cal.mm_per_px_x, mm, 5e-6) << cal.note;
    EXPECT_NEAR(cal.mm_per_px_y, mm, 5e-6) << cal.note;
  }
  if (row.calibration.find("dual view") != std::string::npos) {
    EXPECT_NE(cal.note.find("dual view"), std::string::npos) << cal.note;
  }
  if (row.calibration.find("clip and warn") != std::string::npos) {
    EXPECT_NE(cal.note.find("clipped"), std::string::npos) << cal.note;
  }

  const double frame_time = timing_value(row.timing, "FrameTime");
  if (!std::isnan(frame_time)) {
    EXPECT_EQ(cine->metadata.timing_source, "FrameTime");
    EXPECT_NEAR(cine->mean_frame_interval_ms(), frame_time, 1e-9);
  }
  if (row.timing.find("FrameTimeVector") != std::string::npos) {
    EXPECT_EQ(cine->metadata.timing_source, "FrameTimeVector");
    EXPECT_GT(cine->fps(), 0.0);
  }
  const double heart_rate = timing_value(row.timing, "HeartRate");
  if (!std::isnan(heart_rate)) {
    EXPECT_DOUBLE_EQ(cine->metadata.heart_rate_bpm, heart_rate);
  }
  // Identifiers are not copied unless asked for.
  EXPECT_FALSE(cine->identifiers.has_value());
  // Colour sources keep the colour of some frames; grey sources none.
  const bool colour_source = row.photometric != "MONOCHROME1" && row.photometric != "MONOCHROME2";
  EXPECT_EQ(cine->color.empty(), !colour_source);
}

INSTANTIATE_TEST_SUITE_P(Expected, RealFile, testing::ValuesIn(file_names(false)), test_name);

class MalformedFile : public testing::TestWithParam<std::string> {};

// A clear error (code + message naming the file) or a consistent read; never a crash or hang.
TEST_P(MalformedFile, ErrorOrConsistentRead) {
  ECHO_REQUIRE_SHARED_DATA();
  const std::string path = path_of(GetParam());
  auto cine = echo::read_file(path);
  if (!cine) {
    EXPECT_NE(cine.error().code, echo::ErrorCode::internal);
    EXPECT_NE(cine.error().message.find(GetParam()), std::string::npos) << cine.error().message;
    EXPECT_LT(cine.error().message.size(), 400u) << "a reason, not a library dump";
    return;
  }
  EXPECT_GT(cine->frame_count(), 0);
  EXPECT_EQ(cine->gray.size(), cine->frame_bytes() * static_cast<std::size_t>(cine->frame_count()));
  EXPECT_EQ(cine->frame_times_ms.size(), static_cast<std::size_t>(cine->frame_count()));
}

// The same bytes from memory give the same answer as from the file.
TEST_P(MalformedFile, MemoryBufferAgreesWithFile) {
  ECHO_REQUIRE_SHARED_DATA();
  const std::string path = path_of(GetParam());
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto from_file = echo::read_dicom_file(path);
  auto from_memory = echo::read_dicom_buffer(bytes.data(), bytes.size(), {}, GetParam());
  ASSERT_EQ(from_file.has_value(), from_memory.has_value());
  if (from_file) {
    EXPECT_EQ(from_file->gray, from_memory->gray);
  } else {
    EXPECT_EQ(from_file.error().code, from_memory.error().code);
  }
}

INSTANTIATE_TEST_SUITE_P(Expected, MalformedFile, testing::ValuesIn(file_names(true)), test_name);

echo::Cine must_read(const std::string& file, const echo::ReadOptions& options = {}) {
  auto cine = echo::read_file(path_of(file), options);
  EXPECT_TRUE(cine.has_value()) << (cine ? "" : cine.error().message);
  return cine ? *cine : echo::Cine{};
}

TEST(RealFileDetails, PlanarAndInterleavedRgbGiveTheSamePixels) {
  ECHO_REQUIRE_SHARED_DATA();
  const auto planar = must_read("color-pl.dcm"), interleaved = must_read("color-px.dcm");
  ASSERT_FALSE(planar.gray.empty());
  EXPECT_EQ(planar.gray, interleaved.gray);
  ASSERT_EQ(planar.color.size(), 1u);
  ASSERT_EQ(interleaved.color.size(), 1u);
  EXPECT_EQ(planar.color[0].rgb.pixels, interleaved.color[0].rgb.pixels);
  // Not a flat image: the comparison means something.
  const auto [lo, hi] = std::minmax_element(planar.gray.begin(), planar.gray.end());
  EXPECT_GT(*hi - *lo, 100);
}

TEST(RealFileDetails, LosslessSyntaxesOfUs1AreIdentical) {
  ECHO_REQUIRE_SHARED_DATA();
  const auto raw = must_read("US1_UNCR.dcm"), rle = must_read("US1_RLE.dcm"), j2k = must_read("US1_J2KR.dcm");
  EXPECT_EQ(raw.gray, rle.gray);
  EXPECT_EQ(raw.gray, j2k.gray);
  ASSERT_FALSE(raw.color.empty());
  ASSERT_FALSE(j2k.color.empty());
  EXPECT_EQ(raw.color[0].rgb.pixels, j2k.color[0].rgb.pixels);
  EXPECT_EQ(raw.color[0].rgb.pixels, rle.color[0].rgb.pixels);
}

TEST(RealFileDetails, PaletteNativeAndRleAreIdenticalAndColoured) {
  ECHO_REQUIRE_SHARED_DATA();
  const auto native = must_read("OBXXXX1A.dcm"), rle = must_read("OBXXXX1A_rle.dcm");
  EXPECT_EQ(native.gray, rle.gray);
  const auto two = must_read("OBXXXX1A_2frame.dcm");
  ASSERT_EQ(two.frame_count(), 2);
  EXPECT_TRUE(std::equal(native.gray.begin(), native.gray.end(), two.gray.begin()));
}

TEST(RealFileDetails, Segmented16BitPaletteDecodesToAnImage) {
  ECHO_REQUIRE_SHARED_DATA();
  const auto aloka = must_read("gdcm-US-ALOKA-16.dcm");
  ASSERT_EQ(aloka.color.size(), 1u);
  const auto [lo, hi] = std::minmax_element(aloka.gray.begin(), aloka.gray.end());
  EXPECT_GT(*hi - *lo, 100) << "a flat image means the lookup table was not applied";
  EXPECT_EQ(aloka.metadata.regions.size(), 3u);
}

TEST(RealFileDetails, JpegFastPathMatchesGdcmWithinOneLevel) {
  ECHO_REQUIRE_SHARED_DATA();
  echo::ReadOptions fast, gdcm_path;
  gdcm_path.fast_jpeg = false;
  const auto a = must_read("examples_ybr_color.dcm", fast), b = must_read("examples_ybr_color.dcm", gdcm_path);
  ASSERT_EQ(a.gray.size(), b.gray.size());
  int max_diff = 0;
  for (std::size_t i = 0; i < a.gray.size(); ++i) max_diff = std::max(max_diff, std::abs(a.gray[i] - b.gray[i]));
  EXPECT_LE(max_diff, 1);
  ASSERT_EQ(a.color.size(), 8u);
  ASSERT_EQ(b.color.size(), 8u);
  int max_rgb_diff = 0;
  for (std::size_t k = 0; k < a.color.size(); ++k) {
    EXPECT_EQ(a.color[k].frame_index, b.color[k].frame_index);
    for (std::size_t i = 0; i < a.color[k].rgb.pixels.size(); ++i) {
      max_rgb_diff = std::max(max_rgb_diff, std::abs(a.color[k].rgb.pixels[i] - b.color[k].rgb.pixels[i]));
    }
  }
  EXPECT_LE(max_rgb_diff, 3);  // libjpeg's fancy upsampling vs GDCM's: chroma may differ by a few levels
}

TEST(RealFileDetails, FrameTimeVectorGivesIrregularStamps) {
  ECHO_REQUIRE_SHARED_DATA();
  const auto cine = must_read("IM00001.implicit_little_endian.dcm");
  ASSERT_EQ(cine.frame_times_ms.size(), 8u);
  EXPECT_DOUBLE_EQ(cine.frame_times_ms[0], 0.0);
  EXPECT_NEAR(cine.frame_times_ms[1], 50.0, 1e-9);
  EXPECT_NEAR(cine.frame_times_ms[2], 83.333, 1e-9);
  EXPECT_NEAR(cine.frame_times_ms[7], 50 + 33.333 + 50 + 50 + 50 + 33.333 + 43.333, 1e-9);
  EXPECT_FALSE(cine.calibration.known()) << "a negative delta must not become a scale";
  EXPECT_NE(cine.calibration.note.find("PhysicalDelta"), std::string::npos) << cine.calibration.note;
}

TEST(RealFileDetails, IdentifiersOnlyWhenAsked) {
  ECHO_REQUIRE_SHARED_DATA();
  echo::ReadOptions options;
  options.keep_identifiers = true;
  const auto cine = must_read("US-MONO2-8-8x-execho.dcm", options);
  ASSERT_TRUE(cine.identifiers.has_value());
  EXPECT_FALSE(cine.identifiers->study_instance_uid.empty());
}

TEST(RealFileDetails, ColourFramesSpreadOverTheCine) {
  ECHO_REQUIRE_SHARED_DATA();
  echo::ReadOptions options;
  options.max_color_frames = 3;
  const auto cine = must_read("examples_ybr_color.dcm", options);
  ASSERT_EQ(cine.color.size(), 3u);
  EXPECT_EQ(cine.color[0].frame_index, 5);
  EXPECT_EQ(cine.color[1].frame_index, 15);
  EXPECT_EQ(cine.color[2].frame_index, 25);
  options.max_color_frames = 0;
  EXPECT_TRUE(must_read("examples_ybr_color.dcm", options).color.empty());
  options.max_color_frames = -1;
  EXPECT_EQ(must_read("examples_ybr_color.dcm", options).color.size(), 30u);
}

TEST(RealFileDetails, MonochromeLumaIsThePixelValue) {
  ECHO_REQUIRE_SHARED_DATA();
  const auto cine = must_read("US-MONO2-8-8x-execho.dcm");
  const auto [lo, hi] = std::minmax_element(cine.gray.begin(), cine.gray.end());
  EXPECT_GT(*hi - *lo, 100);
  EXPECT_DOUBLE_EQ(cine.mean_frame_interval_ms(), 100.0);
}

TEST(RealFileDetails, TooLargeDeclaredSizeIsRefused) {
  ECHO_REQUIRE_SHARED_DATA();
  echo::ReadOptions options;
  options.max_total_pixels = 30 * 240 * 320 - 1;
  auto cine = echo::read_file(path_of("examples_ybr_color.dcm"), options);
  ASSERT_FALSE(cine.has_value());
  EXPECT_EQ(cine.error().code, echo::ErrorCode::too_large);
  EXPECT_NE(cine.error().message.find("examples_ybr_color.dcm"), std::string::npos);
}

TEST(RealFileDetails, MissingFileIsNotFound) {
  auto cine = echo::read_file("/nonexistent/file.dcm");
  ASSERT_FALSE(cine.has_value());
  EXPECT_EQ(cine.error().code, echo::ErrorCode::not_found);
  EXPECT_NE(cine.error().message.find("/nonexistent/file.dcm"), std::string::npos);
}

}  // namespace
