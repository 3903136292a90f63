// synth_phantom_figure OUT.png [REAL.dcm] [SEED] [REAL_FRAME] [GALLERY.png]: a phantom A4C frame beside a
// frame of a real apical cine (default ../shared/data/dicom/examples_ybr_color.dcm), both as 640x480 grey,
// for docs/phantom.md; optionally a gallery of both views and every artefact.
// Not a test: run it by hand when the image model changes (see docs/phantom.md).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "echo/io.hpp"
#include "echo/synth.hpp"

namespace {

// Both views and every artefact, 320x240 tiles (colour kept), 4 per row.
bool write_gallery(const std::string& path, std::uint64_t seed) {
  struct Tile {
    echo::SynthView view;
    std::vector<echo::Artifact> artifacts;
    std::string title;
  };
  std::vector<Tile> tiles = {{echo::SynthView::a4c, {}, "a4c"}, {echo::SynthView::a2c, {}, "a2c"}};
  for (echo::Artifact a : echo::all_artifacts()) tiles.push_back({echo::SynthView::a4c, {a}, echo::artifact_name(a)});
  const int tw = 320, th = 240, per_row = 4;
  const int rows = static_cast<int>((tiles.size() + per_row - 1) / per_row);
  cv::Mat canvas(rows * th, per_row * tw, CV_8UC3, cv::Scalar(0, 0, 0));
  for (std::size_t k = 0; k < tiles.size(); ++k) {
    echo::SynthParams p;
    p.seed = seed;
    p.view = tiles[k].view;
    p.artifacts = tiles[k].artifacts;
    p.width = tw;
    p.height = th;
    p.beats = 1;
    auto c = echo::generate_phantom(p);
    if (!c) return false;
    const int frame = c->truth.beats.empty() ? c->cine.frame_count() / 2 : c->truth.beats[0].ed_frame + 3;
    cv::Mat tile;
    if (!c->cine.color.empty()) {
      cv::cvtColor(cv::Mat(th, tw, CV_8UC3, c->cine.color[frame].rgb.pixels.data()), tile, cv::COLOR_RGB2BGR);
    } else {
      cv::cvtColor(cv::Mat(th, tw, CV_8UC1, c->cine.frame(frame)), tile, cv::COLOR_GRAY2BGR);
    }
    cv::putText(tile, tiles[k].title, cv::Point(tw - 120, th - 40), cv::FONT_HERSHEY_SIMPLEX, 0.5,
                cv::Scalar(0, 255, 255), 1, cv::LINE_AA);
    tile.copyTo(canvas(cv::Rect(static_cast<int>(k % per_row) * tw, static_cast<int>(k / per_row) * th, tw, th)));
  }
  return cv::imwrite(path, canvas);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: synth_phantom_figure OUT.png [REAL.dcm] [SEED] [REAL_FRAME]\n");
    return 64;
  }
  const std::string out = argv[1];
  const std::string real_path = argc > 2 ? argv[2] : std::string(ECHO_SHARED_DATA_DIR) + "/examples_ybr_color.dcm";
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 7;
  const int real_frame = argc > 4 ? std::atoi(argv[4]) : 0;

  auto real = echo::read_dicom_file(real_path);
  if (!real) {
    std::fprintf(stderr, "cannot read %s: %s\n", real_path.c_str(), real.error().message.c_str());
    return 2;
  }
  echo::SynthParams p;
  p.seed = seed;
  p.view = echo::SynthView::a4c;
  p.depth_mm = 190;  // the real loop is imaged to 19 cm
  p.sector_angle_deg = 76;
  p.beats = 1;
  auto phantom = echo::generate_phantom(p);
  if (!phantom) {
    std::fprintf(stderr, "phantom: %s\n", phantom.error().message.c_str());
    return 2;
  }
  const int ed = phantom->truth.beats.empty() ? 0 : phantom->truth.beats[0].ed_frame;
  cv::Mat left(phantom->cine.rows, phantom->cine.cols, CV_8UC1, phantom->cine.frame(ed));
  const int rf = std::min(real_frame, real->frame_count() - 1);
  cv::Mat right_small(real->rows, real->cols, CV_8UC1, real->frame(rf));
  cv::Mat right;
  cv::resize(right_small, right, left.size(), 0, 0, cv::INTER_LINEAR);
  cv::Mat both;
  cv::hconcat(left, right, both);
  cv::Mat canvas(both.rows + 28, both.cols, CV_8UC1, cv::Scalar(0));
  both.copyTo(canvas(cv::Rect(0, 28, both.cols, both.rows)));
  cv::putText(canvas, "phantom (synthetic A4C, seed " + std::to_string(seed) + ", end-diastole)", cv::Point(8, 19),
              cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(255), 1, cv::LINE_AA);
  cv::putText(canvas, "real apical cine (examples_ybr_color.dcm, frame " + std::to_string(rf) + ", luma, 2x)",
              cv::Point(both.cols / 2 + 8, 19), cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(255), 1, cv::LINE_AA);
  if (!cv::imwrite(out, canvas)) {
    std::fprintf(stderr, "cannot write %s\n", out.c_str());
    return 2;
  }
  std::printf("wrote %s\n", out.c_str());
  if (argc > 5) {
    if (!write_gallery(argv[5], seed)) {
      std::fprintf(stderr, "cannot write the gallery %s\n", argv[5]);
      return 2;
    }
    std::printf("wrote %s\n", argv[5]);
  }
  return 0;
}
