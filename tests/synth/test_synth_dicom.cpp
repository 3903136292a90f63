// Phantom cases written as DICOM read back with the exact calibration and timing, and the same seed
// gives the same file bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>

#include "echo/io.hpp"
#include "echo/synth.hpp"
#include "test_support.hpp"

namespace {

echo::SynthParams params(std::uint64_t seed) {
  echo::SynthParams p;
  p.seed = seed;
  p.width = 320;
  p.height = 240;
  p.fps = 40;
  p.heart_rate_bpm = 84;
  p.beats = 1;
  return p;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void expect_same_timing_and_scale(const echo::SynthCase& c, const echo::Cine& back) {
  ASSERT_EQ(back.frame_count(), c.cine.frame_count());
  EXPECT_EQ(back.rows, c.cine.rows);
  EXPECT_EQ(back.cols, c.cine.cols);
  EXPECT_TRUE(back.calibration.trusted) << back.calibration.note;
  EXPECT_NEAR(back.calibration.mm_per_px_x, c.truth.mm_per_px, 1e-9 * c.truth.mm_per_px);
  EXPECT_NEAR(back.calibration.mm_per_px_y, c.truth.mm_per_px, 1e-9 * c.truth.mm_per_px);
  EXPECT_NEAR(back.mean_frame_interval_ms(), 25.0, 1e-9);
  ASSERT_EQ(back.frame_times_ms.size(), c.cine.frame_times_ms.size());
  for (std::size_t i = 0; i < back.frame_times_ms.size(); ++i) EXPECT_NEAR(back.frame_times_ms[i], c.cine.frame_times_ms[i], 1e-6);
  EXPECT_NEAR(back.metadata.heart_rate_bpm, c.truth.heart_rate_bpm, 0.5);  // Heart Rate is an integer string
  ASSERT_EQ(back.metadata.r_wave_times_ms.size(), c.truth.r_wave_times_ms.size());
  for (std::size_t i = 0; i < c.truth.r_wave_times_ms.size(); ++i) {
    EXPECT_NEAR(back.metadata.r_wave_times_ms[i], c.truth.r_wave_times_ms[i], 1e-3);  // FL: float precision
  }
}

TEST(SynthDicom, JpegBaselineReadsBackWithExactCalibrationAndTiming) {
  auto c = echo::generate_phantom(params(3));
  ASSERT_TRUE(c.has_value());
  const std::string path = (echo_test::scratch_dir() / "case.dcm").string();
  echo::DicomWriteOptions w;
  w.compression = echo::DicomCompression::jpeg_baseline;
  w.write_color = true;
  auto written = echo::write_dicom_file(c->cine, path, w);
  ASSERT_TRUE(written.has_value()) << written.error().message;
  auto back = echo::read_dicom_file(path);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  expect_same_timing_and_scale(*c, *back);
  // Lossy, but close: the mean absolute luma error stays small.
  double err = 0;
  for (std::size_t i = 0; i < c->cine.gray.size(); ++i) err += std::abs(int(c->cine.gray[i]) - int(back->gray[i]));
  EXPECT_LT(err / c->cine.gray.size(), 4.0);
}

TEST(SynthDicom, UncompressedKeepsEveryPixel) {
  echo::SynthParams p = params(4);
  p.overlays = false;  // grey only
  auto c = echo::generate_phantom(p);
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(c->cine.color.empty());
  const std::string path = (echo_test::scratch_dir() / "raw.dcm").string();
  echo::DicomWriteOptions w;
  w.compression = echo::DicomCompression::none;
  ASSERT_TRUE(echo::write_dicom_file(c->cine, path, w).has_value());
  auto back = echo::read_dicom_file(path);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  expect_same_timing_and_scale(*c, *back);
  EXPECT_EQ(back->gray, c->cine.gray);
}

TEST(SynthDicom, SameSeedGivesTheSameFileBytes) {
  const std::string dir = echo_test::scratch_dir().string();
  for (int k = 0; k < 2; ++k) {
    auto c = echo::generate_phantom(params(5));
    ASSERT_TRUE(c.has_value());
    echo::DicomWriteOptions w;
    w.write_color = true;
    ASSERT_TRUE(echo::write_dicom_file(c->cine, dir + "/run" + std::to_string(k) + ".dcm", w).has_value());
  }
  const std::string a = read_bytes(dir + "/run0.dcm"), b = read_bytes(dir + "/run1.dcm");
  ASSERT_GT(a.size(), 1000u);
  EXPECT_EQ(a, b);
  auto other = echo::generate_phantom(params(6));
  ASSERT_TRUE(other.has_value());
  ASSERT_TRUE(echo::write_dicom_file(other->cine, dir + "/other.dcm").has_value());
  EXPECT_NE(read_bytes(dir + "/other.dcm"), a);
}

}  // namespace
