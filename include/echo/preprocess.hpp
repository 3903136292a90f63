// echo/preprocess.hpp: the ultrasound sector, colour findings, and the model-ready frames with the exact
// mapping between model pixels, original pixels and millimetres.
//
// Coordinates: x to the right, y down, (0,0) the centre of the top-left pixel (see echo/image.hpp).
// Every function returns echo::Expected or a plain value; no exception leaves it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "echo/cine.hpp"
#include "echo/error.hpp"
#include "echo/image.hpp"

namespace echo {

// The imaging sector (fan) of an ultrasound cine.
//
// A fan is the set of pixels p with start_radius_px <= |p - apex_px| <= radius_px and
// left_angle_rad <= angle(p) <= right_angle_rad, where angle(p) = atan2(p.x - apex.x, p.y - apex.y) is
// measured from straight down, positive towards +x (so a symmetric fan has left = -right). The apex may
// lie outside the image (probes whose top is cut off). A linear (rectangular) region is stored with
// left = right = 0 and the mask is its box; `fan` tells which.
struct SectorGeometry {
  bool found = false;
  std::string source = "none";        // "ultrasound_region", "image", "none"
  bool fan = false;                   // true: the mask is the fitted fan; false: a box or the whole image
  Point2 apex_px;
  double radius_px = 0.0;
  double start_radius_px = 0.0;
  double left_angle_rad = 0.0;
  double right_angle_rad = 0.0;
  int box_x0 = 0, box_y0 = 0, box_x1 = -1, box_y1 = -1;  // bounding box of the mask, inclusive
  Image8 mask;                        // original size, 255 inside the sector, 0 outside
  double mask_fraction = 0.0;         // sector pixels / image pixels
  std::string note;                   // why a region was not trusted, why the image fit failed, ...

  int box_width() const { return box_x1 - box_x0 + 1; }
  int box_height() const { return box_y1 - box_y0 + 1; }
};

// Options of the image-based sector detector (defaults suit 8-bit B-mode of any size).
struct SectorOptions {
  int max_frames_sampled = 32;          // frames spread evenly over the cine used for the change map
  int change_threshold = 4;             // grey levels: max-min over the sampled frames above this = "changes"
  int bright_threshold = 6;             // grey levels of the (blurred) mean image for single-frame cines
  double min_sector_fraction = 0.05;    // a region smaller than this fraction of the image is no sector
  bool use_ultrasound_regions = true;   // trust a 2D ultrasound region that fits inside the image
  // Pixels are classified at full size, but the region (morphology, hull, fan fit) is searched on a copy
  // reduced by the largest factor (1, 2 or 4) that keeps the search box's shorter side at least this many
  // pixels (240: a 640x480 cine is searched at 320x240); 0 = always at full size.
  int min_search_side_px = 240;
};

// Trusted 2D ultrasound region when the file has one that fits inside the image (the fan is then fitted
// inside that box), else from the image itself: pixels that change over the cine (or, for one frame, bright
// pixels), the largest connected region with its holes filled, and a fan fitted to its straight sides and
// its radial extent. When nothing is found: found=false, source "none", mask = the whole image.
SectorGeometry detect_sector(const Cine& cine, const SectorOptions& options = {});

// The frames detect_sector reads of a cine of `frame_count` frames, evenly spread.
std::vector<int> sector_sample_frames(int frame_count, const SectorOptions& options = {});

// All that detect_sector reads of the pixels: the per-pixel lowest, highest and sum of the sampled frames,
// accumulated one frame at a time (in sector_sample_frames order) by a caller that streams the frames.
class SectorSamples {
 public:
  SectorSamples(int rows, int cols);
  void add(const std::uint8_t* frame);  // rows * cols bytes
  int rows() const { return rows_; }
  int cols() const { return cols_; }
  int count() const { return count_; }
  const std::vector<std::uint8_t>& lowest() const { return lowest_; }
  const std::vector<std::uint8_t>& highest() const { return highest_; }
  const std::vector<float>& sum() const { return sum_; }

 private:
  int rows_ = 0, cols_ = 0, count_ = 0;
  std::vector<std::uint8_t> lowest_, highest_;
  std::vector<float> sum_;
};

// The same sector from the samples; `cine` gives only the size, the regions and the calibration.
SectorGeometry detect_sector(const Cine& cine, const SectorSamples& samples, const SectorOptions& options = {});

// Renders a fan (apex, radii, angles) into a mask of the given size; used by detect_sector and tests.
Image8 render_fan_mask(int width, int height, Point2 apex_px, double start_radius_px, double radius_px,
                       double left_angle_rad, double right_angle_rad);

struct ColorOptions {
  int chroma_threshold = 40;            // max(R,G,B) - min(R,G,B) at or above this = a coloured pixel
  double doppler_min_fraction = 0.01;   // coloured fraction of the sector at or above this = colour Doppler
};

struct ColorFindings {
  double doppler_fraction_in_sector = 0.0;      // coloured pixels / sector pixels, mean over colour frames
  bool doppler_present = false;
  double overlay_color_fraction_outside = 0.0;  // coloured pixels / pixels outside the sector
  int color_frames_examined = 0;                // 0: the source had no colour (grey), nothing to find
};

// Uses Cine::color (the frames whose original colour the reader kept).
ColorFindings detect_color(const Cine& cine, const SectorGeometry& sector, const ColorOptions& options = {});

// The same one colour frame at a time, for a caller that streams them (in Cine::color order).
class ColorAccumulator {
 public:
  ColorAccumulator(const SectorGeometry& sector, int rows, int cols, const ColorOptions& options = {});
  void add(const std::uint8_t* rgb);  // rows * cols * 3 bytes
  ColorFindings findings() const;

