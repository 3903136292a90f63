// DICOM reading through GDCM, with libjpeg-turbo (TurboJPEG) for 8-bit JPEG frames and our own lossless decoders.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <streambuf>

#include <fcntl.h>
#include <unistd.h>

#include <gdcmImageReader.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmSequenceOfItems.h>
#include <turbojpeg.h>

#include "io/gdcm_util.hpp"
#include "io/dicom_structure.hpp"
#include "io/ffmpeg_video.hpp"
#include "io/io_internal.hpp"
#include "io/jpeg_check.hpp"
#include "io/lossless_decode.hpp"

namespace echo {
namespace {

using io_detail::reading;

// The JPEG DCT processes (1.2.840.10008.1.2.4.50 baseline, .51 extended, the retired .52-.56 and .59-.64):
// 8-bit samples of these are decoded by libjpeg-turbo, never by GDCM's IJG codec, which calls assert(0) when
// libjpeg warns about a damaged scan. A one-bit change turns ".50" into ".52", so the retired ones count too.
bool is_jpeg_dct_syntax(const std::string& uid) {
  static const std::string kPrefix = "1.2.840.10008.1.2.4.";
  if (uid.size() != kPrefix.size() + 2 || uid.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  const std::string process = uid.substr(kPrefix.size());
  return (process >= "50" && process <= "56") || (process >= "59" && process <= "64");
}

using io_detail::MemoryBuffer;

// Where the bytes come from: a file path or caller memory. Each open() gives a fresh stream at offset 0.
struct Source {
  std::string name;
  std::string path;                 // empty for memory
  const char* data = nullptr;
  std::size_t size = 0;

  std::unique_ptr<std::istream> open(std::unique_ptr<MemoryBuffer>& buffer) const {
    if (!path.empty()) return std::make_unique<std::ifstream>(path, std::ios::binary);
    buffer = std::make_unique<MemoryBuffer>(data, size);
    return std::make_unique<std::istream>(buffer.get());
  }
};

// MPEG transfer syntaxes that GDCM 3.0 does not know (H.264 level 4.2 for 2D / 3D video and stereo, HEVC Main
// and Main 10): GDCM refuses to parse such a file at all. Their data sets are encoded as every encapsulated
// syntax is (Explicit VR Little Endian), so GDCM parses them under the name of one it knows, of the same length,
// and the true UID is put back into the file meta information afterwards.
constexpr const char* kMpegSyntaxGdcmParsesAs = "1.2.840.10008.1.2.4.102";
bool is_mpeg_syntax_gdcm_lacks(const std::string& uid) {
  static const char* const kLacking[] = {"1.2.840.10008.1.2.4.104", "1.2.840.10008.1.2.4.105", "1.2.840.10008.1.2.4.106",
                                         "1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.108"};
  return std::find(std::begin(kLacking), std::end(kLacking), uid) != std::end(kLacking);
}

// Where the file meta group's Transfer Syntax UID (0002,0010) lies, and its value; nullopt when the stream has
// no "DICM" meta group or no such element within its first 64 KiB. Leaves `in` cleared at offset 0.
struct MetaSyntax {
  std::size_t value_offset = 0;
  std::size_t value_length = 0;
  std::string uid;  // trailing NUL / space padding removed
};
std::optional<MetaSyntax> find_meta_transfer_syntax(std::istream& in) {
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  in.clear();
  in.seekg(0);
  if (head.size() < 132 || head.compare(128, 4, "DICM") != 0) return std::nullopt;
  const auto u16 = [&](std::size_t at) { return static_cast<unsigned>(static_cast<unsigned char>(head[at]) | static_cast<unsigned char>(head[at + 1]) << 8); };
  std::size_t at = 132;
  while (at + 8 <= head.size() && u16(at) == 0x0002) {
    const unsigned element = u16(at + 2);
    const std::string vr = head.substr(at + 4, 2);
    const bool long_form = vr == "OB" || vr == "OW" || vr == "OF" || vr == "SQ" || vr == "UT" || vr == "UN";
    std::size_t length = long_form ? 0 : u16(at + 6);
    std::size_t value = at + 8;
    if (long_form) {
      if (at + 12 > head.size()) return std::nullopt;
      length = u16(at + 8) | static_cast<std::size_t>(u16(at + 10)) << 16;
      value = at + 12;
    }
    if (value + length > head.size()) return std::nullopt;
    if (element == 0x0010) {
      MetaSyntax found{value, length, head.substr(value, length)};
      while (!found.uid.empty() && (found.uid.back() == '\0' || found.uid.back() == ' ')) found.uid.pop_back();
      return found;
    }
    at = value + length;
  }
  return std::nullopt;
}

// Why GDCM refused the file, for a message that names the reason rather than a library dump.
Error diagnose_read_failure(const Source& source) {
  std::unique_ptr<MemoryBuffer> buffer;
  auto stream = source.open(buffer);
  gdcm::Reader reader;
  reader.SetStream(*stream);
  bool parsed = false;
  try {
    parsed = reader.Read();
  } catch (...) {
    parsed = false;
  }
  if (!parsed) {
    return Error{ErrorCode::malformed,
                 reading(source.name) + "not a DICOM file, or its data set is damaged (GDCM could not parse it)"};
  }
  if (!reader.GetFile().GetDataSet().FindDataElement(gdcm::Tag(0x7fe0, 0x0010))) {
    return Error{ErrorCode::unsupported, reading(source.name) + "the DICOM object has no Pixel Data (7FE0,0010)"};
  }
  return Error{ErrorCode::malformed,
               reading(source.name) + "the image module is missing or inconsistent (rows, columns, bits, "
                                      "photometric interpretation or transfer syntax)"};
}

std::vector<UltrasoundRegion> read_regions(const gdcm::DataSet& ds) {
  using namespace io_detail;
  std::vector<UltrasoundRegion> regions;
  const gdcm::Tag tag(0x0018, 0x6011);
  if (!ds.FindDataElement(tag)) return regions;
  gdcm::SmartPointer<gdcm::SequenceOfItems> sequence;
  try {
    sequence = ds.GetDataElement(tag).GetValueAsSQ();
  } catch (...) {
    return regions;
  }
  if (!sequence) return regions;
  for (gdcm::SequenceOfItems::SizeType i = 1; i <= sequence->GetNumberOfItems(); ++i) {
    const gdcm::DataSet& item = sequence->GetItem(i).GetNestedDataSet();
    UltrasoundRegion r;
    r.spatial_format = static_cast<int>(get_unsigned(item, 0x0018, 0x6012).value_or(0));
    r.data_type = static_cast<int>(get_unsigned(item, 0x0018, 0x6014).value_or(0));
    r.x0 = static_cast<int>(std::min<std::uint32_t>(get_unsigned(item, 0x0018, 0x6018).value_or(0), 1u << 30));
    r.y0 = static_cast<int>(std::min<std::uint32_t>(get_unsigned(item, 0x0018, 0x601a).value_or(0), 1u << 30));
    r.x1 = static_cast<int>(std::min<std::uint32_t>(get_unsigned(item, 0x0018, 0x601c).value_or(0), 1u << 30));
    r.y1 = static_cast<int>(std::min<std::uint32_t>(get_unsigned(item, 0x0018, 0x601e).value_or(0), 1u << 30));
    r.units_x = static_cast<int>(get_unsigned(item, 0x0018, 0x6024).value_or(0));
    r.units_y = static_cast<int>(get_unsigned(item, 0x0018, 0x6026).value_or(0));
    r.physical_delta_x = get_float64(item, 0x0018, 0x602c).value_or(0.0);
    r.physical_delta_y = get_float64(item, 0x0018, 0x602e).value_or(0.0);
    regions.push_back(r);
  }
  return regions;
}

void read_metadata(const gdcm::DataSet& ds, const ReadOptions& options, Cine& cine) {
  using namespace io_detail;
  CineMetadata& m = cine.metadata;
  m.source_kind = "dicom";
  m.manufacturer = get_string(ds, 0x0008, 0x0070).value_or("");
  m.model_name = get_string(ds, 0x0008, 0x1090).value_or("");
  m.sop_class_uid = get_string(ds, 0x0008, 0x0016).value_or("");
  const double heart_rate = get_decimal(ds, 0x0018, 0x1088).value_or(0.0);
  m.heart_rate_bpm = std::isfinite(heart_rate) && heart_rate > 0.0 ? heart_rate : 0.0;
  m.r_wave_times_ms = get_float32_values(ds, 0x0018, 0x6060);
  m.regions = read_regions(ds);
  m.view_hint = get_string(ds, 0x0008, 0x2127).value_or("");  // View Name: the phantom generator states it
  if (options.keep_identifiers) {
    PatientIdentifiers ids;
    ids.patient_name = get_string(ds, 0x0010, 0x0010).value_or("");
    ids.patient_id = get_string(ds, 0x0010, 0x0020).value_or("");
    ids.study_instance_uid = get_string(ds, 0x0020, 0x000d).value_or("");
    cine.identifiers = ids;
  }
}

void read_timing(const gdcm::DataSet& ds, Cine& cine, int frame_count) {
  using namespace io_detail;
  TimingAttributes a;
  a.frame_time_vector_ms = get_decimal_values(ds, 0x0018, 0x1065);
  a.frame_time_ms = get_decimal(ds, 0x0018, 0x1063).value_or(0.0);
  a.cine_rate_fps = get_decimal(ds, 0x0018, 0x0040).value_or(0.0);
  a.recommended_display_fps = get_decimal(ds, 0x0008, 0x2144).value_or(0.0);
  Timing t = timing_from_attributes(a, frame_count);
  cine.frame_times_ms = std::move(t.frame_times_ms);
  cine.metadata.timing_source = std::move(t.source);
}

void read_calibration(const gdcm::DataSet& ds, Cine& cine) {
  cine.calibration = io_detail::calibration_from_regions(cine.metadata.regions, cine.rows, cine.cols);
  if (cine.metadata.regions.empty() && ds.FindDataElement(gdcm::Tag(0x0028, 0x0030))) {
    // Pixel Spacing in an ultrasound or secondary-capture object is usually a placeholder (1\1): not used.
    cine.calibration.note += "; Pixel Spacing (0028,0030) present but not used (not an ultrasound calibration)";
  }
}

enum class Layout { mono, palette, rgb, ybr_full, ybr_partial };

struct PixelLayout {
  Layout layout = Layout::mono;
  bool invert = false;        // MONOCHROME1
  bool planar = false;        // colour planes stored one after the other (per frame)
  int samples = 1;
  int bytes_per_sample = 1;
  int bits_stored = 8;
  bool is_signed = false;
};

// 8-bit value of one stored sample (masked to bits_stored, signed shifted to unsigned, scaled to 8 bits).
inline std::uint8_t sample_to_8bit(const unsigned char* p, const PixelLayout& f) {
  if (f.bytes_per_sample == 1 && f.bits_stored == 8 && !f.is_signed) return *p;
  std::uint32_t raw = 0;
  for (int i = 0; i < f.bytes_per_sample; ++i) raw |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  const int bits = std::clamp(f.bits_stored, 1, 8 * f.bytes_per_sample);
  const std::uint64_t mask = (bits >= 32) ? 0xffffffffULL : ((1ULL << bits) - 1ULL);
  std::uint64_t value = raw & mask;
  if (f.is_signed) value = (value + (1ULL << (bits - 1))) & mask;  // two's complement -> offset binary
  if (bits > 8) return static_cast<std::uint8_t>(value >> (bits - 8));
  return static_cast<std::uint8_t>(value << (8 - bits));
}

struct FrameSink {
  Cine* cine;
  const std::vector<int>* color_indices;
  // Returns the slot of frame i in cine->color, or -1 when its colour is not kept.
  int color_slot(int frame) const {
    const auto it = std::lower_bound(color_indices->begin(), color_indices->end(), frame);
    return (it != color_indices->end() && *it == frame) ? static_cast<int>(it - color_indices->begin()) : -1;
  }
};

// Converts one decoded frame of GDCM's buffer (mono / RGB / YBR) into luma and, when kept, RGB.
void convert_frame(const unsigned char* src, const PixelLayout& f, int frame, const FrameSink& sink) {
  Cine& cine = *sink.cine;
  const std::size_t pixels = cine.frame_bytes();
  std::uint8_t* gray = cine.frame(frame);
  const int slot = sink.color_slot(frame);
  std::uint8_t* rgb = slot >= 0 ? cine.color[static_cast<std::size_t>(slot)].rgb.pixels.data() : nullptr;
  const std::size_t step = static_cast<std::size_t>(f.bytes_per_sample);
  if (f.samples == 1) {
    for (std::size_t i = 0; i < pixels; ++i) {
      const std::uint8_t v = sample_to_8bit(src + i * step, f);
      gray[i] = f.invert ? static_cast<std::uint8_t>(255 - v) : v;
    }
    return;
  }
  for (std::size_t i = 0; i < pixels; ++i) {
    const unsigned char* c0 = f.planar ? src + i * step : src + 3 * i * step;
    const std::size_t plane_step = f.planar ? pixels * step : step;
    const int a = sample_to_8bit(c0, f), b = sample_to_8bit(c0 + plane_step, f),
              c = sample_to_8bit(c0 + 2 * plane_step, f);
    std::uint8_t out[3] = {static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b), static_cast<std::uint8_t>(c)};
    if (f.layout == Layout::rgb) {
      gray[i] = io_detail::luma_from_rgb(a, b, c);
    } else if (f.layout == Layout::ybr_full) {
      gray[i] = static_cast<std::uint8_t>(a);
      if (rgb) io_detail::ybr_full_to_rgb(a, b, c, out);
    } else {  // YBR_PARTIAL: Y in [16, 235]
      gray[i] = static_cast<std::uint8_t>(std::clamp(std::lround((a - 16) * 255.0 / 219.0), 0L, 255L));
      if (rgb) io_detail::ybr_full_to_rgb(gray[i], static_cast<int>(std::lround(128 + (b - 128) * 255.0 / 224.0)),
                                         static_cast<int>(std::lround(128 + (c - 128) * 255.0 / 224.0)), out);
    }
    if (rgb) std::memcpy(rgb + 3 * i, out, 3);
  }
}

Expected<void> convert_palette_frame(const gdcm::LookupTable& lut, const char* src, std::size_t src_bytes, int frame,
                                     const FrameSink& sink, const std::string& name) {
  Cine& cine = *sink.cine;
  const std::size_t pixels = cine.frame_bytes();
  const int out_bytes = lut.GetBitSample() == 16 ? 2 : 1;
  std::vector<unsigned char> rgb_buffer(pixels * 3 * static_cast<std::size_t>(out_bytes));
  bool ok = false;
  try {
    ok = lut.Decode(reinterpret_cast<char*>(rgb_buffer.data()), rgb_buffer.size(), src, src_bytes);
  } catch (...) {
    ok = false;
  }
  if (!ok) return make_error(ErrorCode::malformed, reading(name) + "the palette colour lookup table cannot be applied");
  std::uint8_t* gray = cine.frame(frame);
  const int slot = sink.color_slot(frame);
  std::uint8_t* rgb = slot >= 0 ? cine.color[static_cast<std::size_t>(slot)].rgb.pixels.data() : nullptr;
  for (std::size_t i = 0; i < pixels; ++i) {
    int c[3];
    for (int k = 0; k < 3; ++k) {
      const unsigned char* p = rgb_buffer.data() + (3 * i + static_cast<std::size_t>(k)) * static_cast<std::size_t>(out_bytes);
      c[k] = out_bytes == 2 ? (p[1]) : p[0];  // 16-bit entries: the high byte (little endian in memory)
    }
    gray[i] = io_detail::luma_from_rgb(c[0], c[1], c[2]);
    if (rgb) {
      for (int k = 0; k < 3; ++k) rgb[3 * i + static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(c[k]);
    }
  }
  return {};
}

Expected<PixelLayout> pixel_layout(const gdcm::Image& image, const std::string& name) {
  PixelLayout f;
  const gdcm::PixelFormat& pf = image.GetPixelFormat();
  f.samples = pf.GetSamplesPerPixel();
  const int bits_allocated = pf.GetBitsAllocated();
  if (bits_allocated != 8 && bits_allocated != 16 && bits_allocated != 32) {
    return make_error(ErrorCode::unsupported,
                      reading(name) + "Bits Allocated " + std::to_string(bits_allocated) + " is not supported");
  }
  f.bytes_per_sample = bits_allocated / 8;
  f.bits_stored = std::clamp(static_cast<int>(pf.GetBitsStored()), 1, bits_allocated);
  f.is_signed = pf.GetPixelRepresentation() == 1;
  f.planar = image.GetPlanarConfiguration() == 1;
  using PI = gdcm::PhotometricInterpretation;
  const PI::PIType pi = image.GetPhotometricInterpretation();
  switch (pi) {
    case PI::MONOCHROME1: f.layout = Layout::mono; f.invert = true; break;
    case PI::MONOCHROME2: f.layout = Layout::mono; break;
    case PI::PALETTE_COLOR: f.layout = Layout::palette; break;
    case PI::RGB:
    case PI::YBR_RCT:  // the JPEG 2000 decoder applies the inverse component transform: RGB out
    case PI::YBR_ICT: f.layout = Layout::rgb; break;
    case PI::YBR_FULL:
    case PI::YBR_FULL_422: f.layout = Layout::ybr_full; break;  // GDCM upsamples 4:2:2 to full triplets
    case PI::YBR_PARTIAL_422:
    case PI::YBR_PARTIAL_420: f.layout = Layout::ybr_partial; break;
    default:
      return make_error(ErrorCode::unsupported, reading(name) + "photometric interpretation '" +
                                                    std::string(PI::GetPIString(pi) ? PI::GetPIString(pi) : "?") +
                                                    "' is not supported");
  }
  const bool colour_layout = f.layout == Layout::rgb || f.layout == Layout::ybr_full || f.layout == Layout::ybr_partial;
  if ((colour_layout && f.samples != 3) || (!colour_layout && f.samples != 1)) {
    return make_error(ErrorCode::malformed, reading(name) + "Samples per Pixel " + std::to_string(f.samples) +
                                                " contradicts the photometric interpretation");
  }
  if (f.layout == Layout::palette && f.bytes_per_sample > 2) {
    return make_error(ErrorCode::unsupported, reading(name) + "palette indices wider than 16 bits");
  }
  return f;
}

// The JPEG stream of each frame: one fragment per frame (borrowed, no copy), or fragments joined at each
// start-of-image marker (fragmented frames without an offset table). Empty when frames cannot be delimited.
struct FrameStreams {
  std::vector<std::pair<const char*, std::size_t>> frames;
  std::vector<std::string> joined;  // storage for frames made of several fragments
};

// The fragments (indices) of each frame: one per frame when the counts agree, else fragments grouped at each
// start-of-image marker; unusable fragments (no data) are left out. Empty unless they make `frame_count`.
template <typename Usable, typename StartsImage>
std::vector<std::vector<std::size_t>> frame_groups(std::size_t count, int frame_count, Usable usable, StartsImage starts_image) {
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < count; ++i) {
    if (!usable(i)) continue;
    if (static_cast<int>(count) == frame_count || starts_image(i) || groups.empty()) groups.emplace_back();
    groups.back().push_back(i);
  }
  if (static_cast<int>(groups.size()) != frame_count) groups.clear();
  return groups;
}

// `start_marker`: the two bytes that begin a frame's stream (0xFFD8 JPEG start of image, 0xFF4F JPEG 2000 SOC;
// 0: none, one fragment per frame).
FrameStreams jpeg_frame_streams(const gdcm::SequenceOfFragments& fragments, int frame_count, unsigned start_marker = 0xFFD8) {
  FrameStreams out;
  auto bytes = [&](std::size_t i) { return fragments.GetFragment(static_cast<gdcm::SequenceOfFragments::SizeType>(i)).GetByteValue(); };
  const auto index_groups = frame_groups(
      fragments.GetNumberOfFragments(), frame_count,
      [&](std::size_t i) { return bytes(i) != nullptr && bytes(i)->GetPointer() != nullptr; },
      [&](std::size_t i) {
        const auto* p = reinterpret_cast<const unsigned char*>(bytes(i)->GetPointer());
        return start_marker != 0 && bytes(i)->GetLength() >= 2 && static_cast<unsigned>(p[0] << 8 | p[1]) == start_marker;
      });
  std::vector<std::vector<std::pair<const char*, std::size_t>>> groups;
  for (const auto& group : index_groups) {
    groups.emplace_back();
    for (std::size_t i : group) groups.back().emplace_back(bytes(i)->GetPointer(), bytes(i)->GetLength());
  }
  if (static_cast<int>(groups.size()) != frame_count) return out;
  out.joined.reserve(groups.size());
  for (const auto& group : groups) {
    if (group.size() == 1) {
      out.frames.push_back(group.front());
      continue;
    }
    std::string joined;
    for (const auto& [p, n] : group) joined.append(p, n);
    out.joined.push_back(std::move(joined));
    out.frames.emplace_back(out.joined.back().data(), out.joined.back().size());
  }
  return out;
}

// A TurboJPEG decompressor per thread, made on first use.
tjhandle turbojpeg_handle() {
  struct Handle {
    tjhandle handle = tjInitDecompress();
    ~Handle() {
      if (handle != nullptr) tjDestroy(handle);
    }
  };
  thread_local Handle decompressor;
  return decompressor.handle;
}

// One 8-bit JPEG (DCT) frame through libjpeg-turbo (TurboJPEG): luma straight from the Y channel (no chroma
// work) when `gray` is given, RGB when `rgb` is given. False when it is not a JPEG stream of rows x cols, or when
// libjpeg warns: a damaged scan would otherwise decode as grey fill and go into the analysis unseen (and
// libjpeg would print to the host's stderr). Progressive streams are limited to 500 scans (a CPU bound).
bool decode_jpeg_frame(std::pair<const char*, std::size_t> stream, int rows, int cols, bool invert, std::uint8_t* gray,
                       std::uint8_t* rgb) {
  const auto [data, size] = stream;
  if (size < 2) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  if (bytes[0] != 0xff || bytes[1] != 0xd8) return false;
  tjhandle handle = turbojpeg_handle();
  int width = 0, height = 0, subsampling = 0, colourspace = 0;
  if (handle == nullptr || tjDecompressHeader3(handle, bytes, size, &width, &height, &subsampling, &colourspace) != 0 ||
      width != cols || height != rows) {
    return false;
  }
  const int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
  if (gray != nullptr) {
    if (tjDecompress2(handle, bytes, size, gray, cols, cols, rows, TJPF_GRAY, flags) != 0) return false;
    if (invert) {
      for (std::size_t i = 0, n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols); i < n; ++i)
        gray[i] = static_cast<std::uint8_t>(255 - gray[i]);
    }
  }
  return rgb == nullptr || tjDecompress2(handle, bytes, size, rgb, cols, 3 * cols, rows, TJPF_RGB, flags) == 0;
}

// Every frame with decode_jpeg_frame. Returns false when any frame does not decode to the declared size.
bool decode_jpeg_baseline_fast(const gdcm::Image& image, bool invert, const ReadOptions& options, const FrameSink& sink) {
  const gdcm::SequenceOfFragments* fragments = image.GetDataElement().GetSequenceOfFragments();
  if (fragments == nullptr) return false;
  Cine& cine = *sink.cine;
  const int frames = static_cast<int>(cine.gray.size() / cine.frame_bytes());
  const FrameStreams streams = jpeg_frame_streams(*fragments, frames);
  if (streams.frames.empty()) return false;
  std::atomic<bool> all_ok{true};
  io_detail::parallel_for(frames, io_detail::worker_count(options.decode_threads, frames), [&](int i) {
    if (!all_ok.load()) return;
    const int slot = sink.color_slot(i);
    std::uint8_t* rgb = slot >= 0 ? cine.color[static_cast<std::size_t>(slot)].rgb.pixels.data() : nullptr;
    if (!decode_jpeg_frame(streams.frames[static_cast<std::size_t>(i)], cine.rows, cine.cols, invert, cine.frame(i), rgb)) {
      all_ok = false;
    }
  });
  return all_ok.load();
}

Expected<void> decode_with_gdcm(const gdcm::Image& image, const PixelLayout& f, const FrameSink& sink,
                                const ReadOptions& options, const std::string& name) {
  Cine& cine = *sink.cine;
  const int frames = static_cast<int>(cine.gray.size() / cine.frame_bytes());
  const std::size_t samples_per_frame = cine.frame_bytes() * static_cast<std::size_t>(f.samples);
  const std::size_t frame_bytes = samples_per_frame * static_cast<std::size_t>(f.bytes_per_sample);
  const std::size_t needed = frame_bytes * static_cast<std::size_t>(frames);
  const unsigned long declared = image.GetBufferLength();
  if (declared < needed) {
    return make_error(ErrorCode::malformed, reading(name) + "the declared pixel buffer is smaller than rows x columns x frames");
  }
  const gdcm::ByteValue* native = image.GetDataElement().GetByteValue();
  // Native YBR_FULL_422 stores two luma and one chroma pair per two pixels: 2 bytes per pixel, not 3.
  const bool subsampled = image.GetPhotometricInterpretation() == gdcm::PhotometricInterpretation::YBR_FULL_422 ||
                          image.GetPhotometricInterpretation() == gdcm::PhotometricInterpretation::YBR_PARTIAL_422;
  const std::size_t native_needed = subsampled ? needed / 3 * 2 : needed;
  if (native != nullptr && image.GetDataElement().GetSequenceOfFragments() == nullptr && native->GetLength() < native_needed) {
    return make_error(ErrorCode::malformed, reading(name) + "pixel data truncated (" + std::to_string(native->GetLength()) +
                                                " of " + std::to_string(native_needed) + " bytes)");
  }
  std::vector<char> buffer(declared);
  bool ok = false;
  try {
    ok = image.GetBuffer(buffer.data());
  } catch (...) {
    ok = false;
  }
  if (!ok) {
    return make_error(ErrorCode::malformed, reading(name) + "the pixel data cannot be decoded (" +
                                                io_detail::transfer_syntax_name(cine.metadata.transfer_syntax_uid) +
                                                " stream damaged or truncated)");
  }
  if (f.layout == Layout::palette) {
    const gdcm::LookupTable& lut = image.GetLUT();
    if (!lut.Initialized()) {
      return make_error(ErrorCode::malformed, reading(name) + "PALETTE COLOR without a usable lookup table");
    }
    for (int i = 0; i < frames; ++i) {
      auto r = convert_palette_frame(lut, buffer.data() + frame_bytes * static_cast<std::size_t>(i), frame_bytes, i, sink, name);
      if (!r) return r;
    }
    return {};
  }
  io_detail::parallel_for(frames, io_detail::worker_count(options.decode_threads, frames), [&](int i) {
    convert_frame(reinterpret_cast<const unsigned char*>(buffer.data()) + frame_bytes * static_cast<std::size_t>(i), f, i, sink);
  });
  return {};
}

// The codecs decoded by our own decoders (io/lossless_decode.hpp) instead of GDCM's.
using LosslessDecoder = std::string (*)(const unsigned char*, std::size_t, const io_detail::DecodeTarget&, unsigned char*);

LosslessDecoder own_lossless_decoder(const std::string& transfer_syntax_uid) {
  if (transfer_syntax_uid == "1.2.840.10008.1.2.4.57" || transfer_syntax_uid == "1.2.840.10008.1.2.4.70")
    return io_detail::decode_jpeg_lossless;
  if (transfer_syntax_uid == "1.2.840.10008.1.2.4.80" || transfer_syntax_uid == "1.2.840.10008.1.2.4.81")
    return io_detail::decode_jpeg_ls;
  if (io_detail::is_jpeg2000_syntax(transfer_syntax_uid)) return io_detail::decode_jpeg2000;
  if (transfer_syntax_uid == io_detail::kRleLosslessSyntax) return io_detail::decode_rle;
  return nullptr;
}

// Every frame through `decoder`; the first damaged frame (lowest index, whatever the thread order) is reported.
// Palette indices go through GDCM's lookup table one frame at a time, as in decode_with_gdcm.
Expected<void> decode_lossless_frames(const gdcm::Image& image, LosslessDecoder decoder, PixelLayout f,
                                      const FrameSink& sink, const ReadOptions& options, const std::string& name) {
  Cine& cine = *sink.cine;
  const int frames = static_cast<int>(cine.gray.size() / cine.frame_bytes());
  const std::string codec = io_detail::transfer_syntax_name(cine.metadata.transfer_syntax_uid);
  const gdcm::SequenceOfFragments* fragments = image.GetDataElement().GetSequenceOfFragments();
  if (fragments == nullptr) return make_error(ErrorCode::malformed, reading(name) + codec + " pixel data not encapsulated");
  if (f.bytes_per_sample > 2) {
    return make_error(ErrorCode::unsupported, reading(name) + codec + " with " + std::to_string(8 * f.bytes_per_sample) + "-bit samples");
  }
  const bool palette = f.layout == Layout::palette;
  if (palette && !image.GetLUT().Initialized()) {
    return make_error(ErrorCode::malformed, reading(name) + "PALETTE COLOR without a usable lookup table");
  }
  // RLE has no start marker: one fragment per frame (PS3.5 A.4.2), as the structure check requires.
  const std::string& syntax = cine.metadata.transfer_syntax_uid;
  const unsigned start_marker = io_detail::is_jpeg2000_syntax(syntax) ? 0xFF4F : syntax == io_detail::kRleLosslessSyntax ? 0 : 0xFFD8;
  const FrameStreams streams = jpeg_frame_streams(*fragments, frames, start_marker);
  if (static_cast<int>(streams.frames.size()) != frames) {
    return make_error(ErrorCode::malformed, reading(name) + "the " + codec + " fragments do not make the " +
                                                std::to_string(frames) + " frames declared");
  }
  f.planar = false;  // the decoders give the samples of a pixel together
  const io_detail::DecodeTarget target{cine.rows, cine.cols, f.samples, f.bytes_per_sample};
  std::vector<Expected<void>> results(static_cast<std::size_t>(frames));
  const int workers = palette ? 1 : io_detail::worker_count(options.decode_threads, frames);
  io_detail::parallel_for(frames, workers, [&](int i) {
    std::vector<unsigned char> decoded(io_detail::decoded_bytes(target));
    const auto& [data, size] = streams.frames[static_cast<std::size_t>(i)];
    const std::string problem = decoder(reinterpret_cast<const unsigned char*>(data), size, target, decoded.data());
    Expected<void>& result = results[static_cast<std::size_t>(i)];
    if (!problem.empty()) {
      result = make_error(ErrorCode::malformed, reading(name) + codec + " frame " + std::to_string(i + 1) + " of " +
                                                    std::to_string(frames) + " cannot be decoded: " + problem);
    } else if (palette) {
      result = convert_palette_frame(image.GetLUT(), reinterpret_cast<const char*>(decoded.data()), decoded.size(), i, sink, name);
    } else {
      convert_frame(decoded.data(), f, i, sink);
    }
  });
  for (const auto& result : results) {
    if (!result) return result;
  }
  return {};
}

// DICOM's MPEG transfer syntaxes (PS3.5 8.2.5 to 8.2.8, 8.2.14): MPEG-2 MP@ML / MP@HL, the five MPEG-4 AVC /
// H.264 ones, HEVC / H.265 Main and Main 10. Scanners use them for long cine loops.
std::optional<io_detail::ElementaryCodec> mpeg_codec_of(const std::string& transfer_syntax_uid) {
  using io_detail::ElementaryCodec;
  static const std::pair<const char*, ElementaryCodec> kSyntaxes[] = {
      {"1.2.840.10008.1.2.4.100", ElementaryCodec::mpeg2}, {"1.2.840.10008.1.2.4.101", ElementaryCodec::mpeg2},
      {"1.2.840.10008.1.2.4.102", ElementaryCodec::h264},  {"1.2.840.10008.1.2.4.103", ElementaryCodec::h264},
      {"1.2.840.10008.1.2.4.104", ElementaryCodec::h264},  {"1.2.840.10008.1.2.4.105", ElementaryCodec::h264},
      {"1.2.840.10008.1.2.4.106", ElementaryCodec::h264},  {"1.2.840.10008.1.2.4.107", ElementaryCodec::hevc},
      {"1.2.840.10008.1.2.4.108", ElementaryCodec::hevc},
  };
  for (const auto& [uid, codec] : kSyntaxes) {
    if (transfer_syntax_uid == uid) return codec;
  }
  return std::nullopt;
}

// Every frame of an MPEG-2 / H.264 / HEVC loop: the fragments joined are one stream (PS3.5 8.2.5), decoded in
// order through FFmpeg, each picture checked against Rows and Columns, converted to RGB and then to luma as an
// RGB frame is. The stream must hold exactly Number of Frames pictures.
Expected<void> decode_mpeg_frames(const gdcm::Image& image, io_detail::ElementaryCodec codec, const FrameSink& sink,
                                  const std::string& name) {
  Cine& cine = *sink.cine;
  const int frames = static_cast<int>(cine.gray.size() / cine.frame_bytes());
  const std::string codec_name = cine.metadata.transfer_syntax;
  const gdcm::SequenceOfFragments* fragments = image.GetDataElement().GetSequenceOfFragments();
  if (fragments == nullptr) return make_error(ErrorCode::malformed, reading(name) + codec_name + " pixel data not encapsulated");
  std::string stream;
  for (gdcm::SequenceOfFragments::SizeType i = 0; i < fragments->GetNumberOfFragments(); ++i) {
    const gdcm::ByteValue* bytes = fragments->GetFragment(i).GetByteValue();
    if (bytes != nullptr && bytes->GetPointer() != nullptr) stream.append(bytes->GetPointer(), bytes->GetLength());
  }
  PixelLayout rgb;
  rgb.layout = Layout::rgb;
  rgb.samples = 3;
  const auto pictures = io_detail::decode_elementary_stream(
      codec, reinterpret_cast<const std::uint8_t*>(stream.data()), stream.size(), cine.cols, cine.rows, frames,
      reading(name) + "the " + codec_name + " stream ", [&](int frame, const std::uint8_t* pixels) { convert_frame(pixels, rgb, frame, sink); });
  if (!pictures) return tl::unexpected(pictures.error());
  if (*pictures != frames) {
    return make_error(ErrorCode::malformed, reading(name) + "the " + codec_name + " stream holds " + std::to_string(*pictures) +
                                                " pictures, Number of Frames declares " + std::to_string(frames));
  }
  return {};
}

// The file meta information's Transfer Syntax UID as the file (or parse_dicom) states it; "" when absent.
std::string meta_transfer_syntax_uid(const gdcm::File& file) {
  const gdcm::FileMetaInformation& meta = file.GetHeader();
  const gdcm::Tag tag(0x0002, 0x0010);
  if (!meta.FindDataElement(tag)) return "";
  const gdcm::ByteValue* value = meta.GetDataElement(tag).GetByteValue();
  if (value == nullptr || value->GetPointer() == nullptr) return "";
  std::string uid(value->GetPointer(), value->GetLength());
  while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' ')) uid.pop_back();
  return uid;
}

