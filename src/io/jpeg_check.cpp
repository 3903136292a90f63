// libjpeg header read that reports warnings (see jpeg_check.hpp).
#include "io/jpeg_check.hpp"

#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>

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

}  // namespace

bool jpeg_header_warns(const char* data, std::size_t size) {
  if (data == nullptr || size < 2) return false;
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

}  // namespace echo::io_detail
