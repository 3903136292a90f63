// Crop, mask, resize and normalise frames to the model input contract of echo/preprocess.hpp.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <vector>

#include "common/parallel.hpp"
#include "echo/preprocess.hpp"
#include "preprocess/resample.hpp"

namespace echo {

ModelMapping make_model_mapping(const SectorGeometry& sector, const ModelInputSpec& spec) {
  ModelMapping mapping;
  const int width = sector.box_width();
  const int height = sector.box_height();
  if (width <= 0 || height <= 0 || spec.input_size <= 0) return mapping;
  const int side = std::max(width, height);
  // Extend the shorter side symmetrically; an odd difference puts the extra pixel right / below.
  mapping.crop_x0 = sector.box_x0 - (side - width) / 2;
  mapping.crop_y0 = sector.box_y0 - (side - height) / 2;
  mapping.crop_side = side;
  mapping.scale_x = mapping.scale_y = static_cast<double>(side) / spec.input_size;
  mapping.offset_x = mapping.crop_x0 - 0.5 + 0.5 * mapping.scale_x;
  mapping.offset_y = mapping.crop_y0 - 0.5 + 0.5 * mapping.scale_y;
  return mapping;
}

bool preprocess_frame(const std::uint8_t* gray, int rows, int cols, const SectorGeometry& sector,
                      const ModelMapping& mapping, const ModelInputSpec& spec, float* out) {
  const int size = spec.input_size;
  if (out == nullptr || size <= 0) return false;
  std::fill(out, out + static_cast<std::size_t>(size) * size, 0.0f);
  if (gray == nullptr || rows != sector.mask.height || cols != sector.mask.width || mapping.crop_side <= 0 ||
      !(spec.std >= 1e-6f)) {
    return false;
  }
  const int side = mapping.crop_side;
  const detail::ResampleTable table = detail::make_resample_table(side, size);
  // Only columns inside the image and the sector box carry non-zero pixels.
  const int x_begin = std::max({0, sector.box_x0, mapping.crop_x0});
  const int x_end = std::min({cols - 1, sector.box_x1, mapping.crop_x0 + side - 1});
  const int y_begin = std::max({0, sector.box_y0, mapping.crop_y0});
  const int y_end = std::min({rows - 1, sector.box_y1, mapping.crop_y0 + side - 1});
  if (x_begin > x_end || y_begin > y_end) return true;

  std::vector<float> row_sum(static_cast<std::size_t>(side), 0.0f);
  const std::uint8_t* mask = sector.mask.pixels.data();
  const float gain = 1.0f / (255.0f * spec.std);
  const float bias = -spec.mean / spec.std;
  for (int oy = 0; oy < size; ++oy) {
    std::fill(row_sum.begin(), row_sum.end(), 0.0f);
    bool any = false;
    for (int t = table.first[oy]; t < table.first[oy + 1]; ++t) {
      const int y = mapping.crop_y0 + table.taps[t].source;
      if (y < y_begin || y > y_end) continue;
      any = true;
      const float w = table.taps[t].weight;
      const std::uint8_t* image_row = gray + static_cast<std::size_t>(y) * cols;
      const std::uint8_t* mask_row = mask + static_cast<std::size_t>(y) * cols;
      float* sum = row_sum.data();  // indexed by x - crop_x0
      const int shift = mapping.crop_x0;
      for (int x = x_begin; x <= x_end; ++x) sum[x - shift] += w * static_cast<float>(image_row[x] & mask_row[x]);
    }
    float* out_row = out + static_cast<std::size_t>(oy) * size;
    for (int ox = 0; ox < size; ++ox) {
      float value = 0.0f;
      if (any) {
        for (int t = table.first[ox]; t < table.first[ox + 1]; ++t) {
          value += table.taps[t].weight * row_sum[static_cast<std::size_t>(table.taps[t].source)];
        }
      }
      out_row[ox] = value * gain + bias;
    }
  }
  return true;
}

Expected<Preprocessed> preprocess(const Cine& cine, const ModelInputSpec& spec) {
  return preprocess(cine, spec, PreprocessOptions{});
}

namespace {

Expected<void> check_spec(const ModelInputSpec& spec) {
  if (spec.input_size < 8 || spec.input_size > 1024) {
    return make_error(ErrorCode::invalid_argument,
                      "preprocess: model input size " + std::to_string(spec.input_size) + " outside [8, 1024]");
  }
  // Bounded so that every model input stays finite: a tiny std (found by the frames fuzzer: 1e-40) or a huge
  // mean would overflow (v/255 - mean)/std to infinity.
  if (!(spec.std >= 1e-6f && spec.std <= 1e6f) || !(std::fabs(spec.mean) <= 1e6f)) {
    return make_error(ErrorCode::invalid_argument, "preprocess: normalisation std " + std::to_string(spec.std) +
                                                       " / mean " + std::to_string(spec.mean) +
                                                       " outside std in [1e-6, 1e6] and |mean| <= 1e6");
  }
  return {};
}

Expected<void> check_frames(const Cine& cine) {
  if (cine.rows <= 0 || cine.cols <= 0 || cine.gray.empty()) {
    return make_error(ErrorCode::invalid_argument, "preprocess: the cine has no frames");
  }
  if (cine.gray.size() % cine.frame_bytes() != 0) {
    return make_error(ErrorCode::invalid_argument,
                      "preprocess: " + std::to_string(cine.gray.size()) + " pixel bytes is not a whole number of " +
                          std::to_string(cine.cols) + "x" + std::to_string(cine.rows) + " frames");
  }
  return {};
}

// The mapping and model pixel size of a sector.
void map_sector(const Cine& header, const ModelInputSpec& spec, Preprocessed& result) {
  result.spec = spec;
  result.mapping = make_model_mapping(result.sector, spec);
  if (header.calibration.known()) {
    result.mm_per_px_model_x = header.calibration.mm_per_px_x * result.mapping.scale_x;
    result.mm_per_px_model_y = header.calibration.mm_per_px_y * result.mapping.scale_y;
  }
}

}  // namespace

Expected<Preprocessed> prepare_sector(const Cine& header, int frame_count, const SectorSamples& samples,
                                      const ModelInputSpec& spec, const PreprocessOptions& options) {
  if (auto ok = check_spec(spec); !ok) return tl::unexpected(ok.error());
  if (header.rows <= 0 || header.cols <= 0 || frame_count <= 0 || samples.count() <= 0) {
    return make_error(ErrorCode::invalid_argument, "preprocess: the cine has no frames");
  }
  try {
    Preprocessed result;
    result.sector = detect_sector(header, samples, options.sector);
    result.frame_count = frame_count;
    map_sector(header, spec, result);
    return result;
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::out_of_memory, "preprocess: out of memory for the sector");
  } catch (const std::exception& error) {
    return make_error(ErrorCode::internal, std::string("preprocess: ") + error.what());
  }
}

