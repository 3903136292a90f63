#include "io/ffmpeg_video.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace echo::io_detail {
namespace {

constexpr int kMaxUndecodablePictures = 64;  // OpenCV's OPENCV_FFMPEG_DECODE_ATTEMPTS default
constexpr int kMaxReadRetries = 4096;        // AVERROR(EAGAIN) from the demuxer in a row

// FFmpeg logs at INFO to stderr by default. Lowered to errors only, as OpenCV's FFmpeg back end did before
// this reader existed, and only while the level is still FFmpeg's default: a host that set its own keeps it.
void quiet_ffmpeg_log_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (av_log_get_level() == AV_LOG_INFO) av_log_set_level(AV_LOG_ERROR);
  });
}

double rate(AVRational r) { return r.num == 0 || r.den == 0 ? 0.0 : static_cast<double>(r.num) / r.den; }

// The container's frame count, else duration x rate rounded (OpenCV's CAP_PROP_FRAME_COUNT); 0 when neither.
std::uint64_t declared_frame_count(const AVFormatContext* format, const AVStream* stream, double fps) {
  if (stream->nb_frames > 0) return static_cast<std::uint64_t>(stream->nb_frames);
  double seconds = format->duration == AV_NOPTS_VALUE ? 0.0 : static_cast<double>(format->duration) / AV_TIME_BASE;
  if (!(seconds > 0.000025) && stream->duration != AV_NOPTS_VALUE)
    seconds = static_cast<double>(stream->duration) * rate(stream->time_base);
  const double frames = std::floor(seconds * fps + 0.5);
  return std::isfinite(frames) && frames > 0.0 && frames < 1e15 ? static_cast<std::uint64_t>(frames) : 0;
}

// Clockwise turn that makes the picture upright, from the display matrix, by OpenCV 4.6's rule (the matrix's
// angle taken as clockwise; only 90, 180 and 270 are applied, other angles and mirroring are ignored). Checked
// against OpenCV on files tagged rotate=90/180/270 by FFmpeg.
int display_rotation_degrees(const AVStream* stream) {
  std::size_t size = 0;
  const std::uint8_t* matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (matrix == nullptr || size < 9 * sizeof(std::int32_t)) return 0;
  const double angle = av_display_rotation_get(reinterpret_cast<const std::int32_t*>(matrix));
  if (!std::isfinite(angle)) return 0;
  int clockwise = static_cast<int>(std::lround(angle));
  clockwise = ((clockwise % 360) + 360) % 360;
  return clockwise % 90 == 0 ? clockwise : 0;
}

// `bgr` (width x height, packed) turned clockwise by `degrees` into `out`.
void rotate_bgr(const std::vector<std::uint8_t>& bgr, int width, int height, int degrees, std::vector<std::uint8_t>& out) {
  out.resize(bgr.size());
  const bool quarter = degrees == 90 || degrees == 270;
  const int out_width = quarter ? height : width;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      int ox = x, oy = y;
      if (degrees == 90) ox = height - 1 - y, oy = x;
      if (degrees == 180) ox = width - 1 - x, oy = height - 1 - y;
      if (degrees == 270) ox = y, oy = width - 1 - x;
      std::memcpy(&out[(static_cast<std::size_t>(oy) * out_width + ox) * 3], &bgr[(static_cast<std::size_t>(y) * width + x) * 3], 3);
    }
  }
}

std::string av_error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

}  // namespace

struct FfmpegVideo::State {
  AVFormatContext* format = nullptr;
  AVCodecContext* decoder = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* picture = nullptr;
  AVFrame* converted = nullptr;  // BGR24, rows aligned to 32 bytes as OpenCV's were
  SwsContext* converter = nullptr;
  int stream = -1;
  int stream_width = 0;  // the decoded pictures' size (before rotation)
  int stream_height = 0;
  VideoStreamInfo info;
  std::vector<std::uint8_t> upright;  // scratch for rotated frames
  std::string what;
  bool draining = false;
  bool ended = false;
  int frames_returned = 0;
  int undecodable = 0;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    sws_freeContext(converter);
    av_frame_free(&converted);
    av_frame_free(&picture);
    av_packet_free(&packet);
    avcodec_free_context(&decoder);
    avformat_close_input(&format);
  }

  Expected<void> open(const std::string& path, const char* allowed_demuxers);
  void set_display_size() {
    const bool quarter = info.rotation_degrees == 90 || info.rotation_degrees == 270;
    info.width = quarter ? stream_height : stream_width;
    info.height = quarter ? stream_width : stream_height;
  }
  Expected<void> convert_picture(std::vector<std::uint8_t>& bgr);
  Expected<bool> next_bgr(std::vector<std::uint8_t>& bgr);
};

