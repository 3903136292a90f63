// read_file: DICOM by content, else video or still image by extension.
#include <filesystem>
#include <fstream>

#include "io/io_internal.hpp"

namespace echo {

Expected<void> io_detail::check_input_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) return make_error(ErrorCode::not_found, reading(path) + "no such file");
  if (std::filesystem::is_directory(status)) return make_error(ErrorCode::invalid_argument, reading(path) + "is a directory");
  if (!std::filesystem::is_regular_file(status)) {
    return make_error(ErrorCode::invalid_argument, reading(path) + "is not a regular file (a FIFO, a device or a socket)");
  }
  return {};
}

Expected<Cine> read_file(const std::string& path, const ReadOptions& options) {
  using io_detail::has_extension;
  if (auto ok = io_detail::check_input_file(path); !ok) return tl::unexpected(ok.error());
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::io_failed, io_detail::reading(path) + "cannot open the file");
  char preamble[132] = {};
  in.read(preamble, sizeof preamble);
  const bool dicm = in.gcount() == 132 && std::string(preamble + 128, 4) == "DICM";
  if (dicm) return read_dicom_file(path, options);
  if (has_extension(path, {"avi", "mp4", "m4v", "mov", "mkv", "wmv", "mpg", "mpeg"})) return read_video_file(path, options);
  if (has_extension(path, {"png", "jpg", "jpeg", "bmp", "tif", "tiff"})) return read_image_file(path, options);
  // No preamble: a bare DICOM data set (or nothing we know); the DICOM parser decides.
  auto dicom = read_dicom_file(path, options);
  if (!dicom && dicom.error().code == ErrorCode::malformed && !has_extension(path, {"dcm", "dicom", "dic"})) {
    return make_error(ErrorCode::unsupported, io_detail::reading(path) +
                                                  "not DICOM, and the extension names no video or image format");
  }
  return dicom;
}

Expected<std::unique_ptr<FrameSource>> open_frame_source(const std::string& path, const ReadOptions& options) {
  if (auto ok = io_detail::check_input_file(path); !ok) return tl::unexpected(ok.error());
  std::ifstream in(path, std::ios::binary);
  char preamble[132] = {};
  in.read(preamble, sizeof preamble);
  if (in.gcount() == 132 && std::string(preamble + 128, 4) == "DICM") return io_detail::open_dicom_file_source(path, options);
  auto cine = read_file(path, options);
  if (!cine) return tl::unexpected(cine.error());
  return io_detail::frame_source_owning(std::move(*cine));
}

}  // namespace echo
