// The FFmpeg video decoder wrapper (src/io/ffmpeg_video.hpp) on the stream that made OpenCV's FFmpeg back end
// over-read. Part of test_io_real, so it also runs under ASan + UBSan (io_sanitized_malformed).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "io/ffmpeg_video.hpp"
#include "test_support.hpp"

namespace {

// fuzz/regressions/video/opencv-overread-raw-mpeg4-stream.bin: the fuzzer's first byte picks the extension, the
// rest is a 246-byte raw MPEG-4 Part 2 stream (sprite headers, damaged VOPs) on which FFmpeg's decoder hands
// back pictures smaller than the stream declares.
std::string overread_stream_path() {
  std::ifstream in(ECHO_FUZZ_REGRESSIONS_DIR "/video/opencv-overread-raw-mpeg4-stream.bin", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.size(), 247u) << "the regression input is missing or changed";
  const std::string path = (echo_test::scratch_dir() / "overread.m4v").string();
  std::ofstream(path, std::ios::binary) << bytes.substr(1);
  return path;
}

TEST(FfmpegVideo, PicturesOfAnotherSizeThanTheStreamAreRefusedNotCopied) {
  const std::string path = overread_stream_path();
  // read_file refuses raw streams before FFmpeg sees them (container check, demuxer list): here the raw MPEG-4
  // demuxer is allowed on purpose, so that the stream reaches the decoder and the per-picture size check.
  EXPECT_FALSE(echo::io_detail::FfmpegVideo::open(path, "").has_value()) << "raw streams are outside the default demuxers";
  auto video = echo::io_detail::FfmpegVideo::open(path, "reading 'overread.m4v': ", "m4v");
  ASSERT_TRUE(video.has_value()) << video.error().message;
  const auto& info = video->info();
  std::vector<std::uint8_t> bgr;
  int frames = 0;
  auto more = video->next_bgr(bgr);
  for (; more && *more; more = video->next_bgr(bgr)) {
    ASSERT_EQ(bgr.size(), static_cast<std::size_t>(info.width) * info.height * 3) << "frame " << frames;
    ++frames;
  }
  // The first picture FFmpeg returns is 64x13 where the stream declares 64x64 (OpenCV copied 64x64x3 bytes).
  ASSERT_FALSE(more.has_value()) << "the stream ended after " << frames << " frames without the size check firing";
  EXPECT_EQ(more.error().code, echo::ErrorCode::malformed);
  EXPECT_NE(more.error().message.find("reading 'overread.m4v': frame 0 decodes to 64x13, the stream declares 64x64"),
            std::string::npos) << more.error().message;
}

}  // namespace
