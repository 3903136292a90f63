// Video files through FFmpeg (io/ffmpeg_video.hpp), still images through OpenCV, and the video writer (OpenCV).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "echo/file_io.hpp"
#include "io/ffmpeg_video.hpp"
#include "io/io_internal.hpp"

namespace echo {
namespace {

using io_detail::reading;

Expected<void> check_readable_file(const std::string& path) {
  if (auto ok = io_detail::check_input_file(path); !ok) return ok;
  std::ifstream probe(path, std::ios::binary);
  if (!probe) return make_error(ErrorCode::io_failed, reading(path) + "cannot open the file");
  return {};
}

// Video files must start with a container the demuxers know the frame size from. A raw elementary stream (no
// container, e.g. MPEG-4 Part 2 VOPs behind 00 00 01 B6) is refused: on one such 246-byte file FFmpeg's decoder
// failed on some VOPs and OpenCV still copied a full frame out of a smaller FFmpeg buffer (a heap over-read
// found by fuzz_video; docs/reliability.md).
bool starts_like_a_video_container(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[189] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got < 12) return false;
  const auto is = [&](std::size_t at, std::string_view bytes) { return std::memcmp(head + at, bytes.data(), bytes.size()) == 0; };
  static const char* const kIsoBoxes[] = {"ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid"};
  for (const char* box : kIsoBoxes)
    if (is(4, box)) return true;                                      // MP4 / MOV / M4V (ISO base media, QuickTime)
  if (is(0, "RIFF")) return true;                                     // AVI
  if (is(0, std::string_view("\x1a\x45\xdf\xa3", 4))) return true;                  // Matroska / WebM (EBML)
  if (is(0, std::string_view("\x30\x26\xb2\x75\x8e\x66\xcf\x11", 8))) return true;  // ASF / WMV
  if (is(0, std::string_view("\x00\x00\x01\xba", 4))) return true;                  // MPEG program stream
  return head[0] == 0x47 && (got < sizeof head || head[188] == 0x47);  // MPEG transport stream
}

// Width and height a PNG or JPEG header declares, without decoding; {0, 0} when not recognised.
std::pair<std::uint64_t, std::uint64_t> declared_image_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> head(64 * 1024);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  const auto be16 = [&](std::size_t i) { return static_cast<std::uint64_t>(head[i]) << 8 | head[i + 1]; };
  const auto be32 = [&](std::size_t i) { return be16(i) << 16 | be16(i + 2); };
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (head.size() >= 24 && std::equal(kPng, kPng + 8, head.begin())) return {be32(16), be32(20)};
  if (head.size() >= 4 && head[0] == 0xFF && head[1] == 0xD8) {
    std::size_t i = 2;
    while (i + 9 < head.size()) {
      if (head[i] != 0xFF) return {0, 0};
      const unsigned marker = head[i + 1];
      const bool start_of_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (start_of_frame) return {be16(i + 7), be16(i + 5)};
      i += 2 + static_cast<std::size_t>(be16(i + 2));
    }
  }
  return {0, 0};
}

void bgr_into_cine(const cv::Mat& bgr, Cine& cine, int frame, ColorFrame* colour) {
  cv::Mat gray(cine.rows, cine.cols, CV_8UC1, cine.frame(frame));
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  if (colour != nullptr) {
    colour->frame_index = frame;
    colour->rgb.width = cine.cols;
    colour->rgb.height = cine.rows;
    colour->rgb.pixels.resize(cine.frame_bytes() * 3);
    cv::Mat rgb(cine.rows, cine.cols, CV_8UC3, colour->rgb.pixels.data());
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  }
}