// What decode_image knows before it touches a pixel.
struct Header {
  Cine cine;                 // gray and color empty
  int frame_count = 0;
  PixelLayout layout;
  std::vector<int> color_indices;
  bool fast_jpeg = false;    // 8-bit JPEG (DCT) decoded frame by frame with libjpeg-turbo
};

Expected<Header> read_header(const gdcm::ImageReader& reader, const Source& source, const ReadOptions& options) {
  const std::string& name = source.name;
  const gdcm::Image& image = reader.GetImage();
  const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  const unsigned dimensions = image.GetNumberOfDimensions();
  if (dimensions < 2 || dimensions > 3) {
    return make_error(ErrorCode::malformed, reading(name) + "the image has " + std::to_string(dimensions) + " dimensions");
  }
  const std::uint64_t cols = image.GetDimension(0), rows = image.GetDimension(1);
  const std::uint64_t frames = dimensions == 3 ? image.GetDimension(2) : 1;
  if (cols == 0 || rows == 0 || frames == 0 || cols > 65535 || rows > 65535) {
    return make_error(ErrorCode::malformed, reading(name) + "invalid image size " + std::to_string(cols) + "x" +
                                                std::to_string(rows) + " x " + std::to_string(frames) + " frames");
  }
  if (frames * rows * cols > options.max_total_pixels) {
    return make_error(ErrorCode::too_large, reading(name) + "declared size " + std::to_string(frames) + " frames of " +
                                                std::to_string(cols) + "x" + std::to_string(rows) +
                                                " exceeds the limit of " + std::to_string(options.max_total_pixels) +
                                                " pixels (ReadOptions::max_total_pixels)");
  }
  auto layout = pixel_layout(image, name);
  if (!layout) return tl::unexpected(layout.error());

  Header header;
  Cine& cine = header.cine;
  cine.rows = static_cast<int>(rows);
  cine.cols = static_cast<int>(cols);
  header.frame_count = static_cast<int>(frames);
  header.layout = *layout;
  cine.metadata.transfer_syntax_uid = image.GetTransferSyntax().GetString() ? image.GetTransferSyntax().GetString() : "";
  if (const std::string declared = meta_transfer_syntax_uid(reader.GetFile()); is_mpeg_syntax_gdcm_lacks(declared)) {
    cine.metadata.transfer_syntax_uid = declared;  // parsed under another name (parse_dicom)
  }
  cine.metadata.transfer_syntax = io_detail::transfer_syntax_name(cine.metadata.transfer_syntax_uid);
  const char* pi_name = gdcm::PhotometricInterpretation::GetPIString(image.GetPhotometricInterpretation());
  cine.metadata.photometric = pi_name ? pi_name : "";
  while (!cine.metadata.photometric.empty() && cine.metadata.photometric.back() == ' ') cine.metadata.photometric.pop_back();
  cine.metadata.bits_stored = layout->bits_stored;
  read_metadata(ds, options, cine);
  read_timing(ds, cine, header.frame_count);
  read_calibration(ds, cine);
  if (layout->layout != Layout::mono) header.color_indices = io_detail::color_frame_indices(header.frame_count, options.max_color_frames);
  header.fast_jpeg = options.fast_jpeg && is_jpeg_dct_syntax(cine.metadata.transfer_syntax_uid) &&
                     layout->bytes_per_sample == 1 && (layout->layout == Layout::mono || layout->layout == Layout::ybr_full);
  return header;
}

