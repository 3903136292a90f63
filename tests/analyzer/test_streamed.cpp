// Issue 14: frames streamed from the file (FrameSource) give exactly what the whole-cine reader and the
// whole-cine analysis give: the same pixels, the same result (timings aside), the same errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "analyzer_fixture.hpp"
#include "echo/io.hpp"
#include "echo/report.hpp"
#include "test_support.hpp"

namespace {

// A colour JPEG Baseline phantom file (YBR_FULL_422 keeps colour frames to stream).
std::string write_phantom(const std::string& name, bool color, int frames) {
  echo::SynthParams params;
  params.ef_percent = 45;
  params.heart_rate_bpm = 80;
  params.seed = 93417;
  params.width = 320;
  params.height = 240;
  params.fps = 40;
  params.frame_count = frames;
  auto made = echo::generate_phantom(params);
  EXPECT_TRUE(made) << made.error().message;
  echo::DicomWriteOptions options;
  options.write_color = color;
  const auto path = (echo_test::scratch_dir() / name).string();
  auto written = echo::write_dicom_file(made->cine, path, options);
  EXPECT_TRUE(written) << written.error().message;
  return path;
}

std::vector<char> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The result as JSON without its timings (the only fields allowed to differ).
std::string without_timings(echo::AnalysisResult result) {
  result.timings = {};
  return echo::report_json(result);
}

// analyze_file (streamed from the file) against read_file + analyze (the whole cine): both fail with the
// same error, or both give the same JSON.
void expect_same_analysis(const std::string& path) {
  const echo::EchoAnalyzer& analyzer = echo_test::shared_analyzer();
  auto streamed = analyzer.analyze_file(path);
  auto cine = echo::read_file(path);
  if (!cine) {
    ASSERT_FALSE(streamed) << path << ": the whole reader refused it (" << cine.error().message << ")";
    EXPECT_EQ(streamed.error().code, cine.error().code) << path;
    EXPECT_EQ(streamed.error().message, cine.error().message) << path;
    return;
  }
  auto whole = analyzer.analyze(*cine);
  ASSERT_EQ(static_cast<bool>(streamed), static_cast<bool>(whole)) << path;
  if (!whole) {
    EXPECT_EQ(streamed.error().message, whole.error().message) << path;
    return;
  }
  EXPECT_EQ(without_timings(*streamed), without_timings(*whole)) << path;
}

}  // namespace

TEST(Streamed, FramesOfTheFileEqualTheWholeReader) {
  const std::string path = write_phantom("streamed_frames.dcm", true, 37);
  auto cine = echo::read_file(path);
  ASSERT_TRUE(cine) << cine.error().message;
  auto source = echo::open_frame_source(path);
  ASSERT_TRUE(source) << source.error().message;
  const echo::FrameSource& frames = **source;
  ASSERT_EQ(frames.frame_count(), cine->frame_count());
  EXPECT_TRUE(frames.header().gray.empty()) << "a streamed source holds no frames";
  EXPECT_EQ(frames.header().frame_times_ms, cine->frame_times_ms);
  EXPECT_EQ(frames.header().calibration.mm_per_px_x, cine->calibration.mm_per_px_x);
  std::vector<std::uint8_t> luma(cine->frame_bytes());
  for (int i = 0; i < frames.frame_count(); ++i) {
    ASSERT_TRUE(frames.read_luma(i, luma.data()));
    ASSERT_TRUE(std::equal(luma.begin(), luma.end(), cine->frame(i))) << "frame " << i;
  }
  ASSERT_EQ(frames.color_frames().size(), cine->color.size());
  ASSERT_FALSE(cine->color.empty()) << "the phantom was written in colour";
  std::vector<std::uint8_t> rgb(cine->frame_bytes() * 3);
  for (const echo::ColorFrame& colour : cine->color) {
    ASSERT_TRUE(frames.read_rgb(colour.frame_index, rgb.data()));
    EXPECT_EQ(rgb, colour.rgb.pixels) << "colour of frame " << colour.frame_index;
  }
  EXPECT_FALSE(frames.read_luma(frames.frame_count(), luma.data())) << "a frame past the end must be refused";
}

