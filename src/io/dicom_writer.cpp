// DICOM writing: Ultrasound Multi-frame Image Storage through GDCM, built attribute by attribute with
// gdcm::Writer so that no GDCM convenience silently rewrites the regions (see TOOLCHAIN.md, SetSpacing).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <gdcmImage.h>
#include <gdcmImageChangeTransferSyntax.h>
#include <gdcmItem.h>
#include <gdcmJPEGCodec.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmWriter.h>

#include "echo/file_io.hpp"
#include "io/ffmpeg_video.hpp"
#include "io/gdcm_util.hpp"
#include "io/io_internal.hpp"

namespace echo {
namespace {

constexpr const char* kUltrasoundMultiframeSop = "1.2.840.10008.5.1.4.1.1.3.1";

std::string writing(const std::string& path) { return "writing '" + path + "': "; }

using io_detail::put_bytes;

template <class T>
std::string little_endian_bytes(T value) {
  std::string bytes(sizeof(T), '\0');
  std::uint64_t raw = 0;
  std::memcpy(&raw, &value, sizeof(T));
  for (std::size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<char>((raw >> (8 * i)) & 0xff);
  return bytes;
}

void put_us(gdcm::DataSet& ds, std::uint16_t g, std::uint16_t e, int v) {
  put_bytes(ds, g, e, gdcm::VR::US, little_endian_bytes(static_cast<std::uint16_t>(v)));
}
void put_ul(gdcm::DataSet& ds, std::uint16_t g, std::uint16_t e, std::uint32_t v) {
  put_bytes(ds, g, e, gdcm::VR::UL, little_endian_bytes(v));
}
void put_fd(gdcm::DataSet& ds, std::uint16_t g, std::uint16_t e, double v) {
  put_bytes(ds, g, e, gdcm::VR::FD, little_endian_bytes(v));
}

// A Decimal String value: the most digits that fit its 16 characters.
std::string decimal_string(double v) {
  char buf[64];
  for (int precision = 12; precision >= 1; --precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strlen(buf) <= 16) return buf;
  }
  return "0";
}

std::string join_decimals(const std::vector<double>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "\\" : "") + decimal_string(values[i]);
  return out;
}

// Deterministic UIDs: the same cine and options give the same file.
std::string derived_uid(std::uint64_t hash, int which) {
  return "2.25." + std::to_string(hash) + std::to_string(which);
}

std::uint64_t content_hash(const Cine& cine, const DicomWriteOptions& options) {
  std::uint64_t h = 1469598103934665603ULL;
  const auto mix = [&h](const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  };
  mix(cine.gray.data(), cine.gray.size());
  mix(&cine.rows, sizeof cine.rows);
  mix(&cine.cols, sizeof cine.cols);
  mix(options.patient_id.data(), options.patient_id.size());
  const int compression = static_cast<int>(options.compression);
  mix(&compression, sizeof compression);
  return h % 10000000000000000000ULL;  // keeps the UID under 64 characters
}

std::vector<UltrasoundRegion> regions_to_write(const Cine& cine) {
  if (!cine.metadata.regions.empty()) return cine.metadata.regions;
  if (!cine.calibration.known()) return {};
  UltrasoundRegion r;
  r.x0 = 0;
  r.y0 = 0;
  r.x1 = cine.cols - 1;
  r.y1 = cine.rows - 1;
  r.spatial_format = 1;
  r.data_type = 1;
  r.units_x = 3;
  r.units_y = 3;
  r.physical_delta_x = cine.calibration.mm_per_px_x / 10.0;
  r.physical_delta_y = cine.calibration.mm_per_px_y / 10.0;
  return {r};
}

void put_regions(gdcm::DataSet& ds, const std::vector<UltrasoundRegion>& regions) {
  if (regions.empty()) return;
  gdcm::SmartPointer<gdcm::SequenceOfItems> sequence = new gdcm::SequenceOfItems();
  sequence->SetLengthToUndefined();
  for (const auto& r : regions) {
    gdcm::Item item;
    item.SetVLToUndefined();
    gdcm::DataSet& nested = item.GetNestedDataSet();
    put_us(nested, 0x0018, 0x6012, r.spatial_format);
    put_us(nested, 0x0018, 0x6014, r.data_type);
    put_ul(nested, 0x0018, 0x6016, 0);
    put_ul(nested, 0x0018, 0x6018, static_cast<std::uint32_t>(std::max(r.x0, 0)));
    put_ul(nested, 0x0018, 0x601a, static_cast<std::uint32_t>(std::max(r.y0, 0)));
    put_ul(nested, 0x0018, 0x601c, static_cast<std::uint32_t>(std::max(r.x1, 0)));
    put_ul(nested, 0x0018, 0x601e, static_cast<std::uint32_t>(std::max(r.y1, 0)));
    put_us(nested, 0x0018, 0x6024, r.units_x);
    put_us(nested, 0x0018, 0x6026, r.units_y);
    put_fd(nested, 0x0018, 0x602c, r.physical_delta_x);
    put_fd(nested, 0x0018, 0x602e, r.physical_delta_y);
    sequence->AddItem(item);
  }
  gdcm::DataElement de(gdcm::Tag(0x0018, 0x6011));
  de.SetVR(gdcm::VR::SQ);
  de.SetValue(*sequence);
  de.SetVLToUndefined();
  ds.Replace(de);
}

// Frame Time when the intervals are regular, else Frame Time Vector; returns the tag the Frame Increment
// Pointer names (0 when the cine has no timing).
std::uint32_t put_timing(gdcm::DataSet& ds, const Cine& cine) {
  const auto& t = cine.frame_times_ms;
  const int n = cine.frame_count();
  if (n < 2 || static_cast<int>(t.size()) != n || !(cine.mean_frame_interval_ms() > 0.0)) return 0;
  const double mean = cine.mean_frame_interval_ms();
  std::vector<double> steps{0.0};
  bool regular = true;
  for (int i = 1; i < n; ++i) {
    const double step = t[static_cast<std::size_t>(i)] - t[static_cast<std::size_t>(i) - 1];
    steps.push_back(step);
    if (std::fabs(step - mean) > 1e-6 * std::max(1.0, mean)) regular = false;
  }
  if (regular) {
    put_bytes(ds, 0x0018, 0x1063, gdcm::VR::DS, decimal_string(mean));
    put_bytes(ds, 0x0018, 0x0040, gdcm::VR::IS, std::to_string(std::lround(1000.0 / mean)));
    return 0x00181063u;
  }
  put_bytes(ds, 0x0018, 0x1065, gdcm::VR::DS, join_decimals(steps));
  return 0x00181065u;
}

struct PixelPayload {
  std::string bytes;
  bool colour = false;
};

PixelPayload native_pixels(const Cine& cine, bool colour) {
  PixelPayload p;
  p.colour = colour;
  if (!colour) {
    p.bytes.assign(cine.gray.begin(), cine.gray.end());
    return p;
  }
  std::vector<const ColorFrame*> by_index(static_cast<std::size_t>(cine.frame_count()), nullptr);
  for (const auto& cf : cine.color) by_index[static_cast<std::size_t>(cf.frame_index)] = &cf;
  p.bytes.reserve(cine.frame_bytes() * 3 * by_index.size());
  for (const ColorFrame* cf : by_index) p.bytes.append(cf->rgb.pixels.begin(), cf->rgb.pixels.end());
  return p;
}

bool every_frame_has_colour(const Cine& cine) {
  const int n = cine.frame_count();
  if (static_cast<int>(cine.color.size()) != n) return false;
  std::vector<bool> seen(static_cast<std::size_t>(n), false);
  for (const auto& cf : cine.color) {
    if (cf.frame_index < 0 || cf.frame_index >= n || seen[static_cast<std::size_t>(cf.frame_index)]) return false;
    if (cf.rgb.width != cine.cols || cf.rgb.height != cine.rows || cf.rgb.pixels.size() != cine.frame_bytes() * 3) return false;
    seen[static_cast<std::size_t>(cf.frame_index)] = true;
  }
  return true;
}

gdcm::TransferSyntax target_syntax(const DicomWriteOptions& o) {
  switch (o.compression) {
    case DicomCompression::none:
      return o.big_endian ? gdcm::TransferSyntax::ExplicitVRBigEndian : gdcm::TransferSyntax::ExplicitVRLittleEndian;
    case DicomCompression::jpeg_baseline: return gdcm::TransferSyntax::JPEGBaselineProcess1;
    case DicomCompression::jpeg_lossless: return gdcm::TransferSyntax::JPEGLosslessProcess14_1;
    case DicomCompression::jpeg_ls: return gdcm::TransferSyntax::JPEGLSLossless;
    case DicomCompression::jpeg2000: return gdcm::TransferSyntax::JPEG2000Lossless;
    case DicomCompression::rle: return gdcm::TransferSyntax::RLELossless;
    case DicomCompression::h264: return gdcm::TransferSyntax::MPEG4AVCH264HighProfileLevel4_1;
  }
  return gdcm::TransferSyntax::ExplicitVRLittleEndian;
}

bool is_mpeg(DicomCompression compression) { return compression == DicomCompression::h264; }

struct EncodedPixels {
  gdcm::DataElement pixel_data;
  gdcm::PhotometricInterpretation photometric;
  unsigned planar_configuration = 0;
};

// The grey loop as one H.264 stream in one fragment (PS3.5 8.2.7), after an empty offset table.
Expected<EncodedPixels> encode_mpeg(const Cine& cine, const DicomWriteOptions& o, const std::string& path) {
  const int crf = 5 + (100 - std::clamp(o.jpeg_quality, 1, 100)) / 2;
  auto stream = io_detail::encode_elementary_stream(io_detail::ElementaryCodec::h264, cine.gray.data(), cine.frame_count(),
                                                    cine.rows, cine.cols, crf, writing(path));
  if (!stream) return tl::unexpected(stream.error());
  if (stream->size() % 2 != 0) stream->push_back('\0');
  if (stream->size() > 0xFFFFFFF0ULL) return make_error(ErrorCode::too_large, writing(path) + "the stream does not fit in one fragment");
  gdcm::SmartPointer<gdcm::SequenceOfFragments> fragments = new gdcm::SequenceOfFragments;
  gdcm::Fragment fragment;
  fragment.SetByteValue(stream->data(), static_cast<std::uint32_t>(stream->size()));
  fragments->AddFragment(fragment);
  EncodedPixels out;
  out.pixel_data = gdcm::DataElement(gdcm::Tag(0x7fe0, 0x0010), gdcm::VL(0xFFFFFFFF), gdcm::VR::OB);
  out.pixel_data.SetValue(*fragments);
  out.photometric = gdcm::PhotometricInterpretation::YBR_PARTIAL_420;
  return out;
}

Expected<EncodedPixels> encode_pixels(const Cine& cine, const PixelPayload& payload, const DicomWriteOptions& o,
                                      const std::string& path) {
  // GDCM filters hold their input by reference count: a stack Image would be deleted by the filter.
  gdcm::SmartPointer<gdcm::Image> image_holder = new gdcm::Image;
  gdcm::Image& image = *image_holder;
  image.SetNumberOfDimensions(3);
  image.SetDimension(0, static_cast<unsigned>(cine.cols));
  image.SetDimension(1, static_cast<unsigned>(cine.rows));
  image.SetDimension(2, static_cast<unsigned>(cine.frame_count()));
  gdcm::PixelFormat pf(gdcm::PixelFormat::UINT8);
  pf.SetSamplesPerPixel(payload.colour ? 3 : 1);
  image.SetPixelFormat(pf);
  image.SetPhotometricInterpretation(payload.colour ? gdcm::PhotometricInterpretation::RGB
                                                    : gdcm::PhotometricInterpretation::MONOCHROME2);
  image.SetPlanarConfiguration(0);
  image.SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
  gdcm::DataElement pixel_data(gdcm::Tag(0x7fe0, 0x0010));
  pixel_data.SetVR(gdcm::VR::OB);
  pixel_data.SetByteValue(payload.bytes.data(), static_cast<std::uint32_t>(payload.bytes.size()));
  image.SetDataElement(pixel_data);

  EncodedPixels out;
  if (is_mpeg(o.compression)) return encode_mpeg(cine, o, path);
  if (o.compression == DicomCompression::none) {
    out.pixel_data = pixel_data;
    out.photometric = image.GetPhotometricInterpretation();
    return out;
  }
  gdcm::ImageChangeTransferSyntax change;
  change.SetInput(image);
  change.SetTransferSyntax(target_syntax(o));
  gdcm::JPEGCodec jpeg;
  if (o.compression == DicomCompression::jpeg_baseline) {
    jpeg.SetLossless(false);
    jpeg.SetQuality(std::clamp(o.jpeg_quality, 1, 100));
    change.SetUserCodec(&jpeg);
  }
  if (!change.Change()) {
    return make_error(ErrorCode::internal, writing(path) + "GDCM could not encode the pixels as " +
                                               dicom_compression_name(o.compression));
  }
  const gdcm::Image& encoded = change.GetOutput();
  out.pixel_data = encoded.GetDataElement();
  out.photometric = encoded.GetPhotometricInterpretation();
  if (o.compression == DicomCompression::jpeg_baseline && payload.colour) {
    // libjpeg transforms RGB to YCbCr (chroma subsampled) but GDCM labels the result RGB, and then decodes
    // it without the inverse transform. The stream is YCbCr: say so, as the standard asks for lossy colour.
    out.photometric = gdcm::PhotometricInterpretation::YBR_FULL_422;
  }
  out.planar_configuration = encoded.GetPlanarConfiguration();
  return out;
}

Expected<void> validate(const Cine& cine, const std::string& path) {
  if (cine.rows <= 0 || cine.cols <= 0 || cine.rows > 65535 || cine.cols > 65535 || cine.gray.empty() ||
      cine.gray.size() % cine.frame_bytes() != 0) {
    return make_error(ErrorCode::invalid_argument, writing(path) + "the cine has no frames or inconsistent sizes");
  }
  if (!cine.frame_times_ms.empty() && static_cast<int>(cine.frame_times_ms.size()) != cine.frame_count()) {
    return make_error(ErrorCode::invalid_argument, writing(path) + "frame_times_ms does not have one entry per frame");
  }
  if (cine.gray.size() > 0xFFFFFFF0ULL / 3) {
    return make_error(ErrorCode::too_large, writing(path) + "pixel data beyond the 4 GiB a DICOM element can hold");
  }
  return {};
}

Expected<void> write_dicom(const Cine& cine, const std::string& path, const DicomWriteOptions& options) {
  if (auto ok = validate(cine, path); !ok) return ok;
  if (options.big_endian && options.compression != DicomCompression::none) {
    return make_error(ErrorCode::invalid_argument, writing(path) + "big endian is only defined for uncompressed data");
  }
  const bool mpeg = is_mpeg(options.compression);  // grey only, as 4:2:0 colour samples
  const PixelPayload payload = native_pixels(cine, !mpeg && options.write_color && every_frame_has_colour(cine));
  auto encoded = encode_pixels(cine, payload, options, path);
  if (!encoded) return tl::unexpected(encoded.error());

  gdcm::Writer writer;
  gdcm::DataSet& ds = writer.GetFile().GetDataSet();
  const std::uint64_t hash = content_hash(cine, options);
  put_bytes(ds, 0x0008, 0x0008, gdcm::VR::CS, "DERIVED\\PRIMARY");
  put_bytes(ds, 0x0008, 0x0016, gdcm::VR::UI, kUltrasoundMultiframeSop);
  put_bytes(ds, 0x0008, 0x0018, gdcm::VR::UI, derived_uid(hash, 3));
  put_bytes(ds, 0x0008, 0x0060, gdcm::VR::CS, "US");
  put_bytes(ds, 0x0008, 0x0070, gdcm::VR::LO, cine.metadata.manufacturer);
  put_bytes(ds, 0x0008, 0x1090, gdcm::VR::LO, cine.metadata.model_name);
  if (!cine.metadata.view_hint.empty()) put_bytes(ds, 0x0008, 0x2127, gdcm::VR::SH, cine.metadata.view_hint);
  put_bytes(ds, 0x0010, 0x0010, gdcm::VR::PN, options.patient_name);
  put_bytes(ds, 0x0010, 0x0020, gdcm::VR::LO, options.patient_id);
  if (cine.metadata.heart_rate_bpm > 0.0) {
    put_bytes(ds, 0x0018, 0x1088, gdcm::VR::IS, std::to_string(std::lround(cine.metadata.heart_rate_bpm)));
  }
  const std::uint32_t increment_tag = put_timing(ds, cine);
  if (!cine.metadata.r_wave_times_ms.empty()) {
    std::string bytes;
    for (double t : cine.metadata.r_wave_times_ms) bytes += little_endian_bytes(static_cast<float>(t));
    put_bytes(ds, 0x0018, 0x6060, gdcm::VR::FL, bytes);
  }
  put_regions(ds, regions_to_write(cine));
  put_bytes(ds, 0x0020, 0x000d, gdcm::VR::UI, derived_uid(hash, 1));
  put_bytes(ds, 0x0020, 0x000e, gdcm::VR::UI, derived_uid(hash, 2));
  put_bytes(ds, 0x0020, 0x0013, gdcm::VR::IS, "1");

  put_us(ds, 0x0028, 0x0002, payload.colour || mpeg ? 3 : 1);
  const char* pi = gdcm::PhotometricInterpretation::GetPIString(encoded->photometric);
  put_bytes(ds, 0x0028, 0x0004, gdcm::VR::CS, pi ? pi : "MONOCHROME2");
  if (payload.colour || mpeg) put_us(ds, 0x0028, 0x0006, static_cast<int>(encoded->planar_configuration));
  put_bytes(ds, 0x0028, 0x0008, gdcm::VR::IS, std::to_string(cine.frame_count()));
  if (increment_tag != 0) {
    put_bytes(ds, 0x0028, 0x0009, gdcm::VR::AT,
              little_endian_bytes(static_cast<std::uint16_t>(increment_tag >> 16)) +
                  little_endian_bytes(static_cast<std::uint16_t>(increment_tag & 0xffff)));
  }
  put_us(ds, 0x0028, 0x0010, cine.rows);
  put_us(ds, 0x0028, 0x0011, cine.cols);
  put_us(ds, 0x0028, 0x0100, 8);
  put_us(ds, 0x0028, 0x0101, 8);
  put_us(ds, 0x0028, 0x0102, 7);
  put_us(ds, 0x0028, 0x0103, 0);
  if (options.compression == DicomCompression::jpeg_baseline || mpeg) {
    put_bytes(ds, 0x0028, 0x2110, gdcm::VR::CS, "01");
    put_bytes(ds, 0x0028, 0x2114, gdcm::VR::CS, mpeg ? "ISO_14496_10" : "ISO_10918_1");
  }
  ds.Replace(encoded->pixel_data);

  gdcm::FileMetaInformation& header = writer.GetFile().GetHeader();
  header.SetDataSetTransferSyntax(target_syntax(options));
  // Encoded in memory (this GDCM build asserts in SetFileName when a file cannot be opened), then written all
  // or nothing (echo/file_io.hpp).
  std::ostringstream out(std::ios::binary);
  writer.SetStream(out);
  if (!writer.Write()) return make_error(ErrorCode::io_failed, writing(path) + "GDCM could not write the data set");
  const std::string bytes = out.str();
  out.str(std::string());  // one copy of a large cine in memory, not two
  if (auto written = write_file_atomically(path, bytes); !written) return written;
  return {};
}

}  // namespace

const char* dicom_compression_name(DicomCompression compression) noexcept {
  switch (compression) {
    case DicomCompression::none: return "none";
    case DicomCompression::jpeg_baseline: return "jpeg_baseline";
    case DicomCompression::jpeg_lossless: return "jpeg_lossless";
    case DicomCompression::jpeg_ls: return "jpeg_ls";
    case DicomCompression::jpeg2000: return "jpeg2000";
    case DicomCompression::rle: return "rle";
    case DicomCompression::h264: return "h264";
  }
  return "unknown";
}

Expected<void> write_dicom_file(const Cine& cine, const std::string& path, const DicomWriteOptions& options) {
  io_detail::silence_gdcm();
  try {
    return write_dicom(cine, path, options);
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::out_of_memory, writing(path) + "out of memory");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal, writing(path) + "DICOM encoding failed (" + e.what() + ")");
  } catch (...) {
    return make_error(ErrorCode::internal, writing(path) + "DICOM encoding failed");
  }
}

}  // namespace echo
