// Separable resampling weights that reproduce OpenCV's cv::resize on float images (INTER_AREA when
// shrinking, INTER_LINEAR when enlarging), so the model input is defined by plain arithmetic that a
// training script can reproduce, and computed without allocating an intermediate crop.
#pragma once
#include <vector>

namespace echo::detail {

struct ResampleTap {
  int source = 0;      // source index (may be outside [0, source_size) only for crops leaving the image)
  float weight = 0.0f;
};

// taps[first[d] .. first[d+1]) are the source samples of destination index d.
struct ResampleTable {
  std::vector<int> first;
  std::vector<ResampleTap> taps;
};

// Weights of a 1-D resize from source_size to destination_size samples.
ResampleTable make_resample_table(int source_size, int destination_size);

}  // namespace echo::detail
