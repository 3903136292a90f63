// Pictures: the keyframe with contour, long axis and discs; the volume curve with ED/ES marked.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <tuple>
#include <utility>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "echo/file_io.hpp"
#include "echo/report.hpp"
#include "render_image.hpp"

namespace echo {
namespace {

// Drawing uses 4x sub-pixel precision (shift = 2) so that contours from a small model grid stay smooth.
constexpr int kShift = 2;
constexpr double kSubpixel = 4.0;

cv::Point to_cv(Point2 p) {
  return {static_cast<int>(std::lround(p.x * kSubpixel)), static_cast<int>(std::lround(p.y * kSubpixel))};
}

void draw_geometry(cv::Mat& canvas, const LvGeometry& g) {
  const cv::Scalar contour_colour(60, 220, 60), axis_colour(40, 200, 255), disc_colour(255, 160, 60);
  for (const Disc& disc : g.discs) {
    cv::line(canvas, to_cv(disc.a_px), to_cv(disc.b_px), disc_colour, 1, cv::LINE_AA, kShift);
  }
  std::vector<cv::Point> polygon;
  for (const Point2& p : g.contour_px) polygon.push_back(to_cv(p));
  if (!polygon.empty()) cv::polylines(canvas, polygon, true, contour_colour, 1, cv::LINE_AA, kShift);
  cv::line(canvas, to_cv(g.annulus_mid_px), to_cv(g.apex_px), axis_colour, 1, cv::LINE_AA, kShift);
  for (Point2 p : {g.apex_px, g.annulus_left_px, g.annulus_right_px}) {
    cv::circle(canvas, to_cv(p), static_cast<int>(3 * kSubpixel), axis_colour, 1, cv::LINE_AA, kShift);
  }
}

}  // namespace

Expected<ImageRgb8> render_keyframe_overlay(const Image8& frame, const KeyframeGeometry& keyframe,
                                            const std::string& label) {
  if (frame.empty() || frame.pixels.size() != static_cast<std::size_t>(frame.width) * static_cast<std::size_t>(frame.height)) {
    return make_error(ErrorCode::no_result, "overlay '" + label + "': no keyframe pixels");
  }
  cv::Mat gray(frame.height, frame.width, CV_8UC1, const_cast<std::uint8_t*>(frame.pixels.data()));
  cv::Mat canvas;
  cv::cvtColor(gray, canvas, cv::COLOR_GRAY2BGR);
  if (keyframe.geometry.valid) draw_geometry(canvas, keyframe.geometry);
  const double font_scale = std::max(0.4, frame.width / 900.0);
  cv::putText(canvas, label, {8, static_cast<int>(24 * font_scale + 6)}, cv::FONT_HERSHEY_SIMPLEX, font_scale,
              cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  return report_detail::from_bgr(canvas);
}

Expected<ImageRgb8> render_keyframe_overlay(const Cine& cine, const KeyframeGeometry& keyframe,
                                            const std::string& label) {
  if (keyframe.frame < 0 || keyframe.frame >= cine.frame_count()) {
    return make_error(ErrorCode::no_result, "overlay '" + label + "': keyframe " + std::to_string(keyframe.frame) +
                                                " is not a frame of the cine");
  }
  return render_keyframe_overlay(cine.frame_image(keyframe.frame), keyframe, label);
}

Expected<ImageRgb8> render_volume_curve(const AnalysisResult& result, int width, int height) {
  const std::vector<double>& curve = result.lv_volume_ml.empty() ? result.lv_area_mm2 : result.lv_volume_ml;
  if (curve.size() < 2 || result.frame_times_ms.size() != curve.size() || width < 100 || height < 80) {
    return make_error(ErrorCode::no_result, "volume curve: fewer than two frames to plot");
  }
  cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const int left = 60, right = 16, top = 28, bottom = 36;
  const auto [min_it, max_it] = std::minmax_element(curve.begin(), curve.end());
  const double lo = *min_it, hi = std::max(*max_it, *min_it + 1e-9);
  const double t0 = result.frame_times_ms.front(), t1 = std::max(result.frame_times_ms.back(), t0 + 1e-9);
  auto to_px = [&](double t, double v) {
    const double x = left + (t - t0) / (t1 - t0) * (width - left - right);
    const double y = top + (1.0 - (v - lo) / (hi - lo)) * (height - top - bottom);
    return to_cv({x, y});
  };
  cv::rectangle(canvas, {left, top}, {width - right, height - bottom}, cv::Scalar(200, 200, 200));
  std::vector<cv::Point> line;
  for (std::size_t i = 0; i < curve.size(); ++i) line.push_back(to_px(result.frame_times_ms[i], curve[i]));
  cv::polylines(canvas, line, false, cv::Scalar(120, 60, 20), 2, cv::LINE_AA, kShift);
  for (const BeatResult& beat : result.beats) {
    const cv::Scalar ed_colour(40, 40, 220), es_colour(220, 120, 20);
    for (auto [frame, colour] : {std::pair{beat.ed_frame, ed_colour}, std::pair{beat.es_frame, es_colour}}) {
      if (frame < 0 || static_cast<std::size_t>(frame) >= curve.size()) continue;
      cv::circle(canvas, to_px(result.frame_times_ms[frame], curve[frame]), static_cast<int>(5 * kSubpixel), colour,
                 2, cv::LINE_AA, kShift);
    }
  }
  const bool in_ml = !result.lv_volume_ml.empty() && result.edv_ml.has_value();
  const std::string title = std::string(in_ml ? "LV volume (mL)" : "LV volume (relative units)") +
                            "  red: end-diastole  blue: end-systole";
  cv::putText(canvas, title, {left, 18}, cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  cv::putText(canvas, "time (ms)", {width / 2 - 30, height - 10}, cv::FONT_HERSHEY_SIMPLEX, 0.45,
              cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  char label[32];
  std::snprintf(label, sizeof label, "%.0f", hi);
  cv::putText(canvas, label, {4, top + 10}, cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  std::snprintf(label, sizeof label, "%.0f", lo);
  cv::putText(canvas, label, {4, height - bottom}, cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0), 1,
              cv::LINE_AA);
  return report_detail::from_bgr(canvas);
}

namespace {

// The PNG bytes of `image`; `path` only names the file in errors.
Expected<std::vector<std::uint8_t>> encode_png(const ImageRgb8& image, const std::string& path) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3) {
    return make_error(ErrorCode::invalid_argument, "writing '" + path + "': empty or inconsistent image");
  }
  cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> png;
  try {
    if (!cv::imencode(".png", bgr, png)) return make_error(ErrorCode::internal, "writing '" + path + "': PNG encoding failed");
  } catch (const cv::Exception& e) {
    return make_error(ErrorCode::internal, "writing '" + path + "': " + e.what());
  }
  return png;
}

}  // namespace

Expected<void> write_png(const ImageRgb8& image, const std::string& path) {
  auto png = encode_png(image, path);
  if (!png) return tl::unexpected(png.error());
  return write_file_atomically(path, png->data(), png->size());  // all or nothing (full disk, read-only folder)
}

Expected<void> write_overlays(const Cine& cine, const AnalysisResult& result, const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return make_error(ErrorCode::io_failed, "overlay folder '" + directory + "': " + ec.message());
  const std::filesystem::path dir(directory);
  // The set is all or nothing too: every picture is encoded first, then the set is written together.
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> pngs;
  auto add = [&](const ImageRgb8& image, const char* name) -> Expected<void> {
    const std::string path = (dir / name).string();
    auto png = encode_png(image, path);
    if (!png) return tl::unexpected(png.error());
    pngs.emplace_back(path, std::move(*png));
    return {};
  };
  for (auto [keyframe, name, label] : {std::tuple{&result.ed, "ed.png", "end-diastole"},
                                       std::tuple{&result.es, "es.png", "end-systole"}}) {
    if (keyframe->frame < 0) continue;
    auto image = render_keyframe_overlay(cine, *keyframe, std::string(label) + " (frame " +
                                                              std::to_string(keyframe->frame) + ")");
    if (!image) return tl::unexpected(image.error());
    if (auto added = add(*image, name); !added) return added;
  }
  if (auto curve = render_volume_curve(result)) {
    if (auto added = add(*curve, "volume_curve.png"); !added) return added;
  }
  std::vector<FileBytes> files;
  for (const auto& [path, png] : pngs) files.push_back({path, png.data(), png.size()});
  return write_files_atomically(files);
}

}  // namespace echo
