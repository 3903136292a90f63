// Reading LV mask sequences: a NumPy .npy file (uint8, N x H x W) or a folder of per-frame images.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "echo/geometry.hpp"

namespace echo {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMaxMaskBytes = 1ull << 32;  // 4 GiB: refuse before allocating

std::string quoted(const std::string& path) { return "'" + path + "'"; }

// The value text of `key` in the NPY header dict ("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 4, 5), }").
bool header_value(const std::string& header, const std::string& key, std::string* value) {
  const std::size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) return false;
  std::size_t begin = header.find(':', at);
  if (begin == std::string::npos) return false;
  ++begin;
  while (begin < header.size() && header[begin] == ' ') ++begin;
  std::size_t end = begin;
  if (begin < header.size() && header[begin] == '(') {
    end = header.find(')', begin);
    if (end == std::string::npos) return false;
    ++end;
  } else {
    while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  }
  *value = header.substr(begin, end - begin);
  while (!value->empty() && value->back() == ' ') value->pop_back();
  return true;
}

bool parse_shape(const std::string& text, std::vector<std::uint64_t>* shape) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return false;
  std::string number;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char ch = text[i];
    if (std::isdigit(static_cast<unsigned char>(ch))) {
      number += ch;
      if (number.size() > 12) return false;
    } else if (ch == ',' || ch == ')') {
      if (!number.empty()) shape->push_back(std::stoull(number));
      number.clear();
    } else if (ch != ' ') {
      return false;
    }
  }
  return true;
}

// Natural order: "frame2" before "frame10".
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t i_end = i, j_end = j;
      while (i_end < a.size() && std::isdigit(static_cast<unsigned char>(a[i_end]))) ++i_end;
      while (j_end < b.size() && std::isdigit(static_cast<unsigned char>(b[j_end]))) ++j_end;
      std::string da = a.substr(i, i_end - i), db = b.substr(j, j_end - j);
      da.erase(0, std::min(da.find_first_not_of('0'), da.size()));
      db.erase(0, std::min(db.find_first_not_of('0'), db.size()));
      if (da.size() != db.size()) return da.size() < db.size();
      if (da != db) return da < db;
      i = i_end, j = j_end;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i, ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

bool is_image_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".bmp" || ext == ".tif" || ext == ".tiff" || ext == ".jpg" || ext == ".jpeg" ||
         ext == ".pgm";
}

}  // namespace