Expected<Cine> read_video(const std::string& path, const ReadOptions& options) {
  if (!starts_like_a_video_container(path)) {
    return make_error(ErrorCode::unsupported, reading(path) + "not a video container (AVI, MP4 / MOV, MKV, WMV or MPEG "
                                                              "program / transport stream); raw video streams are not read");
  }
  auto video = io_detail::FfmpegVideo::open(path, reading(path));
  if (!video) return tl::unexpected(video.error());
  const io_detail::VideoStreamInfo& stream = video->info();
  const auto cols = static_cast<std::uint64_t>(stream.width);
  const auto rows = static_cast<std::uint64_t>(stream.height);
  const std::uint64_t frames = stream.declared_frames;
  if (cols * rows * std::max<std::uint64_t>(frames, 1) > options.max_total_pixels) {
    return make_error(ErrorCode::too_large, reading(path) + "declared " + std::to_string(frames) + " frames of " +
                                                std::to_string(cols) + "x" + std::to_string(rows) +
                                                " exceed the limit of " + std::to_string(options.max_total_pixels) + " pixels");
  }
  Cine cine;
  // The declared count (an estimate from duration x rate) only plans which frames keep their colour. A damaged
  // container can declare billions with an unknown size (0 x 0): bounded by the pixel budget, and the "every
  // frame" plan is a flag, not a list (the fuzzer's 7 s hang was that list, asked for by a negative
  // max_color_frames; a caller's max_color_frames at least as large as the declared count asks for it too).
  const std::uint64_t plan_frames = std::min<std::uint64_t>(
      {frames, options.max_total_pixels / std::max<std::uint64_t>(cols * rows, 1), std::numeric_limits<int>::max()});
  const bool keep_every_colour =
      plan_frames > 0 && (options.max_color_frames < 0 || static_cast<std::uint64_t>(options.max_color_frames) >= plan_frames);
  const std::vector<int> keep = keep_every_colour ? std::vector<int>()
                                                  : io_detail::color_frame_indices(static_cast<int>(plan_frames), options.max_color_frames);
  std::size_t next_colour = 0;
  std::vector<std::uint8_t> bgr_pixels;
  int index = 0;
  while (true) {
    auto more = video->next_bgr(bgr_pixels);
    if (!more) return tl::unexpected(more.error());
    if (!*more) break;
    if (index == 0) {  // every later frame is checked against the stream's size by the decoder wrapper
      cine.rows = stream.height;
      cine.cols = stream.width;
    }
    if (static_cast<std::uint64_t>(index + 1) * cine.frame_bytes() > options.max_total_pixels) {
      return make_error(ErrorCode::too_large, reading(path) + "more frames than the pixel limit allows");
    }
    cine.gray.resize(cine.frame_bytes() * static_cast<std::size_t>(index + 1));
    ColorFrame* colour = nullptr;
    if (keep_every_colour || (next_colour < keep.size() && keep[next_colour] == index)) {
      cine.color.emplace_back();
      colour = &cine.color.back();
      ++next_colour;
    }
    bgr_into_cine(cv::Mat(cine.rows, cine.cols, CV_8UC3, bgr_pixels.data()), cine, index, colour);
    ++index;
  }
  if (index == 0) return make_error(ErrorCode::malformed, reading(path) + "the video has no decodable frame");
  const double fps = stream.fps;
  cine.frame_times_ms.resize(static_cast<std::size_t>(index));
  const bool rate_known = std::isfinite(fps) && fps > 0.0 && fps < 10000.0;
  for (int i = 0; i < index; ++i) cine.frame_times_ms[static_cast<std::size_t>(i)] = rate_known ? 1000.0 * i / fps : 0.0;
  cine.metadata.source_kind = "video";
  cine.metadata.timing_source = rate_known ? "container" : "none";
  cine.metadata.photometric = "RGB";
  cine.calibration.note = "video container: no physical calibration";
  return cine;
}

Expected<Cine> read_image(const std::string& path, const ReadOptions& options) {
  const auto [width, height] = declared_image_size(path);
  if (width * height > options.max_total_pixels) {
    return make_error(ErrorCode::too_large, reading(path) + "declared size " + std::to_string(width) + "x" +
                                                std::to_string(height) + " exceeds the limit of " +
                                                std::to_string(options.max_total_pixels) + " pixels");
  }
  cv::Mat image = cv::imread(path, cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR);
  if (image.empty()) return make_error(ErrorCode::unsupported, reading(path) + "not an image OpenCV can decode");
  if (static_cast<std::uint64_t>(image.rows) * static_cast<std::uint64_t>(image.cols) > options.max_total_pixels) {
    return make_error(ErrorCode::too_large, reading(path) + "image exceeds the pixel limit");
  }
  if (image.depth() == CV_16U) image.convertTo(image, CV_8U, 1.0 / 257.0);
  if (image.depth() != CV_8U) return make_error(ErrorCode::unsupported, reading(path) + "only 8- and 16-bit images are read");
  Cine cine;
  cine.rows = image.rows;
  cine.cols = image.cols;
  cine.gray.resize(cine.frame_bytes());
  cine.frame_times_ms = {0.0};
  cine.metadata.source_kind = "image";
  cine.metadata.timing_source = "none";
  cine.calibration.note = "still image: no physical calibration";
  if (image.channels() == 1) {
    image.copyTo(cv::Mat(cine.rows, cine.cols, CV_8UC1, cine.gray.data()));
    cine.metadata.photometric = "MONOCHROME2";
    return cine;
  }
  if (image.channels() == 4) cv::cvtColor(image, image, cv::COLOR_BGRA2BGR);
  ColorFrame colour;
  bgr_into_cine(image, cine, 0, options.max_color_frames != 0 ? &colour : nullptr);
  if (options.max_color_frames != 0) cine.color.push_back(std::move(colour));
  cine.metadata.photometric = "RGB";
  return cine;
}

