// Ground-truth files: JSON (layout in docs/phantom.md) and NumPy .npy arrays.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "echo/file_io.hpp"
#include "echo/synth.hpp"

namespace echo {
namespace {

double rounded(double v, double scale) { return std::isfinite(v) ? std::round(v * scale) / scale : v; }

nlohmann::json point_json(const Point2& p) { return nlohmann::json::array({rounded(p.x, 1000), rounded(p.y, 1000)}); }

// Writes a C-order uint8 array of shape (n, h, w) to a .npy file (format version 1.0).
Expected<void> write_npy_u8(const std::string& path, int n, int h, int w,
                            const std::function<const std::uint8_t*(int)>& frame) {
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + std::to_string(n) + ", " +
                       std::to_string(h) + ", " + std::to_string(w) + "), }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const std::uint16_t len = static_cast<std::uint16_t>(header.size());
  const std::size_t frame_bytes = static_cast<std::size_t>(h) * w;
  std::string bytes(reinterpret_cast<const char*>(magic), 8);
  bytes.reserve(10 + header.size() + frame_bytes * static_cast<std::size_t>(n));
  bytes.push_back(static_cast<char>(len & 0xff));
  bytes.push_back(static_cast<char>(len >> 8));
  bytes += header;
  for (int i = 0; i < n; ++i) bytes.append(reinterpret_cast<const char*>(frame(i)), frame_bytes);
  return write_file_atomically(path, bytes);  // all or nothing (echo/file_io.hpp)
}

}  // namespace

Expected<void> write_truth_json(const SynthTruth& t, const std::string& path) {
  using nlohmann::json;
  try {
    json j;
    j["format"] = "echoanalyzer-phantom-truth";
    j["format_version"] = 1;
    const SynthParams& p = t.params;
    json params;
    params["view"] = synth_view_name(p.view);
    params["ef_percent"] = p.ef_percent;
    params["heart_rate_bpm"] = p.heart_rate_bpm;
    params["seed"] = p.seed;
    params["width"] = p.width;
    params["height"] = p.height;
    params["fps"] = p.fps;
    params["beats"] = p.beats;
    params["frame_count"] = p.frame_count;
    params["depth_mm"] = p.depth_mm;
    params["sector_angle_deg"] = p.sector_angle_deg;
    params["overlays"] = p.overlays;
    params["irregular_rhythm"] = p.irregular_rhythm;
    params["respiration"] = p.respiration;
    params["shape_irregularity"] = p.shape_irregularity;
    j["params"] = params;
    json artifacts = json::array();
    for (Artifact a : t.artifacts) artifacts.push_back(artifact_name(a));
    j["artifacts"] = artifacts;
    j["view"] = synth_view_name(p.view);
    j["view_is_apical"] = t.view_is_apical;
    j["mm_per_px"] = t.mm_per_px;
    j["sector"] = {{"apex_px", point_json(t.sector.apex_px)},
                   {"radius_px", t.sector.radius_px},
                   {"half_angle_rad", t.sector.half_angle_rad},
                   {"start_radius_px", t.sector.start_radius_px}};
    j["ef_percent"] = std::isfinite(t.ef_percent) ? json(t.ef_percent) : json(nullptr);
    j["heart_rate_bpm"] = t.heart_rate_bpm;
    j["r_wave_times_ms"] = t.r_wave_times_ms;
    json beats = json::array();
    for (const SynthBeatTruth& b : t.beats) {
      beats.push_back({{"ed_frame", b.ed_frame}, {"es_frame", b.es_frame}, {"edv_ml", b.edv_ml}, {"esv_ml", b.esv_ml},
                       {"ef_percent", b.ef_percent}, {"r_wave_time_ms", b.r_wave_time_ms}});
    }
    j["beats"] = beats;
    json frames = json::array();
    for (std::size_t i = 0; i < t.frames.size(); ++i) {
      const SynthFrameTruth& f = t.frames[i];
      json contour = json::array();
      for (const Point2& q : f.lv_contour) contour.push_back(point_json(q));
      frames.push_back({{"index", i},
                        {"time_ms", rounded(f.time_ms, 1e6)},
                        {"lv_area_mm2", f.lv_area_mm2},
                        {"lv_volume_ml", f.lv_volume_ml},
                        {"lv_volume_discs_ml", f.lv_volume_discs_ml},
                        {"apex_px", point_json(f.apex_px)},
                        {"annulus_left_px", point_json(f.annulus_left_px)},
                        {"annulus_right_px", point_json(f.annulus_right_px)},
                        {"lv_contour_px", contour}});
    }
    j["frames"] = frames;
    return write_file_atomically(path, j.dump(1) + "\n");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal, "write_truth_json '" + path + "': " + e.what());
  }
}

Expected<void> write_masks_npy(const SynthTruth& t, const std::string& path) {
  if (t.frames.empty()) return make_error(ErrorCode::invalid_argument, "write_masks_npy '" + path + "': no frames");
  const Image8& first = t.frames.front().lv_mask;
  for (const SynthFrameTruth& f : t.frames) {
    if (f.lv_mask.width != first.width || f.lv_mask.height != first.height)
      return make_error(ErrorCode::invalid_argument, "write_masks_npy '" + path + "': masks differ in size");
  }
  return write_npy_u8(path, static_cast<int>(t.frames.size()), first.height, first.width,
                      [&](int i) { return t.frames[i].lv_mask.pixels.data(); });
}

Expected<void> write_labels_npy(const SynthTruth& t, const std::string& path) {
  if (t.frames.empty() || t.frames.front().labels.empty())
    return make_error(ErrorCode::invalid_argument, "write_labels_npy '" + path + "': no chamber labels (set chamber_labels)");
  const Image8& first = t.frames.front().labels;
  for (const SynthFrameTruth& f : t.frames) {
    if (f.labels.width != first.width || f.labels.height != first.height)
      return make_error(ErrorCode::invalid_argument, "write_labels_npy '" + path + "': label maps differ in size");
  }
  return write_npy_u8(path, static_cast<int>(t.frames.size()), first.height, first.width,
                      [&](int i) { return t.frames[i].labels.pixels.data(); });
}

Expected<void> write_frames_npy(const Cine& cine, const std::string& path) {
  const int n = cine.frame_count();
  if (n == 0) return make_error(ErrorCode::invalid_argument, "write_frames_npy '" + path + "': empty cine");
  return write_npy_u8(path, n, cine.rows, cine.cols, [&](int i) { return cine.frame(i); });
}

}  // namespace echo