Error jpeg_frames_error(const std::string& name, const Cine& cine, int frame_count) {
  return Error{ErrorCode::malformed, reading(name) + "the " + cine.metadata.transfer_syntax + " pixel data do not decode to " +
                                         std::to_string(frame_count) + " frames of " + std::to_string(cine.cols) + "x" +
                                         std::to_string(cine.rows) + " (a damaged frame, or fragments that do not "
                                         "make the frames declared)"};
}

Expected<Cine> decode_image(gdcm::ImageReader& reader, const Source& source, const ReadOptions& options) {
  auto header = read_header(reader, source, options);
  if (!header) return tl::unexpected(header.error());
  Cine cine = std::move(header->cine);
  cine.gray.assign(cine.frame_bytes() * static_cast<std::size_t>(header->frame_count), 0);
  for (int index : header->color_indices) {
    ColorFrame cf;
    cf.frame_index = index;
    cf.rgb.width = cine.cols;
    cf.rgb.height = cine.rows;
    cf.rgb.pixels.assign(cine.frame_bytes() * 3, 0);
    cine.color.push_back(std::move(cf));
  }
  const FrameSink sink{&cine, &header->color_indices};
  const gdcm::Image& image = reader.GetImage();
  if (header->fast_jpeg) {
    // No fallback to GDCM's JPEG codec here: on frames that libjpeg-turbo refuses it can dereference null
    // (JPEGCodec::Decode, found by the dicom fuzzer) and take the host process down.
    if (decode_jpeg_baseline_fast(image, header->layout.invert, options, sink)) return cine;
    return tl::unexpected(jpeg_frames_error(source.name, cine, header->frame_count));
  }
  if (const auto mpeg = mpeg_codec_of(cine.metadata.transfer_syntax_uid)) {
    if (auto decoded = decode_mpeg_frames(image, *mpeg, sink, source.name); !decoded) return tl::unexpected(decoded.error());
    return cine;
  }
  // Never GDCM for these: its JPEG Lossless and JPEG 2000 paths assert, CharLS can spin on damaged scans, and
  // its RLE decoder trusts the offsets and runs (checked before it read the file, but decoded once is enough).
  const LosslessDecoder own = own_lossless_decoder(cine.metadata.transfer_syntax_uid);
  auto decoded = own != nullptr ? decode_lossless_frames(image, own, header->layout, sink, options, source.name)
                                : decode_with_gdcm(image, header->layout, sink, options, source.name);
  if (!decoded) return tl::unexpected(decoded.error());
  return cine;
}

