// The review page: the template filled with the review result and the loop's frames (JPEG, inline).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "echo/review.hpp"
#include "review/review_internal.hpp"
#include "review/review_page.hpp"

namespace echo {
namespace {

constexpr int kMaxPageWidth = 640;  // wide enough to drag a contour point, small enough for a 100-frame page

std::string base64(const std::vector<unsigned char>& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], table[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = bytes[i] << 16;
    out += {table[v >> 18], table[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], '='};
  }
  return out;
}

// JSON inside <script>: '<' only occurs in strings, where \u003c means the same and cannot close the tag.
std::string script_safe(const std::string& json_text) {
  std::string out;
  out.reserve(json_text.size());
  for (char c : json_text) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

Expected<std::string> frames_json(const Cine& cine) {
  const double scale = std::min(1.0, static_cast<double>(kMaxPageWidth) / cine.cols);
  const int width = std::max(1, static_cast<int>(std::lround(cine.cols * scale)));
  const int height = std::max(1, static_cast<int>(std::lround(cine.rows * scale)));
  review::json frames = review::json::array();
  std::vector<unsigned char> jpeg;
  cv::Mat small;
  for (int i = 0; i < cine.frame_count(); ++i) {
    const cv::Mat gray(cine.rows, cine.cols, CV_8UC1, const_cast<std::uint8_t*>(cine.frame(i)));
    if (scale < 1.0) cv::resize(gray, small, cv::Size(width, height), 0, 0, cv::INTER_AREA);
    else small = gray;
    if (!cv::imencode(".jpg", small, jpeg, {cv::IMWRITE_JPEG_QUALITY, 85}))
      return make_error(ErrorCode::internal, "review page: frame " + std::to_string(i) + " could not be encoded");
    frames.push_back(base64(jpeg));
  }
  // width/height: the page's pixels; the result's coordinates are original pixels (x page/cols).
  return review::json{{"width", width}, {"height", height}, {"jpeg", frames}}.dump();
}

void replace_once(std::string& text, const std::string& placeholder, const std::string& value) {
  const std::size_t at = text.find(placeholder);
  if (at != std::string::npos) text.replace(at, placeholder.size(), value);
}

}  // namespace

Expected<std::string> review_page_html(const Cine& cine, const std::string& review_result_json) {
  auto parsed = review::parse_json(review_result_json, "review result");
  if (!parsed) return tl::unexpected(parsed.error());
  if (!parsed->contains("review") || parsed->value("frames", -1) != cine.frame_count())
    return make_error(ErrorCode::invalid_argument, "review page: the review result does not belong to this cine");
  auto frames = frames_json(cine);
  if (!frames) return tl::unexpected(frames.error());
  std::string html = review::page_template();
  const std::string hash = (*parsed)["review"].value("study_sha256", std::string());
  replace_once(html, "@@TITLE@@", html_escape("study " + hash.substr(0, 12)));
  replace_once(html, "@@FRAMES_JSON@@", script_safe(*frames));
  replace_once(html, "@@RESULT_JSON@@", script_safe(review_result_json));  // last: the data may hold '@@'
  return html;
}

Expected<void> write_review_page(const Cine& cine, const AnalysisResult& result, const std::string& source_file,
                                 const std::string& directory) {
  auto json_text = review_result_json(cine, result, source_file);
  if (!json_text) return tl::unexpected(json_text.error());
  auto html = review_page_html(cine, *json_text);
  if (!html) return tl::unexpected(html.error());
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return make_error(ErrorCode::io_failed, "cannot create '" + directory + "': " + ec.message());
  const std::filesystem::path dir(directory);
  return review::write_text_files({{(dir / "result.json").string(), *json_text + "\n"}, {(dir / "review.html").string(), *html}});
}

}  // namespace echo
