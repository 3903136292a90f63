// echo/io.hpp: ingestion (DICOM, video, still images, raw scanner buffers) and the DICOM / video writers.
// Every function returns echo::Expected; no exception leaves it. No GDCM or OpenCV type appears here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "echo/cine.hpp"
#include "echo/error.hpp"
#include "echo/image.hpp"

namespace echo {

struct ReadOptions {
  // Declared frames*rows*cols beyond this -> ErrorCode::too_large, refused before the pixels are allocated.
  std::uint64_t max_total_pixels = 2'000'000'000ULL / 4;
  // Original colour kept for up to this many frames spread evenly over the cine (-1 = all, 0 = none).
  int max_color_frames = 8;
  bool keep_identifiers = false;  // fill Cine::identifiers only when true
  // Threads used to decode compressed frames (0 = all hardware threads). The result does not depend on it.
  int decode_threads = 0;
  // JPEG baseline only: decode the fragments with libjpeg-turbo through OpenCV (fast, luma-only for frames
  // whose colour is not kept) instead of GDCM's own codec. Both give the same luma within +-1 grey level.
  bool fast_jpeg = true;
};

// DICOM from a file or from memory (the buffer is only read during the call).
Expected<Cine> read_dicom_file(const std::string& path, const ReadOptions& options = {});
Expected<Cine> read_dicom_buffer(const void* data, std::size_t size, const ReadOptions& options = {},
                                 const std::string& name = "<memory>");
// AVI / MP4 (and whatever else the OpenCV back end opens) with the container's frame rate.
Expected<Cine> read_video_file(const std::string& path, const ReadOptions& options = {});
// PNG / JPEG / BMP / TIFF still image: a one-frame cine.
Expected<Cine> read_image_file(const std::string& path, const ReadOptions& options = {});
// Dispatch: DICOM by content (the "DICM" preamble, or a successful parse), else video / image by extension.
Expected<Cine> read_file(const std::string& path, const ReadOptions& options = {});

// A cine whose frames are decoded one at a time, on demand, so that a caller (the analyzer) can stream them
// through preprocessing instead of holding every full-size frame. A DICOM file or buffer in JPEG Baseline
// is decoded frame by frame from its compressed fragments; any other input is read whole by the readers
// above and served from memory. Frames come out exactly as the whole-cine reader gives them.
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The cine without its pixels (gray and color empty): size, times, calibration, metadata, identifiers.
  const Cine& header() const { return header_; }
  int frame_count() const { return frame_count_; }
  // The frames whose original colour the whole-cine reader keeps (Cine::color), ascending; empty when grey.
  const std::vector<int>& color_frames() const { return color_frames_; }
  // Frame `index`'s 8-bit luma, rows * cols bytes. May be called from several threads at once.
  virtual Expected<void> read_luma(int index, std::uint8_t* gray) const = 0;
  // The kept colour of a frame of color_frames(): rows * cols * 3 bytes, RGB.
  virtual Expected<void> read_rgb(int index, std::uint8_t* rgb) const = 0;

 protected:
  Cine header_;
  int frame_count_ = 0;
  std::vector<int> color_frames_;
};

// Opens `path` as read_file does; errors are read_file's (a JPEG frame that does not decode is found only
// when it is read).
Expected<std::unique_ptr<FrameSource>> open_frame_source(const std::string& path, const ReadOptions& options = {});
// A DICOM buffer; it must outlive the source (frames are decoded from it when they are read).
Expected<std::unique_ptr<FrameSource>> open_dicom_buffer_source(const void* data, std::size_t size,
                                                                const ReadOptions& options = {},
                                                                const std::string& name = "<memory>");
// A cine already in memory (borrowed: it must outlive the source).
std::unique_ptr<FrameSource> frame_source_of(const Cine& cine);

// Raw scanner buffers (borrowed for the call): converted to 8-bit luma (Rec.601 weights for colour);
// GRAY16 is scaled by bits_stored (value >> (bits_stored - 8)). Bad dims, stride or null data ->
// ErrorCode::invalid_argument.
Expected<Image8> frame_to_gray8(const FrameView& frame, int bits_stored = 16);
Expected<Cine> cine_from_frames(const FrameView* frames, int frame_count,
                                const double* frame_times_ms /*nullable*/, double fps_if_no_times,
                                const Calibration& calibration, const ReadOptions& options = {},
                                int gray16_bits_stored = 16);

// h264 writes the grey loop as one 4:2:0 H.264 High Profile 4.1 stream (YBR_PARTIAL_420, through libx264 when
// FFmpeg has it; even rows and columns). No MPEG-2: DICOM allows its syntaxes at 25 and 30 fps only.
enum class DicomCompression { none, jpeg_baseline, jpeg_lossless, jpeg_ls, jpeg2000, rle, h264 };

struct DicomWriteOptions {
  DicomCompression compression = DicomCompression::jpeg_baseline;
  int jpeg_quality = 90;      // also the H.264 quality: CRF 5 + (100 - q) / 2
  bool write_color = false;  // write RGB (YBR_FULL_422 for JPEG baseline) from Cine::color when every frame has colour
  std::string patient_name = "PHANTOM^SYNTHETIC";  // clearly synthetic, non-identifying
  std::string patient_id = "SYNTH-0000";
  bool big_endian = false;   // compression == none only: Explicit VR Big Endian (for tests of that syntax)
};

// Ultrasound Multi-frame Image Storage with the Sequence of Ultrasound Regions from cine.metadata.regions
// (or one 2D tissue region covering the image, built from cine.calibration, when regions are empty and the
// calibration is known), Frame Time (or Frame Time Vector when irregular), Heart Rate, R Wave Time Vector,
// manufacturer and model from the metadata.
Expected<void> write_dicom_file(const Cine& cine, const std::string& path, const DicomWriteOptions& options = {});
// .avi (MJPG) or .mp4 (mp4v) by extension; frame rate from the frame times (25 fps when unknown).
Expected<void> write_video_file(const Cine& cine, const std::string& path);

// Name of a DICOM compression ("jpeg_baseline", ...), for logs and benchmarks.
const char* dicom_compression_name(DicomCompression compression) noexcept;

}  // namespace echo
