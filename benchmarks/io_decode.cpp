// Decode throughput of a 100-frame 640x480 JPEG-baseline YBR_FULL_422 ultrasound DICOM written by our
// writer from a speckle-like synthetic pattern. Compares GDCM's own JPEG path (ReadOptions::fast_jpeg =
// false) with libjpeg-turbo through OpenCV (fast_jpeg = true, luma from the Y channel), on one thread and
// on all cores, luma only and with the default 8 colour frames.
//   io_decode_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "echo/io.hpp"

namespace {

constexpr int kFrames = 100, kRows = 480, kCols = 640;

// A scan-converted B-mode cine: a 80-degree sector (black outside, as on a scanner), fully developed speckle
// (exponential intensity) with a grain of ~3 px axially and ~6 px laterally, a bright myocardial ring around a
// dark cavity that beats with the frame index, and a small colour-flow box on every other frame so the
// source is genuinely colour. Compressed at quality 90 this gives ~50 KB per frame, in the range of
// real 640x480 echo JPEG frames (examples_ybr_color.dcm: 7.5 KB per 320x240 frame).
echo::Cine speckle_cine() {
  echo::Cine cine;
  cine.rows = kRows;
  cine.cols = kCols;
  cine.gray.resize(static_cast<std::size_t>(kFrames) * kRows * kCols);
  std::mt19937 rng(7);
  std::exponential_distribution<double> speckle(1.0);
  constexpr int kGrainY = 3, kGrainX = 6;
  const int grid_rows = kRows / kGrainY + 2, grid_cols = kCols / kGrainX + 2;
  std::vector<double> grid(static_cast<std::size_t>(grid_rows) * grid_cols);
  const double apex_x = kCols / 2.0, apex_y = 10.0, max_depth = kRows - 20.0, half_angle = 40.0 * M_PI / 180.0;
  for (int f = 0; f < kFrames; ++f) {
    for (auto& g : grid) g = speckle(rng);
    echo::ColorFrame cf;
    cf.frame_index = f;
    cf.rgb.width = kCols;
    cf.rgb.height = kRows;
    cf.rgb.pixels.resize(static_cast<std::size_t>(kRows) * kCols * 3);
    const double cavity = 70.0 + 15.0 * std::sin(2.0 * M_PI * f / 30.0);
    for (int y = 0; y < kRows; ++y) {
      for (int x = 0; x < kCols; ++x) {
        const double depth = std::hypot(x - apex_x, y - apex_y);
        const double angle = std::atan2(x - apex_x, y - apex_y);
        int v = 0;
        if (depth < max_depth && std::fabs(angle) < half_angle) {
          const double gy = static_cast<double>(y) / kGrainY, gx = static_cast<double>(x) / kGrainX;
          const int iy = static_cast<int>(gy), ix = static_cast<int>(gx);
          const double fy = gy - iy, fx = gx - ix;
          const auto at = [&](int r, int c) { return grid[static_cast<std::size_t>(r) * grid_cols + c]; };
          const double grain = (1 - fy) * ((1 - fx) * at(iy, ix) + fx * at(iy, ix + 1)) +
                               fy * ((1 - fx) * at(iy + 1, ix) + fx * at(iy + 1, ix + 1));
          const double r = std::hypot(x - kCols / 2.0, (y - kRows / 2.0) * 1.3);
          const double tissue = r < cavity ? 0.08 : (r < cavity + 25 ? 0.9 : 0.4);
          v = std::clamp(static_cast<int>(110.0 * tissue * grain), 0, 255);
        }
        const std::size_t i = static_cast<std::size_t>(y) * kCols + static_cast<std::size_t>(x);
        const bool flow = x > 300 && x < 360 && y > 200 && y < 260 && (f % 2 == 0);
        cf.rgb.pixels[3 * i] = static_cast<std::uint8_t>(flow ? 200 : v);
        cf.rgb.pixels[3 * i + 1] = static_cast<std::uint8_t>(flow ? 40 : v);
        cf.rgb.pixels[3 * i + 2] = static_cast<std::uint8_t>(flow ? 30 : v);
        cine.frame(f)[i] = static_cast<std::uint8_t>(v);
      }
    }
    cine.color.push_back(std::move(cf));
    cine.frame_times_ms.push_back(f * 1000.0 / 50.0);
  }
  cine.calibration.mm_per_px_x = cine.calibration.mm_per_px_y = 0.3;
  cine.calibration.trusted = true;
  return cine;
}

const std::string& test_file() {
  static const std::string path = [] {
    const auto p = std::filesystem::temp_directory_path() / "echo_io_decode_bench_v2_100x640x480_jpeg_ybr.dcm";
    echo::DicomWriteOptions options;
    options.compression = echo::DicomCompression::jpeg_baseline;
    options.jpeg_quality = 90;
    options.write_color = true;
    const auto written = echo::write_dicom_file(speckle_cine(), p.string(), options);
    if (!written) {
      std::fprintf(stderr, "cannot write the benchmark file: %s\n", written.error().message.c_str());
      std::exit(1);
    }
    return p.string();
  }();
  return path;
}

// Args: {fast_jpeg 0/1, threads (0 = all cores), colour frames kept}
void BM_DecodeJpegYbrCine(benchmark::State& state) {
  const std::string& path = test_file();
  echo::ReadOptions options;
  options.fast_jpeg = state.range(0) != 0;
  options.decode_threads = static_cast<int>(state.range(1));
  options.max_color_frames = static_cast<int>(state.range(2));
  for (auto _ : state) {
    auto cine = echo::read_dicom_file(path, options);
    if (!cine || cine->frame_count() != kFrames || cine->metadata.photometric != "YBR_FULL_422") {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(cine->gray.data());
  }
  state.counters["frames_per_s"] = benchmark::Counter(static_cast<double>(kFrames) * static_cast<double>(state.iterations()),
                                                      benchmark::Counter::kIsRate);
  state.counters["threads"] = options.decode_threads > 0 ? options.decode_threads
                                                         : static_cast<double>(std::thread::hardware_concurrency());
  state.counters["kB_per_frame"] =
      static_cast<double>(std::filesystem::file_size(path)) / 1024.0 / static_cast<double>(kFrames);
  state.SetLabel(std::string(options.fast_jpeg ? "opencv-libjpeg-turbo" : "gdcm") +
                 (options.max_color_frames ? " +8 colour frames" : " luma only"));
}

BENCHMARK(BM_DecodeJpegYbrCine)
    ->ArgNames({"fast", "threads", "colour"})
    ->Args({0, 1, 0})
    ->Args({0, 0, 0})
    ->Args({1, 1, 0})
    ->Args({1, 0, 0})
    ->Args({0, 0, 8})
    ->Args({1, 1, 8})
    ->Args({1, 0, 8})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
