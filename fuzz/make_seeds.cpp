// Seed corpora of the fuzz targets, made at build time from the project's own phantom generator:
// fuzz_make_seeds OUT_DIR writes OUT_DIR/<target>/<seed> for every target (small inputs: fuzzing speed).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "echo/geometry.hpp"
#include "echo/io.hpp"
#include "echo/synth.hpp"
#include "seed_format.hpp"

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void save(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

template <class T>
T must(echo::Expected<T> value, const char* what) {
  if (!value) throw std::runtime_error(std::string(what) + ": " + value.error().message);
  return std::move(*value);
}
void must(echo::Expected<void> value, const char* what) {
  if (!value) throw std::runtime_error(std::string(what) + ": " + value.error().message);
}

echo::SynthCase phantom(int frames, bool colour_overlays) {
  echo::SynthParams params;
  params.width = 64;
  params.height = 64;
  params.frame_count = frames;
  params.fps = 30;
  params.overlays = colour_overlays;
  params.threads = 1;
  return must(echo::generate_phantom(params), "phantom");
}

void dicom_seeds(const fs::path& out, const echo::Cine& cine, const fs::path& scratch) {
  const std::pair<echo::DicomCompression, const char*> kinds[] = {
      {echo::DicomCompression::none, "none"},         {echo::DicomCompression::jpeg_baseline, "jpeg_baseline"},
      {echo::DicomCompression::jpeg_lossless, "jpeg_lossless"}, {echo::DicomCompression::jpeg_ls, "jpeg_ls"},
      {echo::DicomCompression::jpeg2000, "jpeg2000"}, {echo::DicomCompression::rle, "rle"}};
  for (const auto& [compression, name] : kinds) {
    for (int colour = 0; colour < 2; ++colour) {
      echo::DicomWriteOptions options;
      options.compression = compression;
      options.write_color = colour == 1;
      const fs::path file = scratch / "seed.dcm";
      must(echo::write_dicom_file(cine, file.string(), options), "dicom seed");
      save(out / "dicom" / (std::string(name) + (colour ? "_rgb.dcm" : ".dcm")), read_all(file));
    }
  }
  echo::DicomWriteOptions big_endian;
  big_endian.compression = echo::DicomCompression::none;
  big_endian.big_endian = true;
  must(echo::write_dicom_file(cine, (scratch / "seed.dcm").string(), big_endian), "big-endian seed");
  save(out / "dicom" / "none_big_endian.dcm", read_all(scratch / "seed.dcm"));
  // An H.264 loop (decoded through FFmpeg's parser and decoder); only where FFmpeg has libx264.
  echo::DicomWriteOptions h264;
  h264.compression = echo::DicomCompression::h264;
  if (echo::write_dicom_file(cine, (scratch / "seed.dcm").string(), h264)) {
    save(out / "dicom" / "h264.dcm", read_all(scratch / "seed.dcm"));
  }
}

void video_seeds(const fs::path& out, const echo::Cine& cine, const fs::path& scratch) {
  const char* const kExtensions[] = {".avi", ".mp4"};
  for (std::uint8_t kind = 0; kind < 2; ++kind) {
    const fs::path file = scratch / (std::string("seed") + kExtensions[kind]);
    must(echo::write_video_file(cine, file.string()), "video seed");
    Bytes bytes{kind};
    const Bytes body = read_all(file);
    bytes.insert(bytes.end(), body.begin(), body.end());
    save(out / "video" / (std::string("phantom") + kExtensions[kind]), bytes);
  }
}

void frame_seeds(const fs::path& out, const echo::Cine& cine) {
  for (int format = 0; format < 5; ++format) {
    echo_fuzz::FramesSeed seed;
    seed.format = static_cast<std::uint8_t>(format);
    seed.width = static_cast<std::uint8_t>(cine.cols);
    seed.height = static_cast<std::uint8_t>(cine.rows);
    seed.frame_count = static_cast<std::uint8_t>(cine.frame_count() < 4 ? cine.frame_count() : 4);
    seed.stride_pad = 0;
    seed.with_times = format % 2 == 0;
    seed.mm_per_px = cine.calibration.mm_per_px_x;
    const int bytes_per_pixel[] = {1, 2, 3, 3, 4};
    Bytes pixels;
    for (std::size_t i = 0; i < cine.frame_bytes() * seed.frame_count; ++i)
      for (int b = 0; b < bytes_per_pixel[format]; ++b) pixels.push_back(cine.gray[i]);
    save(out / "frames" / ("phantom_format" + std::to_string(format)), echo_fuzz::encode_frames_seed(seed, pixels));
  }
}

void mask_seeds(const fs::path& out, const echo::SynthCase& c, const fs::path& scratch) {
  const fs::path npy = scratch / "masks.npy";
  must(echo::write_masks_npy(c.truth, npy.string()), "mask seed");
  const Bytes header = echo_fuzz::encode_masks_header(30, c.truth.mm_per_px, 20, c.truth.r_wave_times_ms);
  Bytes seed{0};
  seed.insert(seed.end(), header.begin(), header.end());
  const Bytes body = read_all(npy);
  seed.insert(seed.end(), body.begin(), body.end());
  save(out / "masks" / "phantom.npy", seed);
  const echo::Image8& mask = c.truth.frames.front().lv_mask;
  const cv::Mat image(mask.height, mask.width, CV_8UC1, const_cast<std::uint8_t*>(mask.pixels.data()));
  const char* const kFormats[] = {".png", ".bmp", ".pgm"};
  for (std::uint8_t i = 0; i < 3; ++i) {
    std::vector<std::uint8_t> encoded;
    cv::imencode(kFormats[i], image, encoded);
    Bytes image_seed{static_cast<std::uint8_t>(1 | (i << 1))};
    image_seed.insert(image_seed.end(), header.begin(), header.end());
    image_seed.insert(image_seed.end(), encoded.begin(), encoded.end());
    save(out / "masks" / (std::string("frame") + kFormats[i]), image_seed);
  }
}

// Model loading (fuzz_model): mode byte, manifest length (u32 LE), the shipped manifest, the shipped archive;
// modes 0 (as given), 1 (hash rewritten to the archive's) and 4 (fp32 requested); the VLM (vlm.json with its
// INT8 file) in modes 8 and 9 (the same, as a VLM).
void model_seed(const fs::path& out, const std::string& name, std::uint8_t mode, const Bytes& manifest, const Bytes& archive) {
  echo_fuzz::SeedWriter w;
  w.byte(mode);
  w.u16(static_cast<std::uint16_t>(manifest.size())), w.u16(static_cast<std::uint16_t>(manifest.size() >> 16));
  w.bytes().insert(w.bytes().end(), manifest.begin(), manifest.end());
  w.bytes().insert(w.bytes().end(), archive.begin(), archive.end());
  save(out / "model" / (name + "_mode" + std::to_string(mode)), w.bytes());
}

void model_seeds(const fs::path& out) {
  for (const char* name : {"lv_seg_int8", "lv_seg_fp32"}) {
    const Bytes manifest = read_all(fs::path(ECHO_MODELS_DIR) / (std::string(name) + ".json"));
    const Bytes archive = read_all(fs::path(ECHO_MODELS_DIR) / (std::string(name) + ".pt"));
    if (manifest.empty() || archive.empty()) throw std::runtime_error(std::string("shipped model ") + name + " missing");
    for (std::uint8_t mode : {0, 1, 4}) model_seed(out, name, mode, manifest, archive);
  }
  const Bytes vlm_manifest = read_all(fs::path(ECHO_MODELS_DIR) / "vlm" / "vlm.json");
  const Bytes vlm_archive = read_all(fs::path(ECHO_MODELS_DIR) / "vlm" / "vlm_int8.pt");
  if (vlm_manifest.empty() || vlm_archive.empty()) throw std::runtime_error("shipped VLM missing");
  for (std::uint8_t mode : {8, 9}) model_seed(out, "vlm_int8", mode, vlm_manifest, vlm_archive);
}

// C ABI programs (fuzz_capi): a header choosing a small phantom, then 64-byte call blocks (op and arguments;
// zeros are the ordinary call), as fuzz_capi.cpp reads them.
Bytes capi_program(int phantom, const std::vector<Bytes>& calls, const Bytes& payload = {}) {
  echo_fuzz::SeedWriter w;
  w.u16(static_cast<std::uint16_t>(payload.size()));
  w.byte(0);  // phantom pixels ...
  w.byte(static_cast<std::uint8_t>(phantom));  // ... of this recipe (fuzz_capi.cpp, phantoms())
  w.bytes().resize(echo_fuzz::kCapiHeaderBytes, 0);
  for (Bytes call : calls) {
    call.resize(echo_fuzz::kCapiBlockBytes, 0);
    w.bytes().insert(w.bytes().end(), call.begin(), call.end());
  }
  w.bytes().insert(w.bytes().end(), payload.begin(), payload.end());
  return w.bytes();
}

void capi_seeds(const fs::path& out) {
  // Ops: 0 cine, 1 analyse, 2 read result, 3 read cine, 4 session, 5 DICOM report, 6 destroy, 7 model, 8 misuse.
  const std::vector<std::pair<const char*, std::vector<Bytes>>> programs = {
      {"analyze_read", {{1}, {2, 0, 0}, {2, 0, 1}, {2, 0, 2}, {2, 0, 3}}},
      {"cine_analyze", {{0}, {3}, {1, 0, 1, 0}, {2, 0, 2}, {6, 0, 1}}},
      {"biplane", {{0}, {0, 0, 0, 1}, {1, 0, 2, 0, 1}, {2, 0, 0}}},
      {"session", {{4, 0, 0}, {4, 0, 1, 15}, {4, 0, 2}, {4, 0, 1, 15}, {4, 0, 2}, {4, 0, 3}}},
      {"dicom_report", {{1}, {5, 0, 0}, {5, 0, 1}, {5, 0, 1, 0, 1}, {5, 0, 2}}},
      {"model_load", {{7, 240}, {1, 160}, {2, 0, 1}}},
      {"misuse", {{8, 0, 0, 0}, {8, 0, 0, 1}, {8, 0, 0, 2}, {8, 0, 0, 8}, {8, 0, 0, 9}, {8, 0, 0, 10}, {8, 0, 0, 11},
                  {8, 0, 0, 12}, {8, 0, 0, 13}, {6}, {2, 3, 0}}},
  };
  for (const auto& [name, calls] : programs) save(out / "capi" / name, capi_program(0, calls));
  save(out / "capi" / "a2c_biplane", capi_program(1, {{0}, {0, 0, 0, 1}, {1, 0, 2, 1, 0}, {5, 0, 0}}));
  save(out / "capi" / "colour_analyze_render", capi_program(3, {{1}, {2, 0, 3}, {9, 0, 2}, {1}, {2, 0, 1}}));
  save(out / "capi" / "refused_blur", capi_program(4, {{1}, {2, 0, 0}, {2, 0, 1}}));
  const Bytes dicm = {'D', 'I', 'C', 'M', 2, 0, 0, 0, 'U', 'L', 4, 0};
  Bytes payload(128, 0);
  std::copy(dicm.begin(), dicm.end(), payload.begin() + 60);
  save(out / "capi" / "buffer", capi_program(5, {{0, 1}, {1, 0, 3}, {3}}, payload));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds OUT_DIR\n");
    return 64;
  }
  try {
    const fs::path out = argv[1];
    const fs::path scratch = out / ".scratch";
    fs::create_directories(scratch);
    const echo::SynthCase grey = phantom(4, false);
    const echo::SynthCase overlays = phantom(3, true);
    dicom_seeds(out, grey.cine, scratch);
    dicom_seeds(out / "with_overlays", overlays.cine, scratch);
    fs::rename(out / "with_overlays" / "dicom" / "jpeg_baseline_rgb.dcm", out / "dicom" / "overlays_jpeg_baseline_rgb.dcm");
    fs::remove_all(out / "with_overlays");
    video_seeds(out, grey.cine, scratch);
    frame_seeds(out, grey.cine);
    mask_seeds(out, phantom(4, false), scratch);
    model_seeds(out);
    capi_seeds(out);
    fs::remove_all(scratch);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
