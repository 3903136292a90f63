// The streamed pass over a cine's frames: decode -> preprocess -> segment -> measure, one model batch at a
// time, so that no more than a batch of full-size frames is ever held. What is kept per frame is the LV
// geometry, its area and volume and the view probabilities; of the pixels only what the quality gate
// samples (and the whole model input when the VLM will need it). The batches are the model's own
// (SegmentationModel::max_batch, from frame 0), so the result is that of segmenting the whole cine at once.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <new>

#include "analyzer/analyzer_internal.hpp"
#include "common/parallel.hpp"

namespace echo::analysis {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Runs `work(k)` for k in [0, count) on the preprocess threads; the first error wins (by index, so the
// message does not depend on the thread count).
Expected<void> for_each_frame(int count, int threads, const std::function<Expected<void>(int)>& work) {
  std::vector<Error> errors(static_cast<std::size_t>(count));
  std::vector<char> failed(static_cast<std::size_t>(count), 0);
  detail::parallel_for(count, detail::worker_count(threads, count), [&](int k) {
    try {
      if (auto done = work(k); !done) {
        errors[static_cast<std::size_t>(k)] = done.error();
        failed[static_cast<std::size_t>(k)] = 1;
      }
    } catch (const std::bad_alloc&) {
      errors[static_cast<std::size_t>(k)] = Error{ErrorCode::out_of_memory, "analyze: out of memory for a frame"};
      failed[static_cast<std::size_t>(k)] = 1;
    } catch (const std::exception& error) {
      errors[static_cast<std::size_t>(k)] = Error{ErrorCode::internal, std::string("analyze: ") + error.what()};
      failed[static_cast<std::size_t>(k)] = 1;
    }
  });
  for (int k = 0; k < count; ++k) {
    if (failed[static_cast<std::size_t>(k)]) return tl::unexpected(errors[static_cast<std::size_t>(k)]);
  }
  return {};
}

// Reads the frames `indices` a group at a time (one per worker thread) with `read(index, buffer)` into
// buffers of `frame_bytes`, and hands each to `add` in index order.
template <typename Read, typename Add>
Expected<void> read_in_groups(const std::vector<int>& indices, std::size_t frame_bytes, int threads, Read read, Add add) {
  const int group = std::max(1, detail::worker_count(threads, static_cast<int>(indices.size())));
  std::vector<std::vector<std::uint8_t>> frames(static_cast<std::size_t>(group), std::vector<std::uint8_t>(frame_bytes));
  for (std::size_t first = 0; first < indices.size(); first += static_cast<std::size_t>(group)) {
    const int count = static_cast<int>(std::min(indices.size() - first, static_cast<std::size_t>(group)));
    auto done = for_each_frame(count, threads, [&](int k) {
      return read(indices[first + static_cast<std::size_t>(k)], frames[static_cast<std::size_t>(k)].data());
    });
    if (!done) return done;
    for (int k = 0; k < count; ++k) add(frames[static_cast<std::size_t>(k)].data());
  }
  return {};
}

// The sector from its sampled frames and the colour findings from the kept colour frames, both decoded a
// few at a time and added in order: a handful of full-size frames in memory at once.
Expected<Preprocessed> stream_sector(const FrameSource& source, const ModelInputSpec& spec, const PreprocessOptions& options) {
  const Cine& header = source.header();
  SectorSamples samples(header.rows, header.cols);
  auto sampled = read_in_groups(
      sector_sample_frames(source.frame_count(), options.sector), header.frame_bytes(), options.threads,
      [&](int index, std::uint8_t* luma) { return source.read_luma(index, luma); },
      [&](const std::uint8_t* luma) { samples.add(luma); });
  if (!sampled) return tl::unexpected(sampled.error());
  auto pre = prepare_sector(header, source.frame_count(), samples, spec, options);
  if (!pre) return tl::unexpected(pre.error());
  ColorAccumulator colour(pre->sector, header.rows, header.cols, options.color);
  auto coloured = read_in_groups(
      source.color_frames(), header.frame_bytes() * 3, options.threads,
      [&](int index, std::uint8_t* rgb) { return source.read_rgb(index, rgb); },
      [&](const std::uint8_t* rgb) { colour.add(rgb); });
  if (!coloured) return tl::unexpected(coloured.error());
  pre->color = colour.findings();
  return pre;
}

// Where frame `index` sits in the sorted `indices`, or -1.
int slot_of(const std::vector<int>& indices, int index) {
  const auto it = std::lower_bound(indices.begin(), indices.end(), index);
  return it != indices.end() && *it == index ? static_cast<int>(it - indices.begin()) : -1;
}

}  // namespace

QualityFrames StreamedFrames::quality_frames() const {
  QualityFrames frames;
  frames.frame_count = pre.frame_count;
  for (const auto& luma : gain_luma) frames.gain_luma.push_back(luma.data());
  for (const auto& input : metric_input) frames.metric_model_input.push_back(input.data());
  for (const auto& luma : metric_luma) frames.metric_luma.push_back(luma.data());
  return frames;
}

Expected<StreamedFrames> stream_frames(const FrameSource& source, const SegmentationModel& model,
                                       const ModelInputSpec& spec, const AnalyzerOptions& options,
                                       bool keep_model_input) {
  StreamedFrames out;
  const Cine& header = source.header();
  const int frame_count = source.frame_count();
  const int threads = options.preprocess.threads;
  auto stage = Clock::now();
  auto sector = stream_sector(source, spec, options.preprocess);
  if (!sector) return tl::unexpected(sector.error());
  out.pre = std::move(*sector);
  out.preprocess_ms += ms_since(stage);  // with the decoding of the sampled and the colour frames
  const Preprocessed& pre = out.pre;
  const std::size_t frame_floats = static_cast<std::size_t>(spec.input_size) * spec.input_size;
  if (keep_model_input) out.pre.model_input.assign(frame_floats * static_cast<std::size_t>(frame_count), 0.0f);

  // The gate's samples, kept as their frames go by.
  const std::vector<int> gain_indices = quality_gain_frames(frame_count);
  const std::vector<int> metric_indices = quality_metric_frames(frame_count, options.quality);
  const bool metric_from_input = spec.input_size == std::max(8, options.quality.metric_size);
  out.gain_luma.resize(gain_indices.size());
  if (metric_from_input) out.metric_input.resize(metric_indices.size());
  else out.metric_luma.resize(metric_indices.size());

  const int labels = static_cast<int>(model.manifest().view_labels.size());
  const PixelSpacing spacing = model_pixel_spacing(pre);
  std::vector<float> view_probabilities;
  const int batch = std::clamp(options.stream_batch_frames, 1, std::max(1, model.max_batch()));
  std::vector<float> input(frame_floats * static_cast<std::size_t>(std::min(batch, frame_count)));
  for (int first = 0; first < frame_count; first += batch) {
    const int count = std::min(batch, frame_count - first);
    stage = Clock::now();
    auto prepared = for_each_frame(count, threads, [&](int k) -> Expected<void> {
      const int index = first + k;
      thread_local std::vector<std::uint8_t> luma;  // one frame per worker thread, reused
      luma.resize(header.frame_bytes());
      if (auto read = source.read_luma(index, luma.data()); !read) return read;
      float* frame_input = input.data() + frame_floats * static_cast<std::size_t>(k);
      preprocess_frame(luma.data(), header.rows, header.cols, pre.sector, pre.mapping, spec, frame_input);
      if (const int slot = slot_of(gain_indices, index); slot >= 0) out.gain_luma[slot] = luma;
      if (const int slot = slot_of(metric_indices, index); slot >= 0) {
        if (metric_from_input) out.metric_input[slot].assign(frame_input, frame_input + frame_floats);
        else out.metric_luma[slot] = luma;
      }
      return {};
    });
    if (!prepared) return tl::unexpected(prepared.error());
    out.preprocess_ms += ms_since(stage);  // decode and resampling of a frame run together

    stage = Clock::now();
    auto segmentation = model.segment(input.data(), count);
    if (!segmentation) return tl::unexpected(segmentation.error());
    out.inference_ms += ms_since(stage);

    stage = Clock::now();
    LvSeries part = measure_series(*segmentation, spacing, labels, threads);
    for (auto& geometry : part.geometry) out.series.geometry.push_back(std::move(geometry));
    out.series.area_mm2.insert(out.series.area_mm2.end(), part.area_mm2.begin(), part.area_mm2.end());
    out.series.volume_ml.insert(out.series.volume_ml.end(), part.volume_ml.begin(), part.volume_ml.end());
    view_probabilities.insert(view_probabilities.end(), segmentation->view_probabilities.begin(),
                              segmentation->view_probabilities.end());
    if (keep_model_input) {
      std::copy(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(frame_floats * count),
                out.pre.model_input.begin() + static_cast<std::ptrdiff_t>(frame_floats * first));
    }
    out.geometry_ms += ms_since(stage);
  }
  out.series.view_mean = mean_view_probabilities(view_probabilities, frame_count, labels);
  return out;
}

}  // namespace echo::analysis