// The bytes of a file or of caller memory, read at any offset from any thread.
class ByteSource {
 public:
  static Expected<ByteSource> of(const Source& source) {
    ByteSource bytes;
    if (source.path.empty()) {
      bytes.data_ = source.data;
      bytes.size_ = source.size;
      return bytes;
    }
    bytes.fd_ = std::shared_ptr<int>(new int(::open(source.path.c_str(), O_RDONLY | O_CLOEXEC)), [](int* fd) {
      if (*fd >= 0) ::close(*fd);
      delete fd;
    });
    if (*bytes.fd_ < 0) return make_error(ErrorCode::io_failed, reading(source.name) + "cannot open the file");
    return bytes;
  }
  bool read(std::uint64_t offset, std::size_t length, char* out) const {
    if (fd_ == nullptr) {
      if (offset > size_ || length > size_ - offset) return false;
      std::memcpy(out, data_ + offset, length);
      return true;
    }
    while (length > 0) {
      const ssize_t got = ::pread(*fd_, out, length, static_cast<off_t>(offset));
      if (got <= 0) return false;
      out += got;
      offset += static_cast<std::uint64_t>(got);
      length -= static_cast<std::size_t>(got);
    }
    return true;
  }

 private:
  std::shared_ptr<int> fd_;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

// The (offset, length) fragments of each frame, grouped as jpeg_frame_streams groups fragments in memory.
std::vector<std::vector<std::pair<std::uint64_t, std::uint32_t>>> frame_fragments(const io_detail::PixelDataLayout& layout,
                                                                                 int frame_count) {
  std::vector<std::vector<std::pair<std::uint64_t, std::uint32_t>>> frames;
  const auto groups = frame_groups(
      layout.fragments.size(), frame_count, [&](std::size_t i) { return layout.fragments[i].second != 0; },
      [&](std::size_t i) { return static_cast<bool>(layout.starts_image[i]); });
  for (const auto& group : groups) {
    frames.emplace_back();
    for (std::size_t i : group) frames.back().push_back(layout.fragments[i]);
  }
  return frames;
}

// 8-bit JPEG (DCT) frames decoded on demand, each read from the file (or buffer) when it is asked for: the
// compressed loop is not held in memory either.
class JpegFrameSource final : public FrameSource {
 public:
  JpegFrameSource(ByteSource bytes, Header header, const io_detail::PixelDataLayout& layout, std::string name)
      : bytes_(std::move(bytes)), invert_(header.layout.invert), name_(std::move(name)) {
    header_ = std::move(header.cine);
    frame_count_ = header.frame_count;
    color_frames_ = std::move(header.color_indices);
    frames_ = frame_fragments(layout, frame_count_);
  }
  bool delimited() const { return static_cast<int>(frames_.size()) == frame_count_; }

