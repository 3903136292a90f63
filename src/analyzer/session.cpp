// Streaming Session for scanners: frames arrive one at a time; each gets an LV contour and a quality
// indicator, and each completed heartbeat gives a BeatEvent. Memory is bounded by the curve window.
#include <algorithm>
#include <deque>

#include "analyzer/analyzer_internal.hpp"

namespace echo {
namespace {

// Frames buffered before the sector is located (the fan is found from what changes between frames).
constexpr int kWarmupFrames = 8;
// Default length of the volume curve kept for beat detection: > 3 beats at 40 bpm and 100 fps.
constexpr int kDefaultWindowFrames = 512;

class StreamingSession final : public Session {
 public:
  StreamingSession(const EchoAnalyzer::Impl& analyzer, const SessionOptions& options)
      : analyzer_(analyzer), options_(options),
        window_frames_(options.window_frames > 0 ? options.window_frames : kDefaultWindowFrames) {}

  Expected<FrameResult> push_frame(const FrameView& frame, double time_ms) override;
  std::vector<BeatEvent> take_beats() override {
    std::vector<BeatEvent> out;
    out.swap(pending_beats_);
    return out;
  }
  int frames_pushed() const override { return frames_pushed_; }

 private:
  Expected<void> check_frame(const Image8& gray, double time_ms) const;
  Expected<void> start_from_warmup();
  Expected<FrameResult> measure(const float* model_input, int frame_index, double time_ms);
  void append_to_curve(double volume, double time_ms);
  void detect_new_beats();

  const EchoAnalyzer::Impl& analyzer_;
  SessionOptions options_;
  int window_frames_;
  int frames_pushed_ = 0;
  double last_time_ms_ = 0.0;

  Cine warmup_;                    // the first frames, until the sector is known; then released
  bool ready_ = false;
  Preprocessed layout_;            // sector, mapping and spacing found on the warm-up frames
  PixelSpacing spacing_;
  std::vector<float> input_buffer_;

