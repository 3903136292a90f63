// echoa review export: reviewed studies -> a site dataset in the EchoNet-Dynamic layout that
// models/echo_data.py reads (Videos/<name>.avi, FileList.csv, VolumeTracings.csv), plus the sector
// mask the SDK found (Sectors/<name>.png), so that fine-tuning crops the loop as the SDK does.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "echo/file_io.hpp"
#include "echo/geometry.hpp"
#include "echo/io.hpp"
#include "echo/preprocess.hpp"
#include "echo/review.hpp"
#include "review/review_internal.hpp"

namespace echo {
namespace {

namespace fs = std::filesystem;
using review::json;

constexpr const char* kFileListHeader = "FileName,EF,ESV,EDV,FrameHeight,FrameWidth,FPS,NumberOfFrames,Split\n";
constexpr const char* kTracingsHeader = "FileName,X1,Y1,X2,Y2,Frame\n";

std::string number(double v) {
  if (!std::isfinite(v)) return "";
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", v);
  return text;
}

std::string number(const json& v) { return v.is_number() ? number(v.get<double>()) : std::string(); }

// The review folders named: a folder with result.json, or every such folder directly inside it.
std::vector<fs::path> study_dirs(const std::vector<std::string>& inputs) {
  std::vector<fs::path> out;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (fs::is_regular_file(fs::path(input) / "result.json", ec)) {
      out.emplace_back(input);
      continue;
    }
    std::vector<fs::path> inside;
    for (const auto& entry : fs::directory_iterator(input, ec))
      if (entry.is_directory() && fs::is_regular_file(entry.path() / "result.json", ec)) inside.push_back(entry.path());
    std::sort(inside.begin(), inside.end());
    out.insert(out.end(), inside.begin(), inside.end());
  }
  return out;
}

// VolumeTracings rows of one traced frame: the long axis, then chords across the LV from base to apex
// (one end of every chord on the same side), which echo_data.py turns back into the cavity polygon.
Expected<std::string> tracing_rows(const std::string& name, const json& keyframe, const PixelSpacing& spacing, int chords,
                                   const std::string& field) {
  auto contour = review::contour_from_json(keyframe.value("contour_px", json::array()), field + ".contour_px");
  if (!contour) return tl::unexpected(contour.error());
  LvGeometryOptions options;
  options.disc_count = chords;
  const LvGeometry g = measure_lv_contour(*contour, spacing, options);
  if (!g.valid) return make_error(ErrorCode::invalid_argument, field + ".contour_px: " + g.invalid_reason);
  const int frame = keyframe.value("frame", -1);
  std::ostringstream rows;
  auto row = [&](Point2 a, Point2 b) {
    rows << name << "," << number(a.x) << "," << number(a.y) << "," << number(b.x) << "," << number(b.y) << "," << frame << "\n";
  };
  row(g.annulus_mid_px, g.apex_px);
  const Point2 first_a = g.discs.front().a_px;
  const double d_left = std::hypot(g.annulus_left_px.x - first_a.x, g.annulus_left_px.y - first_a.y);
  const double d_right = std::hypot(g.annulus_right_px.x - first_a.x, g.annulus_right_px.y - first_a.y);
  if (d_left <= d_right) row(g.annulus_left_px, g.annulus_right_px);
  else row(g.annulus_right_px, g.annulus_left_px);
  for (const Disc& d : g.discs) row(d.a_px, d.b_px);
  row(g.apex_px, g.apex_px);
  return rows.str();
}

std::set<std::string> listed_names(const std::string& file_list) {
  std::set<std::string> names;
  std::istringstream in(file_list);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line))
    if (!line.empty()) names.insert(fs::path(line.substr(0, line.find(','))).stem().string());  // FileName may carry .avi
  return names;
}

struct Dataset {
  std::string file_list = kFileListHeader;
  std::string tracings = kTracingsHeader;
  std::set<std::string> names;
};

Expected<Dataset> open_dataset(const fs::path& out) {
  Dataset d;
  std::error_code ec;
  if (fs::is_regular_file(out / "FileList.csv", ec)) {
    auto text = review::read_text_file((out / "FileList.csv").string(), "FileList.csv");
    if (!text) return tl::unexpected(text.error());
    if (text->rfind("FileName,", 0) != 0) return make_error(ErrorCode::malformed, (out / "FileList.csv").string() + ": not a FileList table");
    d.file_list = *text;
    auto tracings = review::read_text_file((out / "VolumeTracings.csv").string(), "VolumeTracings.csv");
    if (!tracings) return tl::unexpected(tracings.error());
    d.tracings = *tracings;
    d.names = listed_names(d.file_list);
  }
  return d;
}