  Expected<void> read_luma(int index, std::uint8_t* gray) const override {
    if (gray == nullptr) return make_error(ErrorCode::invalid_argument, reading(name_) + "no buffer for frame " + std::to_string(index));
    return read(index, gray, nullptr);
  }
  Expected<void> read_rgb(int index, std::uint8_t* rgb) const override {
    if (!std::binary_search(color_frames_.begin(), color_frames_.end(), index)) {
      return make_error(ErrorCode::invalid_argument, reading(name_) + "frame " + std::to_string(index) + "'s colour is not kept");
    }
    if (rgb == nullptr) return make_error(ErrorCode::invalid_argument, reading(name_) + "no buffer for frame " + std::to_string(index));
    return read(index, nullptr, rgb);
  }

 private:
  Expected<void> read(int index, std::uint8_t* gray, std::uint8_t* rgb) const {
    if (index < 0 || index >= frame_count_ || (gray == nullptr && rgb == nullptr)) {
      return make_error(ErrorCode::invalid_argument, reading(name_) + "no frame " + std::to_string(index));
    }
    std::string stream;
    for (const auto& [offset, length] : frames_[static_cast<std::size_t>(index)]) {
      const std::size_t at = stream.size();
      stream.resize(at + length);
      if (!bytes_.read(offset, length, stream.data() + at)) {
        return make_error(ErrorCode::io_failed, reading(name_) + "frame " + std::to_string(index) + " cannot be read");
      }
    }
    if (!decode_jpeg_frame({stream.data(), stream.size()}, header_.rows, header_.cols, invert_, gray, rgb)) {
      return tl::unexpected(jpeg_frames_error(name_, header_, frame_count_));
    }
    return {};
  }

