// JPEG 2000 frames through OpenJPEG directly, and the codestream check that runs before GDCM reads the file
// (see lossless_decode.hpp and jpeg_check.hpp for why).
#include <cstdint>
#include <cstring>
#include <string>

#include <openjpeg.h>

#include "io/jpeg_check.hpp"
#include "io/lossless_decode.hpp"

namespace echo::io_detail {
namespace {

// The JP2 file signature box (ISO/IEC 15444-1 I.5.1): a JP2 file instead of a bare codestream.
constexpr unsigned char kJp2Signature[12] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
constexpr std::uint32_t kContiguousCodestreamBox = 0x6a703263;  // 'jp2c'

constexpr std::uint16_t kSOC = 0xFF4F, kCOD = 0xFF52, kSOD = 0xFF93;

bool is_jp2(const unsigned char* data, std::size_t size) {
  return size >= sizeof kJp2Signature && std::memcmp(data, kJp2Signature, sizeof kJp2Signature) == 0;
}

std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const unsigned char* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}

// Markers without a length (Table A.2): SOC, SOD, EOC, EPH and the reserved FF30-FF3F.
bool has_no_length(std::uint16_t marker) {
  return (marker >= 0xFF30 && marker <= 0xFF3F) || marker == kSOC || marker == kSOD || marker == 0xFFD9 || marker == 0xFF92;
}

std::string hex(std::uint16_t marker) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) out += kDigits[(marker >> shift) & 0xF];
  return out;
}

// The marker segments of a codestream from SOC to the first start of data (SOD): each segment's length must
// fit in the bytes given, and COD must be long enough to hold the transform bytes a reader looks up.
std::string codestream_problem(const unsigned char* data, std::size_t size) {
  if (size < 4 || be16(data) != kSOC) return "the codestream does not begin with SOC (0xFF4F)";
  std::size_t pos = 2;
  while (true) {
    if (size - pos < 2) return "the codestream ends before its start of data (SOD)";
    const std::uint16_t marker = be16(data + pos);
    pos += 2;
    if (marker == kSOD) return "";
    if (has_no_length(marker)) continue;
    if (size - pos < 2) return "the codestream ends inside the length of marker " + hex(marker);
    const std::size_t length = be16(data + pos);
    if (length < 2) return "marker " + hex(marker) + " at byte " + std::to_string(pos - 2) + " declares a length below 2";
    if (length > size - pos) {
      return "marker " + hex(marker) + " at byte " + std::to_string(pos - 2) + " declares " + std::to_string(length) +
             " bytes but only " + std::to_string(size - pos) + " remain";
    }
    // Lcod is at least 12 (A.6.1); byte 9 after the length is the wavelet transform, byte 4 the colour transform.
    if (marker == kCOD && length < 12) return "the coding style (COD) segment is " + std::to_string(length) + " bytes (at least 12)";
    pos += length;
  }
}

// A JP2 file: its boxes must fit, and its contiguous codestream box must hold a sound codestream.
std::string jp2_problem(const unsigned char* data, std::size_t size) {
  std::size_t pos = 0;
  while (size - pos >= 8) {
    std::uint64_t length = be32(data + pos);
    const std::uint32_t type = be32(data + pos + 4);
    std::size_t header = 8;
    if (length == 1) {
      if (size - pos < 16) return "a JP2 box is cut inside its extended length";
      length = std::uint64_t(be32(data + pos + 8)) << 32 | be32(data + pos + 12);
      header = 16;
    } else if (length == 0) {
      length = size - pos;  // the last box runs to the end
    }
    if (length < header || length > size - pos) return "a JP2 box declares " + std::to_string(length) + " bytes where " +
                                                        std::to_string(size - pos) + " remain";
    if (type == kContiguousCodestreamBox) return codestream_problem(data + pos + header, static_cast<std::size_t>(length) - header);
    pos += static_cast<std::size_t>(length);
  }
  return "the JP2 file has no codestream box";
}

// --- OpenJPEG over memory ---------------------------------------------------------------------------------
struct MemoryStream {
  const unsigned char* data;
  std::size_t size;
  std::size_t pos = 0;
};