  std::deque<double> volumes_;     // the last window_frames_ LV volumes (relative units when uncalibrated)
  std::deque<double> times_ms_;
  int window_first_frame_ = 0;     // absolute index of volumes_.front()
  int last_emitted_ed_frame_ = -1;
  int beats_emitted_ = 0;
  double ef_sum_ = 0.0;
  int ef_count_ = 0;
  std::vector<BeatEvent> pending_beats_;
};

Expected<void> StreamingSession::check_frame(const Image8& gray, double time_ms) const {
  if (frames_pushed_ > 0 && time_ms <= last_time_ms_) {
    return make_error(ErrorCode::invalid_argument, "session: frame " + std::to_string(frames_pushed_) +
                                                       " time stamp does not increase");
  }
  const int rows = ready_ ? layout_.sector.mask.height : warmup_.rows;
  const int cols = ready_ ? layout_.sector.mask.width : warmup_.cols;
  if (frames_pushed_ > 0 && (gray.width != cols || gray.height != rows)) {
    return make_error(ErrorCode::invalid_argument, "session: frame " + std::to_string(frames_pushed_) + " is " +
                                                       std::to_string(gray.width) + "x" + std::to_string(gray.height) +
                                                       ", the stream started at " + std::to_string(cols) + "x" +
                                                       std::to_string(rows));
  }
  return {};
}

Expected<FrameResult> StreamingSession::push_frame(const FrameView& frame, double time_ms) {
  auto gray = frame_to_gray8(frame);
  if (!gray) return tl::unexpected(gray.error());
  if (auto ok = check_frame(*gray, time_ms); !ok) return tl::unexpected(ok.error());
  const int frame_index = frames_pushed_++;
  last_time_ms_ = time_ms;
  if (!ready_) {
    warmup_.rows = gray->height;
    warmup_.cols = gray->width;
    warmup_.gray.insert(warmup_.gray.end(), gray->pixels.begin(), gray->pixels.end());
    warmup_.frame_times_ms.push_back(time_ms);
    if (warmup_.frame_count() < kWarmupFrames) {
      FrameResult pending;
      pending.frame_index = frame_index;
      pending.time_ms = time_ms;
      return pending;  // no contour until the sector is known
    }
    if (auto started = start_from_warmup(); !started) return tl::unexpected(started.error());
    const std::size_t floats = input_buffer_.size();
    FrameResult last;
    for (int i = 0; i < kWarmupFrames; ++i) {
      auto measured = measure(layout_.model_input.data() + floats * i, frame_index - kWarmupFrames + 1 + i,
                              warmup_.frame_times_ms[i]);
      if (!measured) return measured;
      last = *measured;
    }
    warmup_ = Cine{};
    layout_.model_input.clear();
    layout_.model_input.shrink_to_fit();
    return last;
  }
  if (!preprocess_frame(gray->pixels.data(), gray->height, gray->width, layout_.sector, layout_.mapping,
                        layout_.spec, input_buffer_.data())) {
    return make_error(ErrorCode::internal, "session: frame " + std::to_string(frame_index) +
                                               " could not be mapped to the model input");
  }
  return measure(input_buffer_.data(), frame_index, time_ms);
}

Expected<void> StreamingSession::start_from_warmup() {
  warmup_.calibration = options_.calibration;
  warmup_.metadata.source_kind = "raw";
  auto pre = preprocess(warmup_, analyzer_.input_spec(), analyzer_.options.preprocess);
  if (!pre) return tl::unexpected(pre.error());
  layout_ = std::move(*pre);
  spacing_ = analysis::model_pixel_spacing(layout_);
  input_buffer_.assign(static_cast<std::size_t>(layout_.spec.input_size) * layout_.spec.input_size, 0.0f);
  ready_ = true;
  return {};
}

Expected<FrameResult> StreamingSession::measure(const float* model_input, int frame_index, double time_ms) {
  auto segmentation = analyzer_.model->segment(model_input, 1);
  if (!segmentation) return tl::unexpected(segmentation.error());
  const std::vector<std::string>& labels = analyzer_.model->manifest().view_labels;
  const analysis::LvSeries series = analysis::measure_series(*segmentation, spacing_, static_cast<int>(labels.size()));
  const LvGeometry& geometry = series.geometry.front();
  FrameResult result;
  result.frame_index = frame_index;
  result.time_ms = time_ms;
  double apical_probability = 0.0;
  for (std::size_t v = 0; v < labels.size(); ++v) {
    if (labels[v] == "a4c" || labels[v] == "a2c") apical_probability += series.view_mean[v];
  }
  if (geometry.valid) {
    result.lv_contour_px = analysis::to_original_pixels(geometry, layout_.mapping).contour_px;
    result.lv_area_mm2 = geometry.area_mm2;
    result.quality_score = apical_probability;
  }
  append_to_curve(series.volume_ml.front(), time_ms);
  const int beats_before = beats_emitted_;
  detect_new_beats();
  result.beat_completed = beats_emitted_ > beats_before;
  return result;
}

void StreamingSession::append_to_curve(double volume, double time_ms) {
  volumes_.push_back(volume);
  times_ms_.push_back(time_ms);
  while (static_cast<int>(volumes_.size()) > window_frames_) {
    volumes_.pop_front();
    times_ms_.pop_front();
    ++window_first_frame_;
  }
}

// Beats are found on the whole window each frame; a beat is new when its end-diastole lies more than
// half a period after the last one reported (the same beat seen again in a later window is not new).
void StreamingSession::detect_new_beats() {
  const std::vector<double> volumes(volumes_.begin(), volumes_.end());
  const std::vector<double> times(times_ms_.begin(), times_ms_.end());
  const CardiacResult cardiac = analyze_volume_curve(volumes, times, {}, analyzer_.options.cardiac);
  if (!cardiac.ok || cardiac.period_ms <= 0.0) return;
  const double frame_interval_ms = (times.back() - times.front()) / std::max<std::size_t>(1, times.size() - 1);
  const int min_gap_frames = static_cast<int>(0.5 * cardiac.period_ms / std::max(frame_interval_ms, 1e-6));
  for (const Beat& beat : cardiac.beats) {
    const int ed_frame = window_first_frame_ + beat.ed_frame;
    if (last_emitted_ed_frame_ >= 0 && ed_frame <= last_emitted_ed_frame_ + min_gap_frames) continue;
    BeatEvent event;
    event.beat_index = beats_emitted_++;
    event.beat.ed_frame = ed_frame;
    event.beat.es_frame = window_first_frame_ + beat.es_frame;
    event.beat.ed_time_ms = times[beat.ed_frame];
    event.beat.es_time_ms = times[beat.es_frame];
    event.beat.ef_percent = beat.ef_percent;
    event.beat.excluded = beat.excluded;
    event.beat.exclusion_reason = beat.exclusion_reason;
    if (options_.calibration.known() && options_.calibration.trusted) {
      event.beat.edv_ml = beat.edv;
      event.beat.esv_ml = beat.esv;
    }
    if (!beat.excluded) {
      ef_sum_ += beat.ef_percent;
      ++ef_count_;
    }
    event.running_ef_mean = ef_count_ > 0 ? ef_sum_ / ef_count_ : 0.0;
    last_emitted_ed_frame_ = ed_frame;
    pending_beats_.push_back(event);
  }
}

}  // namespace

Expected<std::unique_ptr<Session>> EchoAnalyzer::create_session(const SessionOptions& options) const {
  if (options.window_frames < 0) {
    return make_error(ErrorCode::invalid_argument, "session: window_frames must be 0 (default) or positive");
  }
  return std::unique_ptr<Session>(new StreamingSession(*impl_, options));
}

}  // namespace echo
