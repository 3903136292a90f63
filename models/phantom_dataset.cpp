// The phantom dataset behind the shipped reference model (models/lv_seg_*.pt): the same files as
// `echoa synth --dataset` (NNNN.frames.npy, NNNN.lv_masks.npy, NNNN.truth.json) with the parameter draw the
// training used (written before the CLI existed; kept so the shipped weights can be reproduced exactly).
//   echo_phantom_dataset DIR COUNT SEED EF_LO EF_HI HR_LO HR_HI [BEATS] [labels]
// "labels" also writes NNNN.labels.npy (per-pixel chamber map, echo::ChamberLabel) for the label-map
// appearance randomisation of the training recipe (augment.py); the rendered frames do not change.
// training set: echo_phantom_dataset models/work/train2 240 11 15 80 45 140 1
// test set:     echo_phantom_dataset models/work/test2 40 2 10 80 40 150 2   (other seed, wider ranges)
// Draw v2 (model 1.1.0): five image sizes, 25-60 fps, and 44 % of cases with one artefact, the LV partly
// outside the fan and probe motion included (the model must draw the cavity up to the fan edge there).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include "echo/synth.hpp"
int main(int argc, char** argv) {
  std::string dir = argv[1]; int count = std::atoi(argv[2]); unsigned seed = std::atoi(argv[3]);
  double ef_lo = std::atof(argv[4]), ef_hi = std::atof(argv[5]), hr_lo = std::atof(argv[6]), hr_hi = std::atof(argv[7]);
  int beats = argc > 8 ? std::atoi(argv[8]) : 1;
  const bool labels = argc > 9 && std::string(argv[9]) == "labels";
  std::filesystem::create_directories(dir);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < count; ++i) {
    echo::SynthParams p;
    p.view = (i % 2 == 0) ? echo::SynthView::a4c : echo::SynthView::a2c;
    p.ef_percent = ef_lo + (ef_hi - ef_lo) * u(rng);
    p.heart_rate_bpm = hr_lo + (hr_hi - hr_lo) * u(rng);
    p.seed = seed * 100000ULL + i;
    const int sizes[][2] = {{640, 480}, {800, 600}, {512, 512}, {480, 360}, {320, 240}};
    int s = int(u(rng) * 5) % 5; p.width = sizes[s][0]; p.height = sizes[s][1];
    p.fps = 25 + 35 * u(rng);
    p.beats = beats;
    p.shape_irregularity = 1.5 * u(rng);
    p.irregular_rhythm = u(rng) < 0.15;
    p.threads = 1;
    p.chamber_labels = labels;
    double a = u(rng);
    if (a < 0.08) p.artifacts = {echo::Artifact::blur};
    else if (a < 0.14) p.artifacts = {echo::Artifact::overgain};
    else if (a < 0.20) p.artifacts = {echo::Artifact::undergain};
    else if (a < 0.26) p.artifacts = {echo::Artifact::lowcontrast};
    else if (a < 0.30) p.artifacts = {echo::Artifact::foreshortened};
    else if (a < 0.34) p.artifacts = {echo::Artifact::offaxis};
    else if (a < 0.40) p.artifacts = {echo::Artifact::outside};
    else if (a < 0.44) p.artifacts = {echo::Artifact::motion};
    auto c = echo::generate_phantom(p);
    if (!c) { std::fprintf(stderr, "case %d: %s\n", i, c.error().message.c_str()); return 1; }
    char stem[32]; std::snprintf(stem, sizeof stem, "%04d", i);
    const std::string base = dir + "/" + stem;
    if (!echo::write_frames_npy(c->cine, base + ".frames.npy") || !echo::write_masks_npy(c->truth, base + ".lv_masks.npy") ||
        !echo::write_truth_json(c->truth, base + ".truth.json") ||
        (labels && !echo::write_labels_npy(c->truth, base + ".labels.npy"))) { std::fprintf(stderr, "write failed\n"); return 1; }
  }
  return 0;
}