OPJ_SIZE_T read_memory(void* out, OPJ_SIZE_T n, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  const std::size_t left = s->size - s->pos;
  if (left == 0) return static_cast<OPJ_SIZE_T>(-1);
  const std::size_t take = n < left ? n : left;
  std::memcpy(out, s->data + s->pos, take);
  s->pos += take;
  return take;
}

OPJ_OFF_T skip_memory(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (n < 0 || static_cast<std::uint64_t>(n) > s->size - s->pos) {
    s->pos = s->size;
    return -1;
  }
  s->pos += static_cast<std::size_t>(n);
  return n;
}

OPJ_BOOL seek_memory(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (n < 0 || static_cast<std::uint64_t>(n) > s->size) return OPJ_FALSE;
  s->pos = static_cast<std::size_t>(n);
  return OPJ_TRUE;
}

void keep_first_error(const char* message, void* user) {
  auto* error = static_cast<std::string*>(user);
  if (!error->empty() || message == nullptr) return;
  *error = message;
  while (!error->empty() && (error->back() == '\n' || error->back() == ' ')) error->pop_back();
}
void ignore_message(const char*, void*) {}

std::string failed(const char* what, const std::string& error) { return std::string(what) + (error.empty() ? "" : ": " + error); }

// Codec, stream and image, released together.
struct Decoding {
  opj_codec_t* codec = nullptr;
  opj_stream_t* stream = nullptr;
  opj_image_t* image = nullptr;
  ~Decoding() {
    if (image != nullptr) opj_image_destroy(image);
    if (stream != nullptr) opj_stream_destroy(stream);
    if (codec != nullptr) opj_destroy_codec(codec);
  }
};

std::string frame_shape(std::uint64_t cols, std::uint64_t rows, std::uint64_t components) {
  return std::to_string(cols) + " x " + std::to_string(rows) + " pixels of " + std::to_string(components) +
         (components == 1 ? " component" : " components");
}

// The decoded components must be the frame the DICOM header declares: same count, size, no subsampling, and
// samples that fit in the bytes allocated.
std::string image_mismatch(const opj_image_t& image, const DecodeTarget& target) {
  if (static_cast<int>(image.numcomps) != target.components) {
    return "the codestream has " + std::to_string(image.numcomps) + " components where the header declares " +
           std::to_string(target.components);
  }
  for (OPJ_UINT32 c = 0; c < image.numcomps; ++c) {
    const opj_image_comp_t& comp = image.comps[c];
    if (comp.data == nullptr) return "component " + std::to_string(c) + " was not decoded";
    if (comp.dx != 1 || comp.dy != 1) return "subsampled components are not supported";
    if (static_cast<int>(comp.w) != target.cols || static_cast<int>(comp.h) != target.rows) {
      return "the codestream is " + std::to_string(comp.w) + " x " + std::to_string(comp.h) + " where the header declares " +
             std::to_string(target.cols) + " x " + std::to_string(target.rows);
    }
    if (comp.prec < 1 || static_cast<int>(comp.prec) > 8 * target.bytes_per_sample) {
      return "a sample precision of " + std::to_string(comp.prec) + " bits does not fit in " +
             std::to_string(8 * target.bytes_per_sample) + " allocated bits";
    }
  }
  return "";
}

// OpenJPEG's codec and stream over `memory`, its main header read into d.image; "" or the reason.
std::string read_header(MemoryStream& memory, Decoding& d, std::string& error) {
  const bool jp2 = is_jp2(memory.data, memory.size);
  d.codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  d.stream = opj_stream_default_create(OPJ_TRUE);
  if (d.codec == nullptr || d.stream == nullptr) return "the JPEG 2000 decoder could not be created";
  opj_set_error_handler(d.codec, keep_first_error, &error);
  opj_set_warning_handler(d.codec, ignore_message, nullptr);
  opj_set_info_handler(d.codec, ignore_message, nullptr);
  opj_stream_set_user_data(d.stream, &memory, nullptr);
  opj_stream_set_user_data_length(d.stream, memory.size);
  opj_stream_set_read_function(d.stream, read_memory);
  opj_stream_set_skip_function(d.stream, skip_memory);
  opj_stream_set_seek_function(d.stream, seek_memory);
  opj_dparameters_t parameters;
  opj_set_default_decoder_parameters(&parameters);
  if (!opj_setup_decoder(d.codec, &parameters)) return failed("the JPEG 2000 decoder refused its parameters", error);
  if (!opj_read_header(d.stream, d.codec, &d.image) || d.image == nullptr) return failed("the JPEG 2000 header cannot be read", error);
  return "";
}

}  // namespace