Expected<Preprocessed> preprocess(const Cine& cine, const ModelInputSpec& spec, const PreprocessOptions& options) {
  if (auto ok = check_spec(spec); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_frames(cine); !ok) return tl::unexpected(ok.error());
  try {
    Preprocessed result;
    result.sector = detect_sector(cine, options.sector);
    result.color = detect_color(cine, result.sector, options.color);
    result.frame_count = cine.frame_count();
    map_sector(cine, spec, result);
    const std::size_t frame_floats = static_cast<std::size_t>(spec.input_size) * spec.input_size;
    result.model_input.assign(frame_floats * static_cast<std::size_t>(result.frame_count), 0.0f);
    std::atomic<bool> failed{false};  // an exception may not leave a worker thread
    detail::parallel_for(result.frame_count, detail::worker_count(options.threads, result.frame_count / 8), [&](int i) {
      try {
        preprocess_frame(cine.frame(i), cine.rows, cine.cols, result.sector, result.mapping, spec,
                         result.model_input.data() + frame_floats * static_cast<std::size_t>(i));
      } catch (...) {
        failed = true;
      }
    });
    if (failed) throw std::bad_alloc();
    return result;
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::out_of_memory, "preprocess: out of memory for the model input");
  } catch (const std::exception& error) {
    return make_error(ErrorCode::internal, std::string("preprocess: ") + error.what());
  }
}

}  // namespace echo