 private:
  const SectorGeometry& sector_;
  int rows_, cols_;
  ColorOptions options_;
  double inside_sum_ = 0.0, outside_sum_ = 0.0;
  int frames_ = 0;
};

// Model input contract (the model is trained with exactly this):
//  1. crop box = the sector's bounding box made square by extending its shorter side symmetrically
//     (the extra pixel, when the difference is odd, goes to the right / bottom); area outside the image is 0;
//  2. pixels outside the sector mask are set to 0;
//  3. resized to input_size x input_size on float values (no rounding to 8 bits), exactly as OpenCV's
//     cv::resize of a CV_32F image with INTER_AREA when shrinking and INTER_LINEAR when enlarging
//     (half-pixel centres), see docs/quality.md;
//  4. value = (v / 255 - mean) / std.
struct ModelInputSpec {
  int input_size = 112;
  float mean = 0.0f;
  float std = 1.0f;
};

// original pixel (x, y) = offset + model pixel * scale, both in the pixel-centre convention of
// echo/image.hpp: model pixel centre i lies at original x = crop_x0 - 0.5 + (i + 0.5) * side / input_size,
// so scale = side / input_size and offset = crop_x0 - 0.5 + 0.5 * scale.
struct ModelMapping {
  double scale_x = 1.0, scale_y = 1.0;
  double offset_x = 0.0, offset_y = 0.0;
  int crop_x0 = 0, crop_y0 = 0, crop_side = 0;   // the square crop box in original pixels (may leave the image)

  Point2 to_original(Point2 model_px) const { return {offset_x + model_px.x * scale_x, offset_y + model_px.y * scale_y}; }
  Point2 to_model(Point2 original_px) const {
    return {(original_px.x - offset_x) / scale_x, (original_px.y - offset_y) / scale_y};
  }
};

// The square crop and mapping of a sector for a given spec (what preprocess uses).
ModelMapping make_model_mapping(const SectorGeometry& sector, const ModelInputSpec& spec);

struct Preprocessed {
  SectorGeometry sector;
  ColorFindings color;
  ModelInputSpec spec;
  ModelMapping mapping;
  int frame_count = 0;
  std::vector<float> model_input;      // frame_count * input_size * input_size, NCHW with C = 1
  double mm_per_px_model_x = 0.0;      // physical size of a model pixel (0 when calibration unknown)
  double mm_per_px_model_y = 0.0;

  const float* model_frame(int i) const {
    return model_input.data() + static_cast<std::size_t>(i) * spec.input_size * spec.input_size;
  }
};

// How preprocess finds the sector and spreads its work; the result does not depend on `threads`.
struct PreprocessOptions {
  SectorOptions sector;
  ColorOptions color;
  int threads = 0;                      // frames resampled on this many threads (0 = all hardware threads)
};

// Bad input (no frames, pixel buffer of the wrong size, input_size outside [8, 1024], std <= 0)
// -> ErrorCode::invalid_argument. A cine without a detectable sector is still preprocessed (whole image,
// sector.found = false) so that the quality gate can say why it is refused.
Expected<Preprocessed> preprocess(const Cine& cine, const ModelInputSpec& spec = {});
Expected<Preprocessed> preprocess(const Cine& cine, const ModelInputSpec& spec, const PreprocessOptions& options);

// Everything preprocess() gives but the model input and the colour findings, for a caller that streams
// the frames: the sector from `samples` of a cine of `frame_count` frames (`header` gives its size, times,
// calibration and metadata). The result has frame_count set and model_input empty (to be filled with
// preprocess_frame) and `color` to be set with a ColorAccumulator. Same errors as preprocess().
Expected<Preprocessed> prepare_sector(const Cine& header, int frame_count, const SectorSamples& samples,
                                      const ModelInputSpec& spec, const PreprocessOptions& options);

// One frame (streaming): prepare the sector and the mapping once, then call this per frame. `out` holds
// input_size * input_size floats. Returns false (and zeroes `out`) when the frame does not have the size of
// sector.mask or the mapping is empty.
bool preprocess_frame(const std::uint8_t* gray, int rows, int cols, const SectorGeometry& sector,
                      const ModelMapping& mapping, const ModelInputSpec& spec, float* out);

}  // namespace echo