TEST(Streamed, AnalysisOfFileAndBufferEqualsTheWholeCine) {
  for (bool color : {true, false}) {
    const std::string path = write_phantom(color ? "streamed_colour.dcm" : "streamed_grey.dcm", color, 100);
    expect_same_analysis(path);
    const std::vector<char> bytes = file_bytes(path);
    auto buffered = echo_test::shared_analyzer().analyze_buffer(bytes.data(), bytes.size());
    auto cine = echo::read_file(path);
    ASSERT_TRUE(buffered && cine);
    auto whole = echo_test::shared_analyzer().analyze(*cine);
    ASSERT_TRUE(whole) << whole.error().message;
    EXPECT_EQ(without_timings(*buffered), without_timings(*whole)) << "buffer, colour " << color;
  }
}

// A frame whose JPEG stream is damaged is found when it is read: the same error as the whole reader's.
TEST(Streamed, DamagedFrameGivesTheWholeReadersError) {
  const std::string path = write_phantom("streamed_damaged.dcm", false, 60);
  std::vector<char> bytes = file_bytes(path);
  int images = 0;
  for (std::size_t i = 0; i + 2 < bytes.size(); ++i) {
    if (static_cast<unsigned char>(bytes[i]) == 0xff && static_cast<unsigned char>(bytes[i + 1]) == 0xd8 &&
        static_cast<unsigned char>(bytes[i + 2]) == 0xff && ++images == 45) {
      bytes[i] = 0;  // frame 44 no longer starts a JPEG image
      bytes[i + 1] = 0;
      break;
    }
  }
  ASSERT_EQ(images, 45) << "the phantom has fewer JPEG frames than expected";
  const std::string damaged = (echo_test::scratch_dir() / "streamed_damaged_frame44.dcm").string();
  std::ofstream(damaged, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  auto streamed = echo_test::shared_analyzer().analyze_file(damaged);
  ASSERT_FALSE(streamed) << "a damaged frame must not be analysed";
  EXPECT_EQ(streamed.error().code, echo::ErrorCode::malformed);
  EXPECT_NE(streamed.error().message.find(damaged), std::string::npos) << streamed.error().message;
  expect_same_analysis(damaged);
}

TEST(Streamed, RealFilesGiveTheWholeCineResult) {
  ECHO_REQUIRE_SHARED_DATA();
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(echo_test::shared_data_dir())) {
    if (entry.path().extension() != ".dcm") continue;
    SCOPED_TRACE(entry.path().filename().string());
    expect_same_analysis(entry.path().string());
    ++files;
  }
  EXPECT_GE(files, 20);
}

// How many frames stream together changes the memory held, not the answer (bundled INT8 model).
TEST(Streamed, StreamBatchSizeDoesNotChangeTheResult) {
  const std::string path = write_phantom("streamed_batches.dcm", true, 90);
  auto reference = echo_test::shared_analyzer().analyze_file(path);
  ASSERT_TRUE(reference) << reference.error().message;
  for (int frames : {1, 7, 32}) {
    echo::AnalyzerOptions options;
    options.engine.threads = 1;
    options.stream_batch_frames = frames;
    auto analyzer = echo::EchoAnalyzer::create(options);
    ASSERT_TRUE(analyzer) << analyzer.error().message;
    auto result = (*analyzer)->analyze_file(path);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(without_timings(*result), without_timings(*reference)) << frames << " frames at a time";
  }
  echo::AnalyzerOptions bad;
  bad.stream_batch_frames = 0;
  auto refused = echo::EchoAnalyzer::create(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, echo::ErrorCode::invalid_argument);
  EXPECT_NE(refused.error().message.find("stream_batch_frames"), std::string::npos);
}
