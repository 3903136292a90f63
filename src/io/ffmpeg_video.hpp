// Video decoding straight through libavformat / libavcodec / libswscale (FFmpeg), with every decoded frame's
// own size and format checked before a byte of it is converted.
//
// Why not OpenCV's VideoCapture: its FFmpeg back end sets up the colour conversion once from the codec's coded
// size and then converts each decoded picture over that size. When the decoder fails on part of a stream and
// hands back a smaller picture, the conversion reads past that picture's buffer (a heap over-read found by
// fuzz_video, docs/reliability.md). Here a picture whose size differs from the stream's is an error.
//
// The conversion is the one OpenCV makes (BGR24 through swscale, SWS_BICUBIC, 32-byte aligned rows), so frames
// are byte-identical to what the OpenCV path gave (checked on the dev set and on our own AVI / MP4 files).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "echo/error.hpp"

namespace echo::io_detail {

struct VideoStreamInfo {
  int width = 0;                      // as displayed (after the rotation below); every decoded picture must
  int height = 0;                     // have the stream's own size
  int rotation_degrees = 0;           // 0, 90, 180 or 270 clockwise, from the stream's display matrix (phones)
  std::uint64_t declared_frames = 0;  // the container's count, else duration x rate (an estimate), else 0
  double fps = 0.0;                   // FFmpeg's guess from the stream's rates; 0 when unknown
};

// The containers read_video_file accepts (any name of a demuxer's list matches): AVI, ISO base media /
// QuickTime, Matroska / WebM, ASF / WMV, MPEG program and transport streams. Raw elementary streams are not.
inline constexpr const char* kContainerDemuxers = "avi,mov,mp4,matroska,webm,asf,mpeg,mpegts";

class FfmpegVideo {
 public:
  // Opens the first video stream of `path` (attached cover pictures skipped) with one decoder thread, reading
  // the local file only through the demuxers named in `allowed_demuxers` (libavformat names, comma-separated).
  // `what` prefixes every error message ("reading 'x.avi': ").
  static Expected<FfmpegVideo> open(const std::string& path, const std::string& what,
                                    const char* allowed_demuxers = kContainerDemuxers);

  FfmpegVideo(FfmpegVideo&&) noexcept;
  FfmpegVideo& operator=(FfmpegVideo&&) noexcept;
  ~FfmpegVideo();

  const VideoStreamInfo& info() const;

  // The next frame as packed BGR, width * 3 bytes a row, into `bgr` (resized), turned upright as the display
  // matrix says (as OpenCV's CAP_PROP_ORIENTATION_AUTO did). false at the end of the
  // stream. Like OpenCV's reader, a packet the decoder refuses ends the stream and up to 64 undecodable
  // pictures are skipped; a decoded picture of another size is an error (malformed).
  Expected<bool> next_bgr(std::vector<std::uint8_t>& bgr);

 private:
  struct State;
  explicit FfmpegVideo(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The video codecs of DICOM's MPEG transfer syntaxes (PS3.5 8.2.5 to 8.2.8, 8.2.14): the Pixel Data's
// fragments, joined, are one elementary stream of all the frames.
enum class ElementaryCodec { mpeg2, h264, hevc };

// Decodes such a stream picture by picture through FFmpeg's parser and decoder (one thread, no demuxer).
// Every picture must be width x height (else malformed, nothing converted) and marked undamaged by the decoder;
// `on_frame(index, rgb)` gets each as packed RGB, width * 3 bytes a row. More than `max_frames` pictures is an
// error. Returns the number of pictures. `what` prefixes every message ("reading 'x.dcm': the H.264 stream's ").
Expected<int> decode_elementary_stream(ElementaryCodec codec, const std::uint8_t* data, std::size_t size, int width,
                                       int height, int max_frames, const std::string& what,
                                       const std::function<void(int, const std::uint8_t*)>& on_frame);

// Encodes grey frames (rows x cols bytes each, consecutive) as one elementary stream: 4:2:0 with the grey as
// limited-range luma and neutral chroma, intra frame every 6, B-frames, one thread (the same frames give the
// same bytes). MPEG-2 by libavcodec's own encoder (`quality` = its fixed quantiser, 2 best .. 31), H.264 and
// HEVC by libx264 / libx265 (`quality` = CRF, 0 best .. 51), unsupported when this FFmpeg build lacks them.
// rows and cols must be even. The stream's nominal rate is 25 fps: DICOM carries the real timing.
Expected<std::string> encode_elementary_stream(ElementaryCodec codec, const std::uint8_t* gray, int frames, int rows,
                                               int cols, int quality, const std::string& what);

}  // namespace echo::io_detail
