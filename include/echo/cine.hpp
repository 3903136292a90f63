// echo/cine.hpp: an ultrasound cine loop as every stage after ingestion sees it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "echo/image.hpp"

namespace echo {

// Where the pixel spacing came from.
enum class CalibrationSource : int {
  none = 0,                // nothing in the source gives a physical scale
  ultrasound_region = 1,   // DICOM Sequence of Ultrasound Regions (0018,6011)
  pixel_spacing = 2,       // DICOM Pixel Spacing / Imager Pixel Spacing
  caller = 3,              // given by the caller (raw buffers, command line)
  synthetic = 4,           // the phantom generator, exact by construction
};

struct Calibration {
  double mm_per_px_x = 0.0;  // 0 when unknown
  double mm_per_px_y = 0.0;
  CalibrationSource source = CalibrationSource::none;
  bool trusted = false;      // false: volumes in mL must be withheld or flagged
  std::string note;          // why it is not trusted, or which region it came from

  bool known() const { return mm_per_px_x > 0.0 && mm_per_px_y > 0.0; }
};

// One entry of the DICOM Sequence of Ultrasound Regions, as written in the file.
struct UltrasoundRegion {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // region box in pixels, inclusive (0018,6018..601E)
  int spatial_format = 0;              // 1 = 2D tissue or flow, 2 = M-mode, 3 = spectral, ...
  int data_type = 0;                   // 1 = tissue, 2 = colour flow, 3 = PW spectral, ...
  int units_x = 0;                     // 3 = cm, 4 = seconds, ... (0018,6024)
  int units_y = 0;
  double physical_delta_x = 0.0;       // in units_x per pixel, as stored
  double physical_delta_y = 0.0;
};

// Metadata that does not identify the patient.
struct CineMetadata {
  std::string source_kind;          // "dicom", "video", "image", "raw", "synthetic"
  std::string manufacturer;
  std::string model_name;
  std::string sop_class_uid;
  std::string photometric;          // DICOM photometric interpretation as read (e.g. "YBR_FULL_422")
  std::string transfer_syntax;      // name, e.g. "JPEG Baseline"
  std::string transfer_syntax_uid;
  int bits_stored = 8;
  double heart_rate_bpm = 0.0;      // 0 when absent or stated as 0
  std::vector<double> r_wave_times_ms;
  std::vector<UltrasoundRegion> regions;
  std::string timing_source;        // "FrameTime", "FrameTimeVector", "CineRate", "container", "caller", ...
  std::string view_hint;            // e.g. "a4c" when the source states it (phantoms do)
};

// Identifying data, filled only when the caller asks for it (ReadOptions::keep_identifiers).
struct PatientIdentifiers {
  std::string patient_name;
  std::string patient_id;
  std::string study_instance_uid;
};

// The original colour of one frame, kept for colour Doppler and overlay detection.
struct ColorFrame {
  int frame_index = 0;
  ImageRgb8 rgb;
};

struct Cine {
  int rows = 0;
  int cols = 0;
  std::vector<std::uint8_t> gray;           // frame_count * rows * cols bytes, 8-bit luma, row-major
  std::vector<ColorFrame> color;            // empty for grey sources; some or all frames otherwise
  std::vector<double> frame_times_ms;       // time stamp of each frame since the first, size frame_count
  Calibration calibration;
  CineMetadata metadata;
  std::optional<PatientIdentifiers> identifiers;

  int frame_count() const {
    const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
    return n == 0 ? 0 : static_cast<int>(gray.size() / n);
  }
  std::size_t frame_bytes() const { return static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols); }
  const std::uint8_t* frame(int i) const { return gray.data() + frame_bytes() * static_cast<std::size_t>(i); }
  std::uint8_t* frame(int i) { return gray.data() + frame_bytes() * static_cast<std::size_t>(i); }
  Image8 frame_image(int i) const;            // a copy of frame i
  double duration_ms() const;                 // last time stamp + one frame interval
  double mean_frame_interval_ms() const;      // 0 when fewer than two frames
  double fps() const;                         // 1000 / mean interval, 0 when unknown
};

}  // namespace echo