Expected<void> FfmpegVideo::State::open(const std::string& path, const char* allowed_demuxers) {
  // Only local files, and only the allowed demuxers: libavformat would otherwise probe every demuxer it has
  // (playlists, image sequences, raw streams) and follow any protocol a name asks for.
  AVDictionary* limits = nullptr;
  av_dict_set(&limits, "protocol_whitelist", "file", 0);
  av_dict_set(&limits, "format_whitelist", allowed_demuxers, 0);
  const int opened = avformat_open_input(&format, path.c_str(), nullptr, &limits);
  av_dict_free(&limits);
  if (opened < 0) {
    return make_error(ErrorCode::unsupported, what + "not a video FFmpeg can open as AVI, MP4 / MOV, MKV, WMV or MPEG (" +
                                                  av_error_text(opened) + ")");
  }
  if (const int r = avformat_find_stream_info(format, nullptr); r < 0) {
    return make_error(ErrorCode::malformed, what + "the container's streams cannot be read (" + av_error_text(r) + ")");
  }
  for (unsigned i = 0; i < format->nb_streams && stream < 0; ++i) {
    const AVStream* s = format->streams[i];
    if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && (s->disposition & AV_DISPOSITION_ATTACHED_PIC) == 0)
      stream = static_cast<int>(i);
  }
  if (stream < 0) return make_error(ErrorCode::unsupported, what + "the file holds no video stream");
  const AVStream* video = format->streams[stream];
  const AVCodec* codec = avcodec_find_decoder(video->codecpar->codec_id);
  if (codec == nullptr) {
    return make_error(ErrorCode::unsupported,
                      what + "no decoder for the video codec '" + avcodec_get_name(video->codecpar->codec_id) + "'");
  }
  decoder = avcodec_alloc_context3(codec);
  packet = av_packet_alloc();
  picture = av_frame_alloc();
  converted = av_frame_alloc();
  if (decoder == nullptr || packet == nullptr || picture == nullptr || converted == nullptr) {
    return make_error(ErrorCode::out_of_memory, what + "out of memory opening the decoder");
  }
  if (avcodec_parameters_to_context(decoder, video->codecpar) < 0) {
    return make_error(ErrorCode::malformed, what + "the video stream's codec parameters are invalid");
  }
  decoder->thread_count = 1;  // one picture at a time: deterministic, and the caller parallelises studies
  if (const int r = avcodec_open2(decoder, codec, nullptr); r < 0) {
    return make_error(ErrorCode::malformed, what + "the " + codec->name + " decoder refuses the stream (" + av_error_text(r) + ")");
  }
  stream_width = std::max(0, video->codecpar->width);
  stream_height = std::max(0, video->codecpar->height);
  info.rotation_degrees = display_rotation_degrees(video);
  set_display_size();
  info.fps = rate(av_guess_frame_rate(format, const_cast<AVStream*>(video), nullptr));
  info.declared_frames = declared_frame_count(format, video, info.fps);
  return {};
}

