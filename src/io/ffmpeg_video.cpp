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
#include <libavutil/opt.h>
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

// A decoder may allocate only pictures about the declared size: a stream whose own header claims far more
// (e.g. an H.264 SPS of 8192 x 8192 behind Rows and Columns of 64 x 64) is refused before its reference frames
// are allocated. The limit also applies to FFmpeg's own scratch buffers (192 x 280 for a 48 x 80 MPEG-4 picture)
// and aligned or cropped sizes (1920 x 1088 for 1080 lines): four times the declared size with a margin.
void limit_picture_size(AVCodecContext* decoder, int width, int height) {
  if (width > 0 && height > 0) decoder->max_pixels = 4 * (static_cast<std::int64_t>(width) + 256) * (static_cast<std::int64_t>(height) + 256);
}

std::string av_error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

// Decoded pictures to packed 8-bit BGR or RGB through swscale: SWS_BICUBIC into 32-byte aligned rows, as
// OpenCV's reader converted (so frames stay byte-identical to it). The picture's own size is checked against
// the declared one first: converting a smaller picture over the declared size is the over-read this prevents.
class PictureConverter {
 public:
  PictureConverter() = default;
  PictureConverter(const PictureConverter&) = delete;
  PictureConverter& operator=(const PictureConverter&) = delete;
  ~PictureConverter() {
    sws_freeContext(converter_);
    av_frame_free(&converted_);
  }

  // `declared` names who declared width x height in the message ("the stream", "Rows and Columns").
  Expected<void> to_packed(const AVFrame* picture, int width, int height, AVPixelFormat packed_format,
                           const std::string& what, const std::string& declared, std::vector<std::uint8_t>& out) {
    if (picture->width <= 0 || picture->height <= 0 || picture->data[0] == nullptr) {
      return make_error(ErrorCode::malformed, what + "decodes to an empty picture");
    }
    if (picture->width != width || picture->height != height) {
      return make_error(ErrorCode::malformed, what + "decodes to " + std::to_string(picture->width) + "x" +
                                                  std::to_string(picture->height) + ", " + declared + " declare" +
                                                  (declared == "the stream" ? "s " : " ") + std::to_string(width) + "x" +
                                                  std::to_string(height));
    }
    const auto pixel_format = static_cast<AVPixelFormat>(picture->format);
    if (pixel_format == AV_PIX_FMT_NONE || sws_isSupportedInput(pixel_format) == 0) {
      const char* name = av_get_pix_fmt_name(pixel_format);
      return make_error(ErrorCode::unsupported,
                        what + "has the pixel format '" + (name != nullptr ? name : "none") + "', which is not converted");
    }
    converter_ = sws_getCachedContext(converter_, width, height, pixel_format, width, height, packed_format, SWS_BICUBIC,
                                      nullptr, nullptr, nullptr);
    if (converter_ == nullptr) return make_error(ErrorCode::unsupported, what + "cannot be converted to RGB");
    if (converted_ == nullptr && (converted_ = av_frame_alloc()) == nullptr) {
      return make_error(ErrorCode::out_of_memory, what + "out of memory converting it");
    }
    if (converted_->width != width || converted_->height != height || converted_->format != packed_format) {
      av_frame_unref(converted_);
      converted_->format = packed_format;
      converted_->width = width;
      converted_->height = height;
      if (av_frame_get_buffer(converted_, 32) < 0) return make_error(ErrorCode::out_of_memory, what + "out of memory converting it");
    }
    sws_scale(converter_, picture->data, picture->linesize, 0, height, converted_->data, converted_->linesize);
    const std::size_t row_bytes = static_cast<std::size_t>(width) * 3;
    out.resize(row_bytes * static_cast<std::size_t>(height));
    for (int y = 0; y < height; ++y) {
      std::memcpy(out.data() + row_bytes * static_cast<std::size_t>(y),
                  converted_->data[0] + static_cast<std::ptrdiff_t>(converted_->linesize[0]) * y, row_bytes);
    }
    return {};
  }

 private:
  SwsContext* converter_ = nullptr;
  AVFrame* converted_ = nullptr;
};

}  // namespace