Expected<std::vector<Image8>> read_mask_npy(const std::string& path) {
  std::error_code ec;  // a FIFO or a device could block the read forever
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    return make_error(ErrorCode::invalid_argument, "reading masks " + quoted(path) + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::not_found, "reading masks " + quoted(path) + ": cannot open the file");
  char magic[8] = {};
  in.read(magic, 8);
  if (in.gcount() != 8 || std::string(magic, 6) != "\x93NUMPY")
    return make_error(ErrorCode::malformed, "reading masks " + quoted(path) + ": not a NumPy .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  std::uint64_t header_length = 0;
  if (major == 1) {
    unsigned char bytes[2] = {};
    in.read(reinterpret_cast<char*>(bytes), 2);
    header_length = bytes[0] | (bytes[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char bytes[4] = {};
    in.read(reinterpret_cast<char*>(bytes), 4);
    header_length = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (static_cast<std::uint64_t>(bytes[3]) << 24);
  } else {
    return make_error(ErrorCode::unsupported, "reading masks " + quoted(path) + ": NPY format version " +
                                                  std::to_string(major) + " is not supported");
  }
  if (!in || header_length > (1u << 20))
    return make_error(ErrorCode::malformed, "reading masks " + quoted(path) + ": truncated or oversized NPY header");
  std::string header(header_length, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_length));
  if (static_cast<std::uint64_t>(in.gcount()) != header_length)
    return make_error(ErrorCode::malformed, "reading masks " + quoted(path) + ": truncated NPY header");

  std::string descr, fortran, shape_text;
  if (!header_value(header, "descr", &descr) || !header_value(header, "fortran_order", &fortran) ||
      !header_value(header, "shape", &shape_text))
    return make_error(ErrorCode::malformed, "reading masks " + quoted(path) + ": NPY header lacks descr, fortran_order or shape");
  if (descr != "'|u1'" && descr != "'<u1'" && descr != "'>u1'" && descr != "'u1'" && descr != "'|b1'")
    return make_error(ErrorCode::unsupported, "reading masks " + quoted(path) + ": dtype " + descr +
                                                  " is not supported (masks must be uint8 or bool)");
  if (fortran != "False")
    return make_error(ErrorCode::unsupported, "reading masks " + quoted(path) + ": Fortran-order arrays are not supported");
  std::vector<std::uint64_t> shape;
  if (!parse_shape(shape_text, &shape) || (shape.size() != 2 && shape.size() != 3))
    return make_error(ErrorCode::malformed, "reading masks " + quoted(path) + ": shape " + shape_text +
                                                " is not (N, H, W) or (H, W)");
  if (shape.size() == 2) shape.insert(shape.begin(), 1);
  const std::uint64_t frames = shape[0], height = shape[1], width = shape[2];
  if (frames == 0 || height == 0 || width == 0)
    return make_error(ErrorCode::invalid_argument, "reading masks " + quoted(path) + ": the array is empty");
  if (height > 65535 || width > 65535 || frames > kMaxMaskBytes || frames * height * width > kMaxMaskBytes)
    return make_error(ErrorCode::too_large, "reading masks " + quoted(path) + ": " + shape_text + " exceeds the 4 GiB limit");

  std::vector<Image8> masks;
  masks.reserve(static_cast<std::size_t>(frames));
  for (std::uint64_t f = 0; f < frames; ++f) {
    Image8 mask(static_cast<int>(width), static_cast<int>(height));
    in.read(reinterpret_cast<char*>(mask.pixels.data()), static_cast<std::streamsize>(mask.pixels.size()));
    if (static_cast<std::size_t>(in.gcount()) != mask.pixels.size())
      return make_error(ErrorCode::malformed, "reading masks " + quoted(path) + ": data ends inside frame " +
                                                  std::to_string(f) + " of " + std::to_string(frames));
    masks.push_back(std::move(mask));
  }
  return masks;
}

Expected<std::vector<Image8>> read_mask_folder(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec))
    return make_error(ErrorCode::not_found, "reading masks " + quoted(path) + ": not a folder");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(path, ec))
    if (entry.is_regular_file() && is_image_name(entry.path())) names.push_back(entry.path().filename().string());
  if (ec) return make_error(ErrorCode::io_failed, "reading masks " + quoted(path) + ": " + ec.message());
  if (names.empty())
    return make_error(ErrorCode::invalid_argument, "reading masks " + quoted(path) + ": no mask images (.png, .bmp, .tif, .jpg, .pgm) in the folder");
  std::sort(names.begin(), names.end(), natural_less);
  std::vector<Image8> masks;
  for (const std::string& name : names) {
    const std::string file = (fs::path(path) / name).string();
    cv::Mat image;
    try {
      image = cv::imread(file, cv::IMREAD_GRAYSCALE);
    } catch (const cv::Exception& e) {
      return make_error(ErrorCode::malformed, "reading mask " + quoted(file) + ": " + e.what());
    }
    if (image.empty()) return make_error(ErrorCode::malformed, "reading mask " + quoted(file) + ": not a readable image");
    if (!masks.empty() && (image.cols != masks.front().width || image.rows != masks.front().height))
      return make_error(ErrorCode::invalid_argument, "reading mask " + quoted(file) + ": size " + std::to_string(image.cols) +
                                                         "x" + std::to_string(image.rows) + " differs from the first frame's");
    Image8 mask(image.cols, image.rows);
    for (int y = 0; y < image.rows; ++y) std::copy(image.ptr<std::uint8_t>(y), image.ptr<std::uint8_t>(y) + image.cols, &mask.at(0, y));
    masks.push_back(std::move(mask));
  }
  return masks;
}

Expected<std::vector<Image8>> read_masks(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return read_mask_folder(path);
  if (!fs::exists(path, ec)) return make_error(ErrorCode::not_found, "reading masks " + quoted(path) + ": no such file or folder");
  return read_mask_npy(path);
}

}  // namespace echo