Expected<void> FfmpegVideo::State::convert_picture(std::vector<std::uint8_t>& bgr) {
  const std::string frame_name = "frame " + std::to_string(frames_returned);
  if (picture->width <= 0 || picture->height <= 0 || picture->data[0] == nullptr) {
    return make_error(ErrorCode::malformed, what + frame_name + " decodes to an empty picture");
  }
  if (stream_width == 0 && stream_height == 0 && frames_returned == 0) {  // the container did not say: the first frame does
    stream_width = picture->width;
    stream_height = picture->height;
    set_display_size();
  }
  if (picture->width != stream_width || picture->height != stream_height) {
    return make_error(ErrorCode::malformed, what + frame_name + " decodes to " + std::to_string(picture->width) + "x" +
                                                std::to_string(picture->height) + ", the stream declares " +
                                                std::to_string(stream_width) + "x" + std::to_string(stream_height));
  }
  const auto pixel_format = static_cast<AVPixelFormat>(picture->format);
  if (pixel_format == AV_PIX_FMT_NONE || sws_isSupportedInput(pixel_format) == 0) {
    const char* name = av_get_pix_fmt_name(pixel_format);
    return make_error(ErrorCode::unsupported,
                      what + frame_name + " has the pixel format '" + (name != nullptr ? name : "none") + "', which is not converted");
  }
  const int width = picture->width;
  const int height = picture->height;
  converter = sws_getCachedContext(converter, width, height, pixel_format, width, height, AV_PIX_FMT_BGR24, SWS_BICUBIC,
                                   nullptr, nullptr, nullptr);
  if (converter == nullptr) return make_error(ErrorCode::unsupported, what + frame_name + " cannot be converted to RGB");
  if (converted->width != width || converted->height != height) {
    av_frame_unref(converted);
    converted->format = AV_PIX_FMT_BGR24;
    converted->width = width;
    converted->height = height;
    if (av_frame_get_buffer(converted, 32) < 0) return make_error(ErrorCode::out_of_memory, what + "out of memory converting " + frame_name);
  }
  sws_scale(converter, picture->data, picture->linesize, 0, height, converted->data, converted->linesize);
  const std::size_t row_bytes = static_cast<std::size_t>(width) * 3;
  bgr.resize(row_bytes * static_cast<std::size_t>(height));
  for (int y = 0; y < height; ++y) {
    std::memcpy(bgr.data() + row_bytes * static_cast<std::size_t>(y),
                converted->data[0] + static_cast<std::ptrdiff_t>(converted->linesize[0]) * y, row_bytes);
  }
  av_frame_unref(picture);
  if (info.rotation_degrees != 0) {
    rotate_bgr(bgr, width, height, info.rotation_degrees, upright);
    bgr.swap(upright);
  }
  ++frames_returned;
  return {};
}

Expected<bool> FfmpegVideo::State::next_bgr(std::vector<std::uint8_t>& bgr) {
  int read_retries = 0;
  while (!ended) {
    const int received = avcodec_receive_frame(decoder, picture);
    if (received == 0) {
      if (auto ok = convert_picture(bgr); !ok) return tl::unexpected(ok.error());
      return true;
    }
    if (received == AVERROR_EOF) break;
    if (received != AVERROR(EAGAIN) && ++undecodable > kMaxUndecodablePictures) break;
    if (draining) {
      if (received == AVERROR(EAGAIN)) break;  // a drained decoder has nothing more
      continue;
    }
    const int read = av_read_frame(format, packet);
    if (read == AVERROR(EAGAIN)) {
      if (++read_retries > kMaxReadRetries) break;
      continue;
    }
    if (read < 0) {  // end of file, or a container damaged from here on: drain what the decoder holds
      draining = true;
      avcodec_send_packet(decoder, nullptr);
      continue;
    }
    if (packet->stream_index != stream) {
      av_packet_unref(packet);
      continue;
    }
    const int sent = avcodec_send_packet(decoder, packet);
    av_packet_unref(packet);
    if (sent < 0) break;  // as OpenCV's reader: a packet the decoder refuses ends the stream
  }
  ended = true;
  return false;
}

FfmpegVideo::FfmpegVideo(std::unique_ptr<State> state) : state_(std::move(state)) {}
FfmpegVideo::FfmpegVideo(FfmpegVideo&&) noexcept = default;
FfmpegVideo& FfmpegVideo::operator=(FfmpegVideo&&) noexcept = default;
FfmpegVideo::~FfmpegVideo() = default;

Expected<FfmpegVideo> FfmpegVideo::open(const std::string& path, const std::string& what, const char* allowed_demuxers) {
  quiet_ffmpeg_log_once();
  auto state = std::make_unique<State>();
  state->what = what;
  if (auto ok = state->open(path, allowed_demuxers); !ok) return tl::unexpected(ok.error());
  return FfmpegVideo(std::move(state));
}

const VideoStreamInfo& FfmpegVideo::info() const { return state_->info; }

Expected<bool> FfmpegVideo::next_bgr(std::vector<std::uint8_t>& bgr) { return state_->next_bgr(bgr); }

}  // namespace echo::io_detail