// One accepted or corrected study into the dataset (video, sector, rows).
Expected<bool> export_study(const json& final_result, const fs::path& out, const SiteExportOptions& options, Dataset& d) {
  const json& rv = final_result["review"];
  const std::string hash = rv.value("study_sha256", std::string());
  const std::string name = "S" + hash.substr(0, 16);
  if (d.names.count(name)) return false;
  const std::string source = rv.value("source_file", std::string());
  auto cine = read_file(source);
  if (!cine) return make_error(cine.error().code, "source of study " + name + ": " + cine.error().message);
  if (study_pixel_sha256(*cine) != hash)
    return make_error(ErrorCode::invalid_argument, "source of study " + name + " ('" + source + "') no longer holds the reviewed loop (pixel hash differs)");
  PixelSpacing spacing;
  if (rv.contains("spacing_mm_per_px") && rv["spacing_mm_per_px"].is_array())
    spacing = {rv["spacing_mm_per_px"][0].get<double>(), rv["spacing_mm_per_px"][1].get<double>()};
  std::string rows;
  for (const char* key : {"ed", "es"}) {
    if (!final_result.contains(key) || !final_result[key].is_object())
      return make_error(ErrorCode::invalid_argument, "final result of study " + name + ": no " + key + " keyframe");
    auto r = tracing_rows(name, final_result[key], spacing, options.tracing_chords, "final." + std::string(key));
    if (!r) return tl::unexpected(r.error());
    rows += *r;
  }
  auto pre = preprocess(*cine);
  if (!pre) return tl::unexpected(pre.error());
  std::error_code ec;
  fs::create_directories(out / "Videos", ec);
  fs::create_directories(out / "Sectors", ec);
  if (ec) return make_error(ErrorCode::io_failed, "cannot create folders in '" + out.string() + "': " + ec.message());
  const Image8& sector = pre->sector.mask;
  const cv::Mat sector_mat(sector.height, sector.width, CV_8UC1, const_cast<std::uint8_t*>(sector.pixels.data()));
  std::vector<std::uint8_t> sector_png;
  if (!cv::imencode(".png", sector_mat, sector_png))
    return make_error(ErrorCode::internal, "cannot encode the sector mask of " + name);
  // The loop and its sector mask go together: a failed mask removes the loop just written.
  const fs::path video = out / "Videos" / (name + ".avi");
  if (auto w = write_video_file(*cine, video.string()); !w) return tl::unexpected(w.error());
  if (auto w = write_file_atomically((out / "Sectors" / (name + ".png")).string(), sector_png.data(), sector_png.size()); !w) {
    fs::remove(video, ec);
    return tl::unexpected(w.error());
  }
  d.file_list += name + ".avi," + number(final_result["ef_percent"]) + "," + number(final_result["esv_ml"]) + "," +
                 number(final_result["edv_ml"]) + "," + std::to_string(cine->rows) + "," + std::to_string(cine->cols) + "," +
                 number(cine->fps()) + "," + std::to_string(cine->frame_count()) + "," + options.split + "\n";
  d.tracings += rows;
  d.names.insert(name);
  return true;
}

}  // namespace

Expected<SiteExportSummary> export_site_dataset(const std::vector<std::string>& review_dirs, const std::string& out_dir,
                                                const SiteExportOptions& options) {
  if (options.tracing_chords < 4 || options.tracing_chords > 200)
    return make_error(ErrorCode::invalid_argument, "export: tracing_chords must be 4..200");
  for (const std::string& input : review_dirs) {
    std::error_code ec;
    if (!fs::is_directory(input, ec)) return make_error(ErrorCode::not_found, "export: '" + input + "' is not a folder");
  }
  const fs::path out(out_dir);
  auto dataset = open_dataset(out);
  if (!dataset) return tl::unexpected(dataset.error());
  SiteExportSummary summary;
  json exported = json::array();
  for (const fs::path& dir : study_dirs(review_dirs)) {
    std::error_code ec;
    if (!fs::is_regular_file(dir / "final.json", ec)) {
      summary.not_reviewed.push_back(dir.filename().string() + ": no final.json (run echoa review apply)");
      continue;
    }
    auto text = review::read_text_file((dir / "final.json").string(), "final result");
    if (!text) return tl::unexpected(text.error());
    auto final_result = review::parse_json(*text, (dir / "final.json").string());
    if (!final_result) return tl::unexpected(final_result.error());
    const json& cr = final_result->value("clinician_review", json(nullptr));
    if (!cr.is_object() || !final_result->contains("review"))
      return make_error(ErrorCode::invalid_argument, (dir / "final.json").string() + ": not a reviewed result (clinician_review missing)");
    const std::string status = cr.value("status", std::string());
    if (status == "rejected") {
      summary.rejected.push_back(dir.filename().string() + ": rejected by the reviewer (" + cr.value("reviewer_role", std::string()) +
                                 "): " + cr.value("reject_reason", std::string()));
      continue;
    }
    auto added = export_study(*final_result, out, options, *dataset);
    if (!added) return tl::unexpected(added.error());
    if (*added) ++summary.exported;
    else ++summary.already_present;
    exported.push_back({{"review_folder", dir.filename().string()}, {"status", status}, {"added", *added}});
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return make_error(ErrorCode::io_failed, "cannot create '" + out_dir + "': " + ec.message());
  const json log = {{"schema", "echoanalyzer.site_export/1"}, {"studies", exported}, {"exported", summary.exported},
                    {"already_present", summary.already_present}, {"rejected", summary.rejected},
                    {"not_reviewed", summary.not_reviewed}, {"layout", "EchoNet-Dynamic (models/echo_data.py echonet:DIR)"}};
  if (auto w = review::write_text_files({{(out / "FileList.csv").string(), dataset->file_list},
                                         {(out / "VolumeTracings.csv").string(), dataset->tracings},
                                         {(out / "review_export.json").string(), log.dump(2) + "\n"}});
      !w) {
    return tl::unexpected(w.error());
  }
  return summary;
}

}  // namespace echo
