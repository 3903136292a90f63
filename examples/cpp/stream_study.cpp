// Example (C++17): a scanner integration. The frames of a study are pushed one at a time into a streaming
// session, as a scanner would hand them over, and each completed heartbeat is printed as it happens; then
// the whole study is analysed in one call for comparison. Uses only the C ABI, through the header-only
// RAII wrapper echo/echo_cxx.hpp.
//
//   stream_study STUDY.dcm
#include <echo/echo_cxx.hpp>

#include <cstdio>
#include <vector>

namespace {

// The study's frames, as a scanner would have them in memory (8-bit grey, with their time stamps).
struct Frames {
  int rows = 0, cols = 0;
  double mm_per_px_x = 0.0, mm_per_px_y = 0.0;
  std::vector<std::vector<std::uint8_t>> pixels;
  std::vector<double> times_ms;
};

Frames read_frames(const char* path) {
  echo_cine* cine = nullptr;
  echo::abi::check(echo_cine_load_file(path, nullptr, &cine));
  auto info = echo::abi::sized<echo_cine_info>();
  echo::abi::check(echo_cine_get_info(cine, &info));
  Frames frames;
  frames.rows = info.rows;
  frames.cols = info.cols;
  frames.mm_per_px_x = info.mm_per_px_x;
  frames.mm_per_px_y = info.mm_per_px_y;
  frames.times_ms.resize(static_cast<std::size_t>(info.frame_count));
  std::size_t count = 0;
  echo::abi::check(echo_cine_frame_times(cine, frames.times_ms.data(), frames.times_ms.size(), &count));
  for (int f = 0; f < info.frame_count; ++f) {
    std::vector<std::uint8_t> gray(static_cast<std::size_t>(info.rows) * static_cast<std::size_t>(info.cols));
    echo::abi::check(echo_cine_frame_gray8(cine, f, gray.data(), gray.size(), &count));
    frames.pixels.push_back(std::move(gray));
  }
  echo_cine_destroy(cine);
  return frames;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s STUDY.dcm\n", argv[0]);
    return 64;
  }
  try {
    const echo::abi::Model model;  // the installed reference model
    const Frames frames = read_frames(argv[1]);

    auto options = echo::abi::sized<echo_session_options>();
    echo::abi::check(echo_session_options_init(&options, sizeof options));
    options.mm_per_px_x = frames.mm_per_px_x;  // the scanner knows its own pixel size
    options.mm_per_px_y = frames.mm_per_px_y;
    options.calibration_trusted = 1;
    echo::abi::Session session = model.session(options);
    for (std::size_t i = 0; i < frames.pixels.size(); ++i) {
      session.push_gray8(frames.pixels[i].data(), frames.cols, frames.rows, frames.times_ms[i]);
      for (const echo::abi::BeatEvent& beat : session.take_beats()) {
        std::printf("frame %lld: beat %d, ED %d, ES %d, EF %.1f%%, running mean %.1f%%\n", beat.closing_frame_index,
                    beat.beat_index, beat.ed_frame, beat.es_frame, beat.ef_percent, beat.running_ef_mean);
      }
    }

    const echo::abi::Result result = model.analyze_file(argv[1]);
    const auto ef = result.ef_percent();
    if (!ef) {
      std::printf("%s\n", result.text().c_str());
      return 1;
    }
    std::printf("whole study: EF %.17g\n%s\n", *ef, result.text().c_str());
    return 0;
  } catch (const echo::abi::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
