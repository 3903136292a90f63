#include "common/bounded_read.hpp"

#include <filesystem>
#include <fstream>

namespace echo {
namespace {

std::string size_phrase(std::uintmax_t bytes) {
  if (bytes > 0 && bytes % (std::uintmax_t(1) << 30) == 0) return std::to_string(bytes >> 30) + " GiB";
  if (bytes > 0 && bytes % (std::uintmax_t(1) << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

Expected<std::string> read_bounded_file(const std::string& path, std::uintmax_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return make_error(ErrorCode::not_found, "the file does not exist");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::io_failed, "cannot read its size");
  if (size > max_bytes) return make_error(ErrorCode::too_large, "larger than " + size_phrase(max_bytes));
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (!in || static_cast<std::uintmax_t>(in.gcount()) != size) return make_error(ErrorCode::io_failed, "read failed");
  return bytes;
}

}  // namespace echo
