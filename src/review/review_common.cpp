// The review result (report JSON + every frame's contour, pixel size, study hash) and the helpers the
// review files share.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "echo/file_io.hpp"
#include "echo/report.hpp"
#include "echo/review.hpp"
#include "echo/sha256.hpp"
#include "review/review_internal.hpp"

namespace echo {
namespace review {

Expected<json> parse_json(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    return make_error(ErrorCode::malformed, what + ": malformed JSON (" + e.what() + ")");
  }
}

Expected<Contour> contour_from_json(const json& value, const std::string& field) {
  if (!value.is_array()) return make_error(ErrorCode::invalid_argument, field + ": must be an array of [x, y] points");
  Contour contour;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const json& p = value[i];
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number() ||
        !std::isfinite(p[0].get<double>()) || !std::isfinite(p[1].get<double>())) {
      return make_error(ErrorCode::invalid_argument, field + "[" + std::to_string(i) + "]: not a pair of finite numbers [x, y]");
    }
    contour.push_back(Point2{p[0].get<double>(), p[1].get<double>()});
  }
  return contour;
}

json contour_to_json(const Contour& contour) {
  json out = json::array();
  for (const Point2& p : contour) out.push_back({p.x, p.y});
  return out;
}

namespace {

double orientation(const Point2& a, const Point2& b, const Point2& c) {
  return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}

bool on_segment(const Point2& a, const Point2& b, const Point2& p) {
  return std::min(a.x, b.x) <= p.x && p.x <= std::max(a.x, b.x) && std::min(a.y, b.y) <= p.y && p.y <= std::max(a.y, b.y);
}

bool segments_touch(const Point2& a, const Point2& b, const Point2& c, const Point2& d) {
  const double o1 = orientation(a, b, c), o2 = orientation(a, b, d), o3 = orientation(c, d, a), o4 = orientation(c, d, b);
  if (((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0))) return true;
  return (o1 == 0 && on_segment(a, b, c)) || (o2 == 0 && on_segment(a, b, d)) || (o3 == 0 && on_segment(c, d, a)) ||
         (o4 == 0 && on_segment(c, d, b));
}

}  // namespace

std::string self_intersection(const Contour& c) {
  const std::size_t n = c.size();
  for (std::size_t i = 0; i < n; ++i) {
    const Point2 &a = c[i], &b = c[(i + 1) % n];
    // Bounding-box reject first: O(n^2) pairs, but a contour has a few hundred points at most.
    for (std::size_t j = i + 2; j < n; ++j) {
      if (i == 0 && j == n - 1) continue;  // the closing edge shares point 0 with edge 0
      const Point2 &p = c[j], &q = c[(j + 1) % n];
      if (std::max(p.x, q.x) < std::min(a.x, b.x) || std::min(p.x, q.x) > std::max(a.x, b.x) ||
          std::max(p.y, q.y) < std::min(a.y, b.y) || std::min(p.y, q.y) > std::max(a.y, b.y)) {
        continue;
      }
      if (segments_touch(a, b, p, q)) {
        return "edge " + std::to_string(i) + "-" + std::to_string((i + 1) % n) + " crosses edge " + std::to_string(j) +
               "-" + std::to_string((j + 1) % n);
      }
    }
  }
  return "";
}

Expected<std::string> read_text_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return make_error(ErrorCode::not_found, what + " '" + path + "': no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::io_failed, what + " '" + path + "': cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Expected<void> write_text_files(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<FileBytes> bytes;
  for (const auto& [path, text] : files) bytes.push_back({path, text.data(), text.size()});
  return write_files_atomically(bytes);
}

}  // namespace review

std::string study_pixel_sha256(const Cine& cine) {
  // Dimensions first, so that the same bytes in another shape give another hash.
  std::string data = std::to_string(cine.frame_count()) + "x" + std::to_string(cine.rows) + "x" + std::to_string(cine.cols) + ":";
  data.append(reinterpret_cast<const char*>(cine.gray.data()), cine.gray.size());
  return sha256_hex(data.data(), data.size());
}

namespace {

// Two decimals of a pixel are far below what a clinician can see or drag, and keep the page small.
double round2(double v) { return std::round(v * 100.0) / 100.0; }

review::json rounded_contour(const Contour& contour) {
  review::json out = review::json::array();
  for (const Point2& p : contour) out.push_back({round2(p.x), round2(p.y)});
  return out;
}

review::json discs_json(const KeyframeGeometry& keyframe) {
  review::json out = review::json::array();
  if (!keyframe.geometry.valid) return out;
  for (const Disc& d : keyframe.geometry.discs) out.push_back({round2(d.a_px.x), round2(d.a_px.y), round2(d.b_px.x), round2(d.b_px.y)});
  return out;
}

}  // namespace

Expected<std::string> review_result_json(const Cine& cine, const AnalysisResult& result, const std::string& source_file) {
  using review::json;
  if (result.frame_contours_px.size() != static_cast<std::size_t>(cine.frame_count()) ||
      result.frame_count != cine.frame_count()) {
    return make_error(ErrorCode::invalid_argument,
                      "review: the result has no per-frame contours for this cine (analyse with keep_frame_contours)");
  }
  json report = json::parse(report_json(result, -1));
  json contours = json::array();
  for (const Contour& c : result.frame_contours_px) contours.push_back(rounded_contour(c));
  const bool calibrated = cine.calibration.known() && cine.calibration.trusted;
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(source_file, ec);
  report["review"] = {
      {"schema", review::kReviewSchema},
      {"study_sha256", study_pixel_sha256(cine)},
      {"source_file", ec ? source_file : absolute.lexically_normal().string()},
      {"spacing_mm_per_px", calibrated ? json{cine.calibration.mm_per_px_x, cine.calibration.mm_per_px_y} : json(nullptr)},
      {"frame_contours_px", contours},
      {"ed_discs_px", discs_json(result.ed)},
      {"es_discs_px", discs_json(result.es)},
  };
  return report.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace echo
