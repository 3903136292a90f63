// Private helpers of the io stage, shared by its readers and writers (and visible to its tests).
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "echo/cine.hpp"
#include "common/parallel.hpp"
#include "echo/io.hpp"

namespace echo::io_detail {

// Calibration from the Sequence of Ultrasound Regions, by the rules of docs/ingestion.md.
Calibration calibration_from_regions(const std::vector<UltrasoundRegion>& regions, int rows, int cols);

// Frame time stamps (ms since the first frame) from the DICOM timing attributes, first usable source wins:
// Frame Time Vector, Frame Time, Cine Rate, Recommended Display Frame Rate. Values <= 0 mean absent.
struct TimingAttributes {
  std::vector<double> frame_time_vector_ms;
  double frame_time_ms = 0.0;
  double cine_rate_fps = 0.0;
  double recommended_display_fps = 0.0;
};
struct Timing {
  std::vector<double> frame_times_ms;  // size frame_count; all 0 when no source gives a rate
  std::string source;                  // "FrameTimeVector", "FrameTime", "CineRate", "RecommendedDisplayFrameRate", "none"
};
Timing timing_from_attributes(const TimingAttributes& attributes, int frame_count);

// Indices of the frames whose colour is kept: `max_color_frames` spread evenly (-1 = all, 0 = none).
std::vector<int> color_frame_indices(int frame_count, int max_color_frames);

// Rec.601 luma in integer arithmetic (the weights JPEG uses), rounded.
inline std::uint8_t luma_from_rgb(int r, int g, int b) {
  return static_cast<std::uint8_t>((19595 * r + 38470 * g + 7471 * b + 32768) >> 16);
}

// Full-range YCbCr (DICOM YBR_FULL) to RGB, rounded and clamped.
void ybr_full_to_rgb(int y, int cb, int cr, std::uint8_t* rgb);

using detail::parallel_for;
using detail::worker_count;

// "reading 'file.dcm': " prefix for messages.
inline std::string reading(const std::string& name) { return "reading '" + name + "': "; }

// A path given to a reader must name a regular file (or a link to one): not_found when nothing is there,
// invalid_argument for a folder, and for a FIFO, a device or a socket, whose open or read could block forever or
// never end (`echoa analyze` on a FIFO waited for a writer).
Expected<void> check_input_file(const std::string& path);

// A DICOM file as a frame source (echo/io.hpp open_frame_source), and a cine held by its source.
Expected<std::unique_ptr<FrameSource>> open_dicom_file_source(const std::string& path, const ReadOptions& options);
std::unique_ptr<FrameSource> frame_source_owning(Cine cine);

bool has_extension(const std::string& path, std::initializer_list<const char*> extensions);

}  // namespace echo::io_detail