bool is_jpeg2000_syntax(const std::string& uid) {
  static const std::string kPrefix = "1.2.840.10008.1.2.4.9";
  return uid.size() == kPrefix.size() + 1 && uid.compare(0, kPrefix.size(), kPrefix) == 0 && uid.back() >= '0' && uid.back() <= '3';
}

std::string jpeg2000_header_problem(const unsigned char* data, std::size_t size) {
  return is_jp2(data, size) ? jp2_problem(data, size) : codestream_problem(data, size);
}

std::string jpeg2000_first_fragment_problem(const unsigned char* data, std::size_t size) {
  if (std::string problem = jpeg2000_header_problem(data, size); !problem.empty()) return problem;
  MemoryStream memory{data, size};
  std::string error;
  Decoding d;
  if (std::string problem = read_header(memory, d, error); !problem.empty()) return problem;
  // GDCM's GetHeaderInfo returns early, without releasing OpenJPEG's objects, unless there are 1 or 3
  // components of at most 32 bits, the three alike.
  const opj_image_t& image = *d.image;
  if (image.numcomps != 1 && image.numcomps != 3) return std::to_string(image.numcomps) + " components (1 or 3 expected)";
  for (OPJ_UINT32 c = 0; c < image.numcomps; ++c) {
    const opj_image_comp_t& comp = image.comps[c];
    const opj_image_comp_t& first = image.comps[0];
    if (comp.prec > 32 || comp.prec != first.prec || comp.sgnd != first.sgnd || comp.w != first.w || comp.h != first.h)
      return "components of different sizes or precisions, or above 32 bits";
  }
  return "";
}

std::string decode_jpeg2000(const unsigned char* data, std::size_t size, const DecodeTarget& target, unsigned char* out) {
  if (std::string problem = jpeg2000_header_problem(data, size); !problem.empty()) return problem;
  MemoryStream memory{data, size};
  std::string error;
  Decoding d;
  if (std::string problem = read_header(memory, d, error); !problem.empty()) return problem;
  // The declared size is checked before any tile is decoded: a damaged header cannot make OpenJPEG allocate
  // for an image other than the one the DICOM header bounds.
  if (d.image->numcomps != static_cast<OPJ_UINT32>(target.components) ||
      d.image->x1 - d.image->x0 != static_cast<OPJ_UINT32>(target.cols) ||
      d.image->y1 - d.image->y0 != static_cast<OPJ_UINT32>(target.rows)) {
    return "the codestream is " + frame_shape(d.image->x1 - d.image->x0, d.image->y1 - d.image->y0, d.image->numcomps) +
           " where the header declares " + frame_shape(target.cols, target.rows, target.components);
  }
  if (!opj_decode(d.codec, d.stream, d.image) || !opj_end_decompress(d.codec, d.stream))
    return failed("the JPEG 2000 data cannot be decoded", error);
  if (std::string mismatch = image_mismatch(*d.image, target); !mismatch.empty()) return mismatch;
  // Samples as GDCM gives them: the low bits of each decoded value, 16-bit little-endian, pixel-interleaved.
  const std::size_t pixels = static_cast<std::size_t>(target.rows) * static_cast<std::size_t>(target.cols);
  const int components = target.components;
  for (int c = 0; c < components; ++c) {
    const OPJ_INT32* values = d.image->comps[c].data;
    for (std::size_t i = 0; i < pixels; ++i) {
      const std::uint32_t v = static_cast<std::uint32_t>(values[i]);
      unsigned char* sample = out + (i * static_cast<std::size_t>(components) + static_cast<std::size_t>(c)) *
                                        static_cast<std::size_t>(target.bytes_per_sample);
      sample[0] = static_cast<unsigned char>(v);
      if (target.bytes_per_sample == 2) sample[1] = static_cast<unsigned char>(v >> 8);
    }
  }
  return "";
}

}  // namespace echo::io_detail