  ByteSource bytes_;
  std::vector<std::vector<std::pair<std::uint64_t, std::uint32_t>>> frames_;
  bool invert_ = false;
  std::string name_;
};

// A cine in memory served frame by frame (every input that is not streamed).
class CineFrameSource final : public FrameSource {
 public:
  CineFrameSource(const Cine* cine, std::unique_ptr<Cine> owned) : owned_(std::move(owned)), cine_(cine) {
    header_.rows = cine->rows;
    header_.cols = cine->cols;
    header_.frame_times_ms = cine->frame_times_ms;
    header_.calibration = cine->calibration;
    header_.metadata = cine->metadata;
    header_.identifiers = cine->identifiers;
    frame_count_ = cine->frame_count();
    for (const ColorFrame& frame : cine->color) color_frames_.push_back(frame.frame_index);
  }
  Expected<void> read_luma(int index, std::uint8_t* gray) const override {
    if (index < 0 || index >= frame_count_ || gray == nullptr) {
      return make_error(ErrorCode::invalid_argument, "frame source: no frame " + std::to_string(index));
    }
    std::copy(cine_->frame(index), cine_->frame(index) + cine_->frame_bytes(), gray);
    return {};
  }
  Expected<void> read_rgb(int index, std::uint8_t* rgb) const override {
    for (const ColorFrame& frame : cine_->color) {
      if (frame.frame_index == index && rgb != nullptr && frame.rgb.pixels.size() == cine_->frame_bytes() * 3) {
        std::copy(frame.rgb.pixels.begin(), frame.rgb.pixels.end(), rgb);
        return {};
      }
    }
    return make_error(ErrorCode::invalid_argument, "frame source: frame " + std::to_string(index) + "'s colour is not kept");
  }