struct FfmpegVideo::State {
  AVFormatContext* format = nullptr;
  AVCodecContext* decoder = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* picture = nullptr;
  PictureConverter converter;
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
  if (decoder == nullptr || packet == nullptr || picture == nullptr) {
    return make_error(ErrorCode::out_of_memory, what + "out of memory opening the decoder");
  }
  if (avcodec_parameters_to_context(decoder, video->codecpar) < 0) {
    return make_error(ErrorCode::malformed, what + "the video stream's codec parameters are invalid");
  }
  decoder->thread_count = 1;  // one picture at a time: deterministic, and the caller parallelises studies
  limit_picture_size(decoder, video->codecpar->width, video->codecpar->height);
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
  if (stream_width == 0 && stream_height == 0 && frames_returned == 0) {  // the container did not say: the first frame does
    stream_width = picture->width;
    stream_height = picture->height;
    set_display_size();
  }
  const std::string frame_name = what + "frame " + std::to_string(frames_returned) + " ";
  auto converted = converter.to_packed(picture, stream_width, stream_height, AV_PIX_FMT_BGR24, frame_name, "the stream", bgr);
  av_frame_unref(picture);
  if (!converted) return converted;
  if (info.rotation_degrees != 0) {
    rotate_bgr(bgr, stream_width, stream_height, info.rotation_degrees, upright);
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

namespace {

AVCodecID codec_id_of(ElementaryCodec codec) {
  switch (codec) {
    case ElementaryCodec::mpeg2: return AV_CODEC_ID_MPEG2VIDEO;
    case ElementaryCodec::h264: return AV_CODEC_ID_H264;
    case ElementaryCodec::hevc: return AV_CODEC_ID_HEVC;
  }
  return AV_CODEC_ID_NONE;
}

// Parser, decoder and their buffers for one elementary stream.
class ElementaryDecoder {
 public:
  ElementaryDecoder(int width, int height, int max_frames, const std::string& what,
                    const std::function<void(int, const std::uint8_t*)>& on_frame)
      : width_(width), height_(height), max_frames_(max_frames), what_(what), on_frame_(on_frame) {}
  ElementaryDecoder(const ElementaryDecoder&) = delete;
  ElementaryDecoder& operator=(const ElementaryDecoder&) = delete;
  ~ElementaryDecoder() {
    av_parser_close(parser_);
    av_frame_free(&picture_);
    av_packet_free(&packet_);
    avcodec_free_context(&decoder_);
  }

  Expected<void> open(AVCodecID id) {
    const AVCodec* codec = avcodec_find_decoder(id);
    if (codec == nullptr) return make_error(ErrorCode::unsupported, what_ + "decoder is not in this FFmpeg build");
    parser_ = av_parser_init(id);
    decoder_ = avcodec_alloc_context3(codec);
    packet_ = av_packet_alloc();
    picture_ = av_frame_alloc();
    if (parser_ == nullptr || decoder_ == nullptr || packet_ == nullptr || picture_ == nullptr) {
      return make_error(ErrorCode::out_of_memory, what_ + "decoder could not be set up");
    }
    decoder_->thread_count = 1;
    limit_picture_size(decoder_, width_, height_);
    if (const int r = avcodec_open2(decoder_, codec, nullptr); r < 0) {
      return make_error(ErrorCode::malformed, what_ + "decoder refuses it (" + av_error_text(r) + ")");
    }
    return {};
  }

  // The whole stream, then the parser's and the decoder's buffered pictures.
  Expected<int> run(const std::uint8_t* data, std::size_t size) {
    // The parser reads up to AV_INPUT_BUFFER_PADDING_SIZE bytes past the end it is given: a zero-padded copy.
    if (size > (std::size_t{1} << 40)) return make_error(ErrorCode::too_large, what_ + "is larger than 1 TiB");
    std::vector<std::uint8_t> padded(size + AV_INPUT_BUFFER_PADDING_SIZE, 0);
    std::memcpy(padded.data(), data, size);
    const std::uint8_t* at = padded.data();
    std::size_t left = size;
    while (left > 0) {
      const int chunk = static_cast<int>(std::min<std::size_t>(left, 1 << 20));
      const int used = av_parser_parse2(parser_, decoder_, &packet_->data, &packet_->size, at, chunk, AV_NOPTS_VALUE,
                                        AV_NOPTS_VALUE, 0);
      if (used < 0) return make_error(ErrorCode::malformed, what_ + "cannot be split into pictures");
      at += used;
      left -= static_cast<std::size_t>(used);
      if (packet_->size > 0) {
        if (auto ok = decode(packet_); !ok) return tl::unexpected(ok.error());
      } else if (used == 0) {
        break;  // the parser takes nothing more and gives nothing: what is left cannot be a picture
      }
    }
    for (;;) {  // the parser's last picture
      av_parser_parse2(parser_, decoder_, &packet_->data, &packet_->size, nullptr, 0, AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
      if (packet_->size <= 0) break;
      if (auto ok = decode(packet_); !ok) return tl::unexpected(ok.error());
    }
    if (auto ok = decode(nullptr); !ok) return tl::unexpected(ok.error());  // drain the decoder
    return frames_;
  }

 private:
  Expected<void> decode(const AVPacket* packet) {
    if (const int r = avcodec_send_packet(decoder_, packet); r < 0 && r != AVERROR_EOF) {
      return make_error(ErrorCode::malformed, what_ + "picture " + std::to_string(frames_ + 1) + " cannot be decoded (" +
                                                  av_error_text(r) + ")");
    }
    for (;;) {
      const int r = avcodec_receive_frame(decoder_, picture_);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return {};
      const std::string picture_name = what_ + "picture " + std::to_string(frames_ + 1) + " ";
      if (r < 0) return make_error(ErrorCode::malformed, picture_name + "cannot be decoded (" + av_error_text(r) + ")");
      if ((picture_->flags & AV_FRAME_FLAG_CORRUPT) != 0 || picture_->decode_error_flags != 0) {
        av_frame_unref(picture_);
        return make_error(ErrorCode::malformed, picture_name + "is damaged (the decoder concealed errors in it)");
      }
      if (frames_ >= max_frames_) {
        av_frame_unref(picture_);
        return make_error(ErrorCode::malformed, what_ + "holds more pictures than the " + std::to_string(max_frames_) +
                                                    " frames declared (Number of Frames)");
      }
      auto converted = converter_.to_packed(picture_, width_, height_, AV_PIX_FMT_RGB24, picture_name, "Rows and Columns", rgb_);
      av_frame_unref(picture_);
      if (!converted) return converted;
      on_frame_(frames_, rgb_.data());
      ++frames_;
    }
  }

  int width_, height_, max_frames_;
  std::string what_;
  const std::function<void(int, const std::uint8_t*)>& on_frame_;
  AVCodecParserContext* parser_ = nullptr;
  AVCodecContext* decoder_ = nullptr;
  AVPacket* packet_ = nullptr;
  AVFrame* picture_ = nullptr;
  PictureConverter converter_;
  std::vector<std::uint8_t> rgb_;
  int frames_ = 0;
};

}  // namespace

Expected<int> decode_elementary_stream(ElementaryCodec codec, const std::uint8_t* data, std::size_t size, int width,
                                       int height, int max_frames, const std::string& what,
                                       const std::function<void(int, const std::uint8_t*)>& on_frame) {
  quiet_ffmpeg_log_once();
  if (data == nullptr || size == 0) return make_error(ErrorCode::malformed, what + "is empty");
  ElementaryDecoder decoder(width, height, max_frames, what, on_frame);
  if (auto ok = decoder.open(codec_id_of(codec)); !ok) return tl::unexpected(ok.error());
  return decoder.run(data, size);
}

namespace {

// One encoder and its frame and packet, freed together.
struct Encoder {
  AVCodecContext* context = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  Encoder() = default;
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  ~Encoder() {
    av_packet_free(&packet);
    av_frame_free(&frame);
    avcodec_free_context(&context);
  }
  // Sends `input` (nullptr: end of stream) and appends every packet the encoder gives back.
  bool send(const AVFrame* input, std::string& stream) {
    if (avcodec_send_frame(context, input) < 0) return false;
    for (;;) {
      const int r = avcodec_receive_packet(context, packet);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return true;
      if (r < 0) return false;
      stream.append(reinterpret_cast<const char*>(packet->data), static_cast<std::size_t>(packet->size));
      av_packet_unref(packet);
    }
  }
};

const char* encoder_name(ElementaryCodec codec) {
  switch (codec) {
    case ElementaryCodec::mpeg2: return "mpeg2video";
    case ElementaryCodec::h264: return "libx264";
    case ElementaryCodec::hevc: return "libx265";
  }
  return "";
}

}  // namespace

Expected<std::string> encode_elementary_stream(ElementaryCodec codec, const std::uint8_t* gray, int frames, int rows,
                                               int cols, int quality, const std::string& what) {
  quiet_ffmpeg_log_once();
  if (gray == nullptr || frames <= 0 || rows <= 0 || cols <= 0 || rows % 2 != 0 || cols % 2 != 0) {
    return make_error(ErrorCode::invalid_argument, what + "MPEG 4:2:0 needs frames with an even number of rows and columns");
  }
  const AVCodec* found = avcodec_find_encoder_by_name(encoder_name(codec));
  if (found == nullptr) {
    return make_error(ErrorCode::unsupported, what + "this FFmpeg build has no " + encoder_name(codec) + " encoder");
  }
  Encoder encoder;
  encoder.context = avcodec_alloc_context3(found);
  encoder.frame = av_frame_alloc();
  encoder.packet = av_packet_alloc();
  if (encoder.context == nullptr || encoder.frame == nullptr || encoder.packet == nullptr) {
    return make_error(ErrorCode::out_of_memory, what + "out of memory setting up the encoder");
  }
  AVCodecContext* c = encoder.context;
  c->width = cols;
  c->height = rows;
  c->time_base = {1, 25};
  c->framerate = {25, 1};
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->gop_size = 6;
  c->max_b_frames = 2;
  c->thread_count = 1;
  if (codec == ElementaryCodec::mpeg2) {
    c->flags |= AV_CODEC_FLAG_QSCALE;
    c->global_quality = FF_QP2LAMBDA * std::clamp(quality, 2, 31);
  } else {
    av_opt_set(c->priv_data, "crf", std::to_string(std::clamp(quality, 0, 51)).c_str(), 0);
    if (codec == ElementaryCodec::hevc) av_opt_set(c->priv_data, "x265-params", "log-level=none:pools=none:frame-threads=1", 0);
  }
  if (const int r = avcodec_open2(c, found, nullptr); r < 0) {
    return make_error(ErrorCode::internal, what + "the " + encoder_name(codec) + " encoder refused its settings (" + av_error_text(r) + ")");
  }
  AVFrame* frame = encoder.frame;
  frame->format = AV_PIX_FMT_YUV420P;
  frame->width = cols;
  frame->height = rows;
  if (av_frame_get_buffer(frame, 0) < 0) return make_error(ErrorCode::out_of_memory, what + "out of memory for a frame");
  std::string stream;
  const std::size_t frame_bytes = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  for (int i = 0; i < frames; ++i) {
    if (av_frame_make_writable(frame) < 0) return make_error(ErrorCode::out_of_memory, what + "out of memory for a frame");
    const std::uint8_t* source = gray + frame_bytes * static_cast<std::size_t>(i);
    for (int y = 0; y < rows; ++y) {
      std::uint8_t* luma = frame->data[0] + static_cast<std::ptrdiff_t>(frame->linesize[0]) * y;
      for (int x = 0; x < cols; ++x) luma[x] = static_cast<std::uint8_t>(16 + (source[y * cols + x] * 219 + 127) / 255);
    }
    for (int plane = 1; plane < 3; ++plane) {
      for (int y = 0; y < rows / 2; ++y) {
        std::memset(frame->data[plane] + static_cast<std::ptrdiff_t>(frame->linesize[plane]) * y, 128, static_cast<std::size_t>(cols / 2));
      }
    }
    frame->pts = i;
    if (!encoder.send(frame, stream)) return make_error(ErrorCode::internal, what + "encoding frame " + std::to_string(i) + " failed");
  }
  if (!encoder.send(nullptr, stream)) return make_error(ErrorCode::internal, what + "finishing the stream failed");
  return stream;
}

}  // namespace echo::io_detail