template <class Fn>
auto guarded(const std::string& path, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::out_of_memory, reading(path) + "out of memory");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::malformed, reading(path) + "decoding failed (" + e.what() + ")");
  } catch (...) {
    return make_error(ErrorCode::malformed, reading(path) + "decoding failed");
  }
}

}  // namespace

Expected<Cine> read_video_file(const std::string& path, const ReadOptions& options) {
  if (auto ok = check_readable_file(path); !ok) return tl::unexpected(ok.error());
  return guarded(path, [&] { return read_video(path, options); });
}

Expected<Cine> read_image_file(const std::string& path, const ReadOptions& options) {
  if (auto ok = check_readable_file(path); !ok) return tl::unexpected(ok.error());
  return guarded(path, [&] { return read_image(path, options); });
}

namespace {

int readable_frames(const std::string& path) {
  auto video = io_detail::FfmpegVideo::open(path, reading(path));
  if (!video) return 0;
  std::vector<std::uint8_t> bgr;
  int frames = 0;
  for (auto more = video->next_bgr(bgr); more && *more; more = video->next_bgr(bgr)) ++frames;
  return frames;
}

}  // namespace

Expected<void> write_video_file(const Cine& cine, const std::string& path) {
  const std::string what = "writing '" + path + "': ";
  if (cine.rows <= 0 || cine.cols <= 0 || cine.frame_count() <= 0 || cine.gray.size() % cine.frame_bytes() != 0) {
    return make_error(ErrorCode::invalid_argument, what + "the cine has no frames or inconsistent sizes");
  }
  int fourcc = 0;
  if (io_detail::has_extension(path, {"avi"})) {
    fourcc = cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
  } else if (io_detail::has_extension(path, {"mp4", "m4v", "mov"})) {
    fourcc = cv::VideoWriter::fourcc('m', 'p', '4', 'v');
  } else {
    return make_error(ErrorCode::unsupported, what + "unknown video extension (use .avi or .mp4)");
  }
  const double fps = cine.fps() > 0.0 ? cine.fps() : 25.0;
  // OpenCV's writer needs a path and does not report a failed write: it writes to a temporary that is read
  // back (frame count) before it is renamed over `path` (echo/file_io.hpp).
  return write_file_atomically_via(path, [&](const std::string& temporary) -> Expected<void> {
    try {
      cv::VideoWriter writer(temporary, fourcc, fps, cv::Size(cine.cols, cine.rows), true);
      if (!writer.isOpened()) return make_error(ErrorCode::io_failed, what + "the video writer could not be opened");
      cv::Mat bgr;
      for (int i = 0; i < cine.frame_count(); ++i) {
        const cv::Mat gray(cine.rows, cine.cols, CV_8UC1, const_cast<std::uint8_t*>(cine.frame(i)));
        cv::cvtColor(gray, bgr, cv::COLOR_GRAY2BGR);
        writer.write(bgr);
      }
      writer.release();
      // Every frame is read back: the header's frame count is written within the first kilobytes and can
      // survive a file cut short by a full disk or a file-size limit.
      const int frames = readable_frames(temporary);
      if (frames != cine.frame_count()) {
        return make_error(ErrorCode::io_failed, what + "only " + std::to_string(frames) + " of " +
                                                    std::to_string(cine.frame_count()) +
                                                    " frames could be written");
      }
    } catch (const std::exception& e) {
      return make_error(ErrorCode::io_failed, what + "video encoding failed (" + e.what() + ")");
    }
    return {};
  });
}

}  // namespace echo