 private:
  std::unique_ptr<Cine> owned_;
  const Cine* cine_;
};

// A whole-read cine as a frame source (every input that is not streamed).
Expected<std::unique_ptr<FrameSource>> source_of(std::unique_ptr<gdcm::ImageReader> reader, const Source& source,
                                                 const ReadOptions& options) {
  auto cine = decode_image(*reader, source, options);
  if (!cine) return tl::unexpected(cine.error());
  return io_detail::frame_source_owning(std::move(*cine));
}

// GDCM parses only the data set up to the Pixel Data's first fragment, given here with the later fragments
// cut off (a sequence delimiter after the first): the frames are read from `source` when they are decoded.
// Null when the file is not one that streams (not 8-bit JPEG DCT on the libjpeg-turbo path).
Expected<std::unique_ptr<FrameSource>> streamed_source(const Source& source, const ReadOptions& options,
                                                       const io_detail::PixelDataLayout& layout) {
  auto bytes = ByteSource::of(source);
  if (!bytes) return tl::unexpected(bytes.error());
  // GDCM looks into the first fragment (and asserts when there is none): it is kept.
  const std::uint64_t head_end = layout.fragments.front().first + layout.fragments.front().second;
  std::string head(static_cast<std::size_t>(head_end) + 8, '\0');
  if (!bytes->read(0, static_cast<std::size_t>(head_end), head.data())) return std::unique_ptr<FrameSource>();
  const unsigned char delimiter[8] = {0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0};
  std::memcpy(head.data() + head_end, delimiter, sizeof delimiter);
  MemoryBuffer buffer(head.data(), head.size());
  std::istream stream(&buffer);
  auto reader = std::make_unique<gdcm::ImageReader>();
  reader->SetStream(stream);
  bool read_ok = false;
  try {
    read_ok = reader->Read();
  } catch (...) {
    read_ok = false;
  }
  if (!read_ok) return std::unique_ptr<FrameSource>();
  auto header = read_header(*reader, source, options);
  if (!header) return tl::unexpected(header.error());
  if (!header->fast_jpeg) return std::unique_ptr<FrameSource>();
  auto streamed = std::make_unique<JpegFrameSource>(std::move(*bytes), std::move(*header), layout, source.name);
  if (!streamed->delimited()) return tl::unexpected(jpeg_frames_error(source.name, streamed->header(), streamed->frame_count()));
  return std::unique_ptr<FrameSource>(std::move(streamed));
}

// Parses the DICOM of `source` (structure pre-check, then GDCM) and hands the reader to `use`.
template <typename Result, typename Use>
Expected<Result> parse_dicom(const Source& source, Use use, bool structure_checked = false) {
  io_detail::silence_gdcm();
  try {
    std::unique_ptr<MemoryBuffer> buffer;
    auto stream = source.open(buffer);
    if (!*stream) return make_error(ErrorCode::io_failed, reading(source.name) + "cannot open the file");
    // Truncation must be refused before GDCM sees it: its fallback parsers assert() (abort) on it.
    if (!structure_checked) {
      if (auto intact = io_detail::check_dicom_structure(*stream, source.name); !intact) return tl::unexpected(intact.error());
    }
    // An MPEG syntax GDCM lacks: the bytes in memory, renamed (see kMpegSyntaxGdcmParsesAs).
    std::string renamed_bytes;
    std::unique_ptr<MemoryBuffer> renamed_buffer;
    const auto meta_syntax = find_meta_transfer_syntax(*stream);
    const bool renamed = meta_syntax && is_mpeg_syntax_gdcm_lacks(meta_syntax->uid);
    if (renamed) {
      renamed_bytes.assign(std::istreambuf_iterator<char>(*stream), std::istreambuf_iterator<char>());
      std::string parsed_as(kMpegSyntaxGdcmParsesAs);
      parsed_as.resize(meta_syntax->value_length, '\0');
      renamed_bytes.replace(meta_syntax->value_offset, meta_syntax->value_length, parsed_as);
      renamed_buffer = std::make_unique<MemoryBuffer>(renamed_bytes.data(), renamed_bytes.size());
      stream = std::make_unique<std::istream>(renamed_buffer.get());
    }
    auto reader = std::make_unique<gdcm::ImageReader>();
    reader->SetStream(*stream);
    bool read_ok = false;
    try {
      read_ok = reader->Read();
    } catch (...) {
      read_ok = false;
    }
    if (!read_ok) return tl::unexpected(diagnose_read_failure(source));
    if (renamed) io_detail::put_bytes(reader->GetFile().GetHeader(), 0x0002, 0x0010, gdcm::VR::UI, meta_syntax->uid);
    return use(std::move(reader));
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::out_of_memory, reading(source.name) + "out of memory");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::malformed, reading(source.name) + "DICOM decoding failed (" + e.what() + ")");
  } catch (...) {
    return make_error(ErrorCode::malformed, reading(source.name) + "DICOM decoding failed");
  }
}

