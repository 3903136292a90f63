// libjpeg header read that reports warnings (see jpeg_check.hpp).
#include "io/jpeg_check.hpp"

#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>
#include <charls/charls.h>

namespace echo::io_detail {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  bool warned = false;
};

void on_error(j_common_ptr info) { std::longjmp(reinterpret_cast<ErrorManager*>(info->err)->jump, 1); }

void on_message(j_common_ptr info, int level) {
  // level -1: a warning (GDCM tolerates only its own JWRN_MUST_DOWNSCALE, which this libjpeg never raises).
  if (level < 0) reinterpret_cast<ErrorManager*>(info->err)->warned = true;
}

void silent(j_common_ptr) {}

// libjpeg's "extraneous bytes before marker" warning, found without libjpeg: libjpeg-turbo stops reading at a
// frame header it has no decoder for (lossless SOF3 among them) and never sees the segments after it, where
// GDCM's IJG codec, which has those decoders, warns and asserts (found by the dicom fuzzer). True when a byte
// other than 0xFF fill, or 0xFF 0x00, stands where a marker must, between SOI and the first SOS.
bool extraneous_bytes_before_a_marker(const unsigned char* bytes, std::size_t size) {
  std::size_t pos = 2;
  while (pos < size) {
    if (bytes[pos] != 0xff) return true;
    while (pos < size && bytes[pos] == 0xff) ++pos;
    if (pos >= size) return false;
    const unsigned char marker = bytes[pos];
    if (marker == 0x00) return true;
    if (marker == 0xda || marker == 0xd9) return false;          // scan data follow, or the end
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {  // markers without a length
      ++pos;
      continue;
    }
    if (pos + 2 >= size) return false;
    const std::size_t length = (static_cast<std::size_t>(bytes[pos + 1]) << 8) | bytes[pos + 2];
    if (length < 2) return false;  // an error for libjpeg, not a warning
    pos += 1 + length;
  }
  return false;
}

}  // namespace

bool jpeg_header_warns(const char* data, std::size_t size) {
  if (data == nullptr || size < 2) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  if (bytes[0] == 0xff && bytes[1] == 0xd8 && extraneous_bytes_before_a_marker(bytes, size)) return true;
  jpeg_decompress_struct info{};
  ErrorManager errors;
  info.err = jpeg_std_error(&errors.pub);
  errors.pub.error_exit = on_error;
  errors.pub.emit_message = on_message;
  errors.pub.output_message = silent;
  if (setjmp(errors.jump) == 0) {
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(data), static_cast<unsigned long>(size));
    jpeg_read_header(&info, TRUE);
  }
  jpeg_destroy_decompress(&info);
  return errors.warned;
}

int jpeg_sample_precision(const char* data, std::size_t size) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  if (data == nullptr || size < 4 || bytes[0] != 0xff || bytes[1] != 0xd8) return -1;
  std::size_t pos = 2;
  while (pos + 4 <= size) {
    if (bytes[pos] != 0xff) return -1;
    const unsigned char marker = bytes[pos + 1];
    if (marker == 0xff) {  // fill byte
      ++pos;
      continue;
    }
    const std::size_t length = (static_cast<std::size_t>(bytes[pos + 2]) << 8) | bytes[pos + 3];
    const bool frame_header = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (frame_header) return pos + 4 < size ? bytes[pos + 4] : -1;
    if (marker == 0xda || length < 2) return -1;  // scan data before any frame header
    pos += 2 + length;
  }
  return -1;
}

std::string jpeg_ls_first_fragment_problem(const unsigned char* data, std::size_t size) {
  JlsParameters parameters{};
  // The call GDCM makes (CharLS's legacy header reader, deprecated in CharLS 2.x), so that exactly the
  // fragments it would leak are refused.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  const auto result = JpegLsReadHeader(data, size, &parameters, nullptr);
#pragma GCC diagnostic pop
  if (result == CharlsApiResultType::OK) return "";
  return "the JPEG-LS header cannot be read (" + std::string(charls_get_error_message(static_cast<charls_jpegls_errc>(result))) + ")";
}

}  // namespace echo::io_detail
