// Target 6: the mask inputs of `echoa measure`: a .npy file (or a one-image mask folder) read by read_masks,
// then what the command does with it: geometry of every frame, biplane against the next frame, the volume
// curve with the given frame rate and R waves. Header: mode, fps, spacing, disc count, R waves; then the file.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "echo/cardiac.hpp"
#include "echo/geometry.hpp"
#include "fuzz_input.hpp"
#include "seed_format.hpp"

namespace {

constexpr std::size_t kHeaderBytes = echo_fuzz::kMasksHeaderBytes;

void measure(const std::vector<echo::Image8>& masks, echo_fuzz::FuzzInput& header) {
  const double fps = 1.0 + header.byte();
  const echo::PixelSpacing spacing{header.real(), header.real()};
  echo::LvGeometryOptions geometry_options;
  geometry_options.disc_count = header.range(1, 64);
  std::vector<double> r_waves(header.byte() % 5);
  for (double& t : r_waves) t = header.real();
  const std::size_t frames = masks.size() < 8 ? masks.size() : 8;
  std::vector<double> volume(frames), times(frames);
  std::vector<echo::LvGeometry> geometry;
  for (std::size_t i = 0; i < frames; ++i) {
    ECHO_FUZZ_CHECK(masks[i].pixels.size() == static_cast<std::size_t>(masks[i].width) * masks[i].height);
    geometry.push_back(echo::measure_lv(masks[i], spacing, geometry_options));
    ECHO_FUZZ_CHECK(geometry.back().valid || !geometry.back().invalid_reason.empty());
    volume[i] = geometry.back().valid ? geometry.back().volume_discs_ml : std::nan("");
    times[i] = 1000.0 * static_cast<double>(i) / fps;
    if (i > 0) (void)echo::biplane_volume_ml(geometry[i - 1], geometry[i], geometry_options.disc_count);
    if (i > 0) (void)echo::biplane_long_axis_mismatch_percent(geometry[i - 1], geometry[i]);
  }
  const echo::CardiacResult cardiac = echo::analyze_volume_curve(volume, times, r_waves);
  for (const echo::Beat& beat : cardiac.beats) {
    ECHO_FUZZ_CHECK(beat.ed_frame >= 0 && static_cast<std::size_t>(beat.ed_frame) < frames);
    ECHO_FUZZ_CHECK(beat.es_frame >= 0 && static_cast<std::size_t>(beat.es_frame) < frames);
  }
  if (cardiac.ok) ECHO_FUZZ_CHECK(std::isfinite(cardiac.ef_mean));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  echo_fuzz::FuzzInput in(data, size);
  const std::uint8_t mode = in.byte();
  echo_fuzz::FuzzInput header(in.rest(), in.remaining() < kHeaderBytes ? in.remaining() : kHeaderBytes);
  in.take(kHeaderBytes);
  namespace fs = std::filesystem;
  std::string path;
  if (mode & 1) {  // a mask folder with one image (PNG / BMP / PGM by the second bit pair)
    static const char* const kNames[] = {"frame1.png", "frame1.bmp", "frame1.pgm", "frame1.tif"};
    path = echo_fuzz::scratch_path(".masks");
    fs::create_directories(path);
    if (!echo_fuzz::write_bytes(path + "/" + kNames[(mode >> 1) & 3], in.rest(), in.remaining())) return 0;
  } else {
    path = echo_fuzz::scratch_path(".npy");
    if (!echo_fuzz::write_bytes(path, in.rest(), in.remaining())) return 0;
  }
  const auto masks = echo::read_masks(path);
  std::error_code ec;
  fs::remove_all(path, ec);
  if (!masks) {
    ECHO_FUZZ_CHECK(!masks.error().message.empty());
    return 0;
  }
  ECHO_FUZZ_CHECK(!masks->empty());
  measure(*masks, header);
  return 0;
}