Expected<Cine> read_dicom(const Source& source, const ReadOptions& options) {
  return parse_dicom<Cine>(source, [&](std::unique_ptr<gdcm::ImageReader> reader) {
    return decode_image(*reader, source, options);
  });
}

Expected<std::unique_ptr<FrameSource>> dicom_source(const Source& source, const ReadOptions& options) {
  io_detail::silence_gdcm();
  bool structure_checked = false;  // then the whole read below need not walk the file again
  try {
    std::unique_ptr<MemoryBuffer> buffer;
    auto stream = source.open(buffer);
    if (!*stream) return make_error(ErrorCode::io_failed, reading(source.name) + "cannot open the file");
    io_detail::PixelDataLayout layout;
    if (auto intact = io_detail::check_dicom_structure(*stream, source.name, &layout); !intact) return tl::unexpected(intact.error());
    structure_checked = true;
    if (layout.found && layout.offset_table_end > 0 && !layout.fragments.empty()) {
      auto streamed = streamed_source(source, options, layout);
      if (!streamed || *streamed) return streamed;
    }
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::out_of_memory, reading(source.name) + "out of memory");
  } catch (...) {
    // not streamable: read whole below
  }
  return parse_dicom<std::unique_ptr<FrameSource>>(
      source, [&](std::unique_ptr<gdcm::ImageReader> reader) { return source_of(std::move(reader), source, options); },
      structure_checked);
}

}  // namespace

Expected<Cine> read_dicom_file(const std::string& path, const ReadOptions& options) {
  if (auto ok = io_detail::check_input_file(path); !ok) return tl::unexpected(ok.error());
  Source source;
  source.name = path;
  source.path = path;
  return read_dicom(source, options);
}

Expected<Cine> read_dicom_buffer(const void* data, std::size_t size, const ReadOptions& options, const std::string& name) {
  if (data == nullptr || size == 0) return make_error(ErrorCode::invalid_argument, reading(name) + "empty buffer");
  Source source;
  source.name = name;
  source.data = static_cast<const char*>(data);
  source.size = size;
  return read_dicom(source, options);
}

}  // namespace echo

namespace echo {

Expected<std::unique_ptr<FrameSource>> io_detail::open_dicom_file_source(const std::string& path, const ReadOptions& options) {
  if (auto ok = check_input_file(path); !ok) return tl::unexpected(ok.error());
  Source source;
  source.name = path;
  source.path = path;
  return dicom_source(source, options);
}

Expected<std::unique_ptr<FrameSource>> open_dicom_buffer_source(const void* data, std::size_t size,
                                                                const ReadOptions& options, const std::string& name) {
  if (data == nullptr || size == 0) return make_error(ErrorCode::invalid_argument, reading(name) + "empty buffer");
  Source source;
  source.name = name;
  source.data = static_cast<const char*>(data);
  source.size = size;
  return dicom_source(source, options);
}

std::unique_ptr<FrameSource> frame_source_of(const Cine& cine) { return std::make_unique<CineFrameSource>(&cine, nullptr); }

std::unique_ptr<FrameSource> io_detail::frame_source_owning(Cine cine) {
  auto owned = std::make_unique<Cine>(std::move(cine));
  const Cine* pointer = owned.get();
  return std::make_unique<CineFrameSource>(pointer, std::move(owned));
}

}  // namespace echo
