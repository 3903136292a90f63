// echoa synth: synthetic apical cine loops with exact ground truth (the echo phantom, docs/phantom.md).
//   one case:  echoa synth --view a4c --ef 55 --hr 70 --seed 7 --out case.dcm
//   a dataset: echoa synth --dataset DIR --count N [--ef-range 15 75] [--hr-range 45 140] [--seed S]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "commands.hpp"
#include "echo/file_io.hpp"
#include "echo/io.hpp"
#include "echo/synth.hpp"

namespace echoa {
namespace {

const char* kUsage =
    "usage: echoa synth [options] --out FILE             one case, ground truth beside it\n"
    "       echoa synth --dataset DIR --count N [options]  many cases plus DIR/index.csv\n"
    "\n"
    "case options:\n"
    "  --view a4c|a2c        imaging plane (default a4c)\n"
    "  --ef PERCENT          ejection fraction 10..80 (default 55)\n"
    "  --hr BPM              heart rate 40..150 (default 70)\n"
    "  --seed N              anatomy and speckle; same seed + other view = same heart (default 7)\n"
    "  --fps N               frame rate 25..100 (default 50)\n"
    "  --size WxH            image size up to 800x600 (default 640x480)\n"
    "  --beats N             complete heartbeats (default 3)\n"
    "  --frames N            exactly N frames instead of --beats\n"
    "  --depth MM, --angle DEG  sector depth and angle (default: drawn from the seed)\n"
    "  --artifact NAME       blur, overgain, undergain, lowcontrast, motion, foreshortened, offaxis,\n"
    "                        outside, partial, doppler (repeatable)\n"
    "  --no-overlays         no burned-in text, depth scale or ECG\n"
    "  --irregular           irregular rhythm (atrial-fibrillation-like)\n"
    "  --no-respiration      no respiratory motion\n"
    "  --smooth              smooth LV shape (elliptic cross-sections, uniform wall motion)\n"
    "  --labels              also write the chamber label maps (NAME.labels.npy)\n"
    "  --format F            dicom (JPEG baseline, default), dicom-raw (uncompressed), dicom-h264 (grey\n"
    "                        loop as one H.264 stream; even sizes), avi, mp4, png\n"
    "  --out FILE            output file (png: FILE_0000.png, ...); truth in FILE.truth.json and\n"
    "                        FILE.lv_masks.npy (FILE without its extension)\n"
    "dataset options:\n"
    "  --dataset DIR --count N   writes NNNN.dcm, NNNN.truth.json, NNNN.frames.npy, NNNN.lv_masks.npy\n"
    "  --ef-range LO HI      (default 15 75)     --hr-range LO HI  (default 45 140)\n"
    "  --artifact-rate P     share of cases with one random artefact (default 0.3)\n"
    "  --views a4c,a2c       views to draw from (default both)\n"
    "  --seed S              dataset seed: the same seed gives the same dataset\n";

enum class Format { dicom, dicom_raw, dicom_h264, avi, mp4, png };

struct Options {
  echo::SynthParams params;
  Format format = Format::dicom;
  std::string out;
  std::string dataset;
  int count = 0;
  double ef_lo = 15, ef_hi = 75, hr_lo = 45, hr_hi = 140, artifact_rate = 0.3;
  std::vector<echo::SynthView> views{echo::SynthView::a4c, echo::SynthView::a2c};
};

bool parse_double(const char* s, double& v) {
  char* end = nullptr;
  v = std::strtod(s, &end);
  return end != s && *end == '\0' && std::isfinite(v);
}

bool parse_int(const char* s, long long& v) {
  char* end = nullptr;
  v = std::strtoll(s, &end, 10);
  return end != s && *end == '\0';
}

// Returns an empty string when the command line is fine, else the reason.
std::string parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto need = [&](int n) { return i + n < argc; };
    double d = 0, d2 = 0;
    long long n = 0;
    if (a == "--view" && need(1)) {
      const auto v = echo::synth_view_from_name(argv[++i]);
      if (!v) return std::string("unknown view '") + argv[i] + "' (a4c or a2c)";
      o.params.view = *v;
    } else if (a == "--ef" && need(1) && parse_double(argv[i + 1], d)) {
      o.params.ef_percent = d;
      ++i;
    } else if (a == "--hr" && need(1) && parse_double(argv[i + 1], d)) {
      o.params.heart_rate_bpm = d;
      ++i;
    } else if (a == "--seed" && need(1) && parse_int(argv[i + 1], n) && n >= 0) {
      o.params.seed = static_cast<std::uint64_t>(n);
      ++i;
    } else if (a == "--fps" && need(1) && parse_double(argv[i + 1], d)) {
      o.params.fps = d;
      ++i;
    } else if (a == "--size" && need(1)) {
      int w = 0, h = 0;
      char extra = 0;
      if (std::sscanf(argv[++i], "%dx%d%c", &w, &h, &extra) != 2) return std::string("bad --size '") + argv[i] + "' (WxH)";
      o.params.width = w;
      o.params.height = h;
    } else if (a == "--beats" && need(1) && parse_int(argv[i + 1], n)) {
      o.params.beats = static_cast<int>(n);
      ++i;
    } else if (a == "--frames" && need(1) && parse_int(argv[i + 1], n)) {
      o.params.frame_count = static_cast<int>(n);
      ++i;
    } else if (a == "--depth" && need(1) && parse_double(argv[i + 1], d)) {
      o.params.depth_mm = d;
      ++i;
    } else if (a == "--angle" && need(1) && parse_double(argv[i + 1], d)) {
      o.params.sector_angle_deg = d;
      ++i;
    } else if (a == "--artifact" && need(1)) {
      const auto art = echo::artifact_from_name(argv[++i]);
      if (!art) return std::string("unknown artifact '") + argv[i] + "'";
      o.params.artifacts.push_back(*art);
    } else if (a == "--no-overlays") {
      o.params.overlays = false;
    } else if (a == "--irregular") {
      o.params.irregular_rhythm = true;
    } else if (a == "--no-respiration") {
      o.params.respiration = false;
    } else if (a == "--smooth") {
      o.params.shape_irregularity = 0;
    } else if (a == "--labels") {
      o.params.chamber_labels = true;
    } else if (a == "--format" && need(1)) {
      const std::string f = argv[++i];
      if (f == "dicom") o.format = Format::dicom;
      else if (f == "dicom-raw") o.format = Format::dicom_raw;
      else if (f == "dicom-h264") o.format = Format::dicom_h264;
      else if (f == "avi") o.format = Format::avi;
      else if (f == "mp4") o.format = Format::mp4;
      else if (f == "png") o.format = Format::png;
      else return "unknown format '" + f + "'";
    } else if (a == "--out" && need(1)) {
      o.out = argv[++i];
    } else if (a == "--dataset" && need(1)) {
      o.dataset = argv[++i];
    } else if (a == "--count" && need(1) && parse_int(argv[i + 1], n) && n > 0 && n <= 1000000) {
      o.count = static_cast<int>(n);
      ++i;
    } else if (a == "--ef-range" && need(2) && parse_double(argv[i + 1], d) && parse_double(argv[i + 2], d2) && d <= d2) {
      o.ef_lo = d;
      o.ef_hi = d2;
      i += 2;
    } else if (a == "--hr-range" && need(2) && parse_double(argv[i + 1], d) && parse_double(argv[i + 2], d2) && d <= d2) {
      o.hr_lo = d;
      o.hr_hi = d2;
      i += 2;
    } else if (a == "--artifact-rate" && need(1) && parse_double(argv[i + 1], d) && d >= 0 && d <= 1) {
      o.artifact_rate = d;
      ++i;
    } else if (a == "--views" && need(1)) {
      o.views.clear();
      std::string list = argv[++i];
      std::size_t start = 0;
      while (start <= list.size()) {
        const std::size_t comma = list.find(',', start);
        const std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const auto v = echo::synth_view_from_name(name);
        if (!v) return "unknown view '" + name + "' in --views";
        o.views.push_back(*v);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else {
      return "bad or incomplete option '" + a + "'";
    }
  }
  if (o.dataset.empty() && o.out.empty()) return "--out FILE or --dataset DIR is required";
  if (!o.dataset.empty() && o.count <= 0) return "--dataset needs --count N";
  if (o.ef_lo < 10 || o.ef_hi > 80) return "--ef-range must lie within 10..80";
  if (o.hr_lo < 40 || o.hr_hi > 150) return "--hr-range must lie within 40..150";
  return {};
}

std::string without_extension(const std::string& path) {
  const std::filesystem::path p(path);
  return (p.parent_path() / p.stem()).string();
}

echo::Expected<void> write_png_frames(const echo::Cine& cine, const std::string& prefix, std::vector<std::string>& written) {
  for (int i = 0; i < cine.frame_count(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "_%04d.png", i);
    cv::Mat img;
    if (i < static_cast<int>(cine.color.size())) {
      const cv::Mat rgb(cine.rows, cine.cols, CV_8UC3, const_cast<std::uint8_t*>(cine.color[i].rgb.pixels.data()));
      cv::cvtColor(rgb, img, cv::COLOR_RGB2BGR);
    } else {
      img = cv::Mat(cine.rows, cine.cols, CV_8UC1, const_cast<std::uint8_t*>(cine.frame(i))).clone();
    }
    const std::string path = prefix + name;
    std::vector<std::uint8_t> png;
    if (!cv::imencode(".png", img, png)) return echo::make_error(echo::ErrorCode::internal, "cannot encode '" + path + "'");
    if (auto w = echo::write_file_atomically(path, png.data(), png.size()); !w) return w;
    written.push_back(path);
  }
  return {};
}

// Writes the cine in the chosen format; appends the files written to `written`.
echo::Expected<void> write_image(const echo::SynthCase& c, Format format, const std::string& image_path,
                                 const std::string& stem, std::vector<std::string>& written) {
  switch (format) {
    case Format::dicom:
    case Format::dicom_raw:
    case Format::dicom_h264: {
      echo::DicomWriteOptions w;
      w.compression = format == Format::dicom         ? echo::DicomCompression::jpeg_baseline
                      : format == Format::dicom_h264  ? echo::DicomCompression::h264
                                                      : echo::DicomCompression::none;
      w.write_color = !c.cine.color.empty() && static_cast<int>(c.cine.color.size()) == c.cine.frame_count();
      w.patient_name = "PHANTOM^SYNTHETIC";
      w.patient_id = "SYNTH-" + std::to_string(c.truth.params.seed);
      if (auto ok = echo::write_dicom_file(c.cine, image_path, w); !ok) return ok;
      break;
    }
    case Format::avi:
    case Format::mp4:
      if (auto ok = echo::write_video_file(c.cine, image_path); !ok) return ok;
      break;
    case Format::png: return write_png_frames(c.cine, stem, written);
  }
  written.push_back(image_path);
  return {};
}

// Writes the cine plus the truth files; `stem` is the path without extension. Each file is written all or
// nothing, and the case too: a failure removes the files of this case already written.
echo::Expected<void> write_case(const echo::SynthCase& c, Format format, const std::string& image_path,
                                const std::string& stem, bool frames_npy) {
  std::vector<std::string> written;
  auto write = [&](const std::string& path, echo::Expected<void> ok) {
    if (ok) written.push_back(path);
    return ok;
  };
  echo::Expected<void> ok = write_image(c, format, image_path, stem, written);
  if (ok) ok = write(stem + ".truth.json", echo::write_truth_json(c.truth, stem + ".truth.json"));
  if (ok) ok = write(stem + ".lv_masks.npy", echo::write_masks_npy(c.truth, stem + ".lv_masks.npy"));
  if (ok && c.truth.params.chamber_labels) ok = write(stem + ".labels.npy", echo::write_labels_npy(c.truth, stem + ".labels.npy"));
  if (ok && frames_npy) ok = write(stem + ".frames.npy", echo::write_frames_npy(c.cine, stem + ".frames.npy"));
  if (!ok) {
    std::error_code ec;
    for (const std::string& path : written) std::filesystem::remove(path, ec);
  }
  return ok;
}

const char* extension(Format f) {
  switch (f) {
    case Format::dicom:
    case Format::dicom_raw:
    case Format::dicom_h264: return ".dcm";
    case Format::avi: return ".avi";
    case Format::mp4: return ".mp4";
    case Format::png: return "";
  }
  return "";
}

std::string artifacts_text(const std::vector<echo::Artifact>& v) {
  std::string s;
  for (echo::Artifact a : v) s += (s.empty() ? "" : "+") + std::string(echo::artifact_name(a));
  return s.empty() ? "none" : s;
}

int run_one(const Options& o) {
  auto c = echo::generate_phantom(o.params);
  if (!c) {
    std::fprintf(stderr, "echoa synth: %s\n", c.error().message.c_str());
    return c.error().code == echo::ErrorCode::invalid_argument ? kExitUsage : kExitError;
  }
  const std::string stem = without_extension(o.out);
  if (auto r = write_case(*c, o.format, o.out, stem, false); !r) {
    std::fprintf(stderr, "echoa synth: %s\n", r.error().message.c_str());
    return kExitError;
  }
  std::printf("%s: %d frames %dx%d, %s, EF %.2f%%, HR %.1f bpm, %zu complete beats, %.4f mm/px, artefacts %s\n",
              o.out.c_str(), c->cine.frame_count(), c->cine.cols, c->cine.rows,
              echo::synth_view_name(o.params.view), c->truth.ef_percent, c->truth.heart_rate_bpm,
              c->truth.beats.size(), c->truth.mm_per_px, artifacts_text(c->truth.artifacts).c_str());
  return kExitOk;
}

// splitmix64: the dataset's parameters come from its seed alone.
std::uint64_t mix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
double unit(std::uint64_t& state) { return static_cast<double>(mix(state) >> 11) * (1.0 / 9007199254740992.0); }

int run_dataset(const Options& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.dataset, ec);
  if (ec) {
    std::fprintf(stderr, "echoa synth: cannot create '%s': %s\n", o.dataset.c_str(), ec.message().c_str());
    return kExitError;
  }
  const std::string index_path = (std::filesystem::path(o.dataset) / "index.csv").string();
  // Rewritten whole (every 2 s at most, and at the end): it lists complete cases only (echo/file_io.hpp).
  echo::GrowingFile index(index_path, std::chrono::seconds(2));
  if (auto w = index.append("id,file,truth,frames_npy,masks_npy,view,seed,ef_requested,ef_truth,hr_bpm,frames,width,"
                            "height,fps,mm_per_px,complete_beats,ed_frames,es_frames,artifacts\n");
      !w) {
    std::fprintf(stderr, "echoa synth: %s\n", w.error().message.c_str());
    return kExitError;
  }
  const std::vector<echo::Artifact>& all = echo::all_artifacts();
  for (int i = 0; i < o.count; ++i) {
    std::uint64_t state = o.params.seed * 0x100000001B3ULL + static_cast<std::uint64_t>(i) + 1;
    echo::SynthParams p = o.params;
    p.seed = mix(state) >> 16;
    p.view = o.views[static_cast<std::size_t>(unit(state) * o.views.size()) % o.views.size()];
    p.ef_percent = std::round((o.ef_lo + unit(state) * (o.ef_hi - o.ef_lo)) * 100) / 100;
    p.heart_rate_bpm = std::round((o.hr_lo + unit(state) * (o.hr_hi - o.hr_lo)) * 10) / 10;
    const double art_draw = unit(state);
    const std::size_t which = static_cast<std::size_t>(unit(state) * all.size()) % all.size();
    if (art_draw < o.artifact_rate) p.artifacts.push_back(all[which]);
    char id[16];
    std::snprintf(id, sizeof id, "%04d", i);
    const std::string stem = (std::filesystem::path(o.dataset) / id).string();
    const std::string image = stem + extension(o.format);
    auto c = echo::generate_phantom(p);
    if (!c) {
      std::fprintf(stderr, "echoa synth: case %s: %s\n", id, c.error().message.c_str());
      return kExitError;
    }
    if (auto r = write_case(*c, o.format, image, stem, true); !r) {
      std::fprintf(stderr, "echoa synth: case %s: %s\n", id, r.error().message.c_str());
      return kExitError;
    }
    std::string eds, ess;
    for (const auto& b : c->truth.beats) {
      eds += (eds.empty() ? "" : ";") + std::to_string(b.ed_frame);
      ess += (ess.empty() ? "" : ";") + std::to_string(b.es_frame);
    }
    char line[512];
    std::snprintf(line, sizeof line, "%s,%s,%s.truth.json,%s.frames.npy,%s.lv_masks.npy,%s,%llu,%.2f,%.4f,%.3f,%d,%d,%d,%.3f,%.6f,%zu,%s,%s,%s\n",
                  id, std::filesystem::path(image).filename().string().c_str(), id, id, id,
                  echo::synth_view_name(p.view), static_cast<unsigned long long>(p.seed), p.ef_percent,
                  c->truth.ef_percent, c->truth.heart_rate_bpm, c->cine.frame_count(), c->cine.cols, c->cine.rows,
                  p.fps, c->truth.mm_per_px, c->truth.beats.size(), eds.c_str(), ess.c_str(),
                  artifacts_text(c->truth.artifacts).c_str());
    if (auto w = index.append(line); !w) {
      std::fprintf(stderr, "echoa synth: %s\n", w.error().message.c_str());
      return kExitError;
    }
  }
  if (auto w = index.flush(); !w) {
    std::fprintf(stderr, "echoa synth: %s\n", w.error().message.c_str());
    return kExitError;
  }
  std::printf("%s: %d cases, index.csv\n", o.dataset.c_str(), o.count);
  return kExitOk;
}

int run_synth(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
  }
  Options o;
  const std::string problem = parse(argc, argv, o);
  if (!problem.empty()) {
    std::fprintf(stderr, "echoa synth: %s\n\n%s", problem.c_str(), kUsage);
    return kExitUsage;
  }
  return o.dataset.empty() ? run_one(o) : run_dataset(o);
}

}  // namespace
ECHOA_COMMAND("synth", "synthetic apical cine loops with exact ground truth (echo phantom)", run_synth);
}  // namespace echoa
