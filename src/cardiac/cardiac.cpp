// The volume curve over a cine -> heart period -> beats (ED/ES) -> EF per beat and over beats.
// The rules are stated where they are applied and collected in docs/measurement.md.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "echo/cardiac.hpp"

namespace echo {
namespace {

// Rules (see docs/measurement.md):
// Successive end-diastoles are at least this fraction of the heart period apart: short enough for the
// beat-to-beat variation of atrial fibrillation (RR 0.6-1.4 x the mean), long enough that the
// diastasis and atrial-kick bumps inside one beat never count as a second ED.
constexpr double kMinEdSeparationOfPeriod = 0.5;
// End-systole is at least this fraction of the period after its ED and before the next ED.
constexpr double kMinEdEsSeparationOfPeriod = 0.1;
// A maximum of the smoothed curve is an ED candidate only when it stands out of the curve by this
// fraction of the curve's range (its topographic prominence): excludes noise and diastasis bumps.
constexpr double kMinProminenceOfRange = 0.25;
// Partial-beat rule: an ED at the first or last frame cannot be seen as a maximum (the curve beyond
// the clip is unknown); it counts only when it is within this fraction of the beat's stroke
// (ED - ES) of the beat's other ED, i.e. the clip starts or ends at end-diastole level.
constexpr double kBoundaryEdToleranceOfStroke = 0.15;
// EF outside (0, 90) percent is not a heartbeat that can be measured (swapped or failed keyframes).
constexpr double kMaxPlausibleEfPercent = 90;

std::string format(const char* fmt, double a, double b = 0, double c = 0) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, fmt, a, b, c);
  return buffer;
}

double median_of(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
}

// Invalid (non-finite or negative) volumes bridged by linear interpolation for detection only.
std::vector<double> bridge_invalid(const std::vector<double>& volume, std::vector<int>* invalid) {
  const int n = static_cast<int>(volume.size());
  std::vector<int> valid;
  for (int i = 0; i < n; ++i) {
    if (std::isfinite(volume[static_cast<std::size_t>(i)]) && volume[static_cast<std::size_t>(i)] >= 0) valid.push_back(i);
    else invalid->push_back(i);
  }
  std::vector<double> out(volume);
  if (valid.empty()) return out;
  for (int i : *invalid) {
    auto after = std::lower_bound(valid.begin(), valid.end(), i);
    if (after == valid.begin()) out[static_cast<std::size_t>(i)] = volume[static_cast<std::size_t>(*after)];
    else if (after == valid.end()) out[static_cast<std::size_t>(i)] = volume[static_cast<std::size_t>(valid.back())];
    else {
      const int lo = *(after - 1), hi = *after;
      const double f = static_cast<double>(i - lo) / (hi - lo);
      out[static_cast<std::size_t>(i)] = (1 - f) * volume[static_cast<std::size_t>(lo)] + f * volume[static_cast<std::size_t>(hi)];
    }
  }
  return out;
}

// A frame whose volume jumps away from both neighbours by more than this share of the curve's range is a
// one-frame segmentation spike (a leak through the opening mitral valve at the atrial kick, say), not
// heart motion: even a beat sampled with 8 frames moves less than this between neighbours at its extrema.
constexpr double kSpikeShareOfRange = 0.2;

// Replaces one-frame spikes by the median of the frame and its two neighbours. A moving average only spreads
// a spike out, and it would then win the ED search; true ED and ES last several frames and are untouched.
std::vector<double> remove_spikes(const std::vector<double>& values) {
  std::vector<double> median = values;
  for (std::size_t i = 1; i + 1 < values.size(); ++i) {
    const double a = values[i - 1], b = values[i], c = values[i + 1];
    median[i] = std::max(std::min(a, b), std::min(std::max(a, b), c));
  }
  const auto [lowest, highest] = std::minmax_element(median.begin(), median.end());
  const double limit = kSpikeShareOfRange * (*highest - *lowest);
  std::vector<double> out = values;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (std::abs(values[i] - median[i]) > limit) out[i] = median[i];
  return out;
}

// Centred moving average over a time window (works for uneven frame times).
std::vector<double> smooth(const std::vector<double>& values, const std::vector<double>& times, double window_ms) {
  const std::size_t n = values.size();
  std::vector<double> out(n);
  std::size_t lo = 0, hi = 0;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    while (hi < n && times[hi] <= times[i] + window_ms / 2 + 1e-9) sum += values[hi++];
    while (times[lo] < times[i] - window_ms / 2 - 1e-9) sum -= values[lo++];
    out[i] = sum / static_cast<double>(hi - lo);
  }
  return out;
}

double median_interval_ms(const std::vector<double>& times) {
  std::vector<double> intervals;
  for (std::size_t i = 1; i < times.size(); ++i) intervals.push_back(times[i] - times[i - 1]);
  return median_of(intervals);
}

// Heart period from the autocorrelation of the smoothed curve, resampled on an even grid. The first
// autocorrelation peak within 85% of the highest one is taken (the highest alone may be two periods).
// Returns 0 when no peak is clear (correlation below 0.2), e.g. for a clip shorter than ~1.3 periods.
double autocorrelation_period_ms(const std::vector<double>& curve, const std::vector<double>& times, const CardiacOptions& options) {
  const double dt = median_interval_ms(times);
  if (dt <= 0) return 0;
  std::vector<double> grid;
  std::size_t j = 0;
  for (double t = times.front(); t <= times.back() + 1e-9; t += dt) {
    while (j + 2 < times.size() && times[j + 1] < t) ++j;
    const double f = std::clamp((t - times[j]) / (times[j + 1] - times[j]), 0.0, 1.0);
    grid.push_back((1 - f) * curve[j] + f * curve[j + 1]);
  }
  const std::size_t m = grid.size();
  const double mean = std::accumulate(grid.begin(), grid.end(), 0.0) / static_cast<double>(m);
  double variance = 0;
  for (double& v : grid) v -= mean, variance += v * v;
  variance /= static_cast<double>(m);
  if (variance <= 0) return 0;
  const std::size_t lag_min = static_cast<std::size_t>(std::ceil(options.min_period_ms / dt));
  const std::size_t lag_max = std::min(static_cast<std::size_t>(options.max_period_ms / dt) + 1, m * 7 / 10);
  if (lag_max < lag_min + 2) return 0;
  std::vector<double> r(lag_max + 2, 0.0);
  for (std::size_t lag = lag_min - 1; lag <= lag_max + 1 && lag < m; ++lag) {
    double sum = 0;
    for (std::size_t i = 0; i + lag < m; ++i) sum += grid[i] * grid[i + lag];
    r[lag] = sum / static_cast<double>(m - lag) / variance;
  }
  std::vector<std::size_t> peaks;
  double highest = 0;
  for (std::size_t lag = std::max<std::size_t>(lag_min, 1); lag <= lag_max; ++lag)
    if (r[lag] > r[lag - 1] && r[lag] >= r[lag + 1]) peaks.push_back(lag), highest = std::max(highest, r[lag]);
  if (highest < 0.2) return 0;
  for (std::size_t lag : peaks) {
    if (r[lag] < 0.85 * highest) continue;
    const double denominator = r[lag - 1] - 2 * r[lag] + r[lag + 1];
    const double shift = denominator < 0 ? 0.5 * (r[lag - 1] - r[lag + 1]) / denominator : 0;
    return (static_cast<double>(lag) + std::clamp(shift, -0.5, 0.5)) * dt;
  }
  return 0;
}

// End-diastole candidates: maxima of the smoothed curve, interior ones and one-sided ones at the clip
// ends, with prominence >= kMinProminenceOfRange of the range and at least `min_separation_ms` apart
// (the higher one wins). Sorted by frame.
std::vector<int> find_ed_candidates(const std::vector<double>& s, const std::vector<double>& times, double min_separation_ms) {
  const int n = static_cast<int>(s.size());
  const double range = *std::max_element(s.begin(), s.end()) - *std::min_element(s.begin(), s.end());
  std::vector<int> maxima;
  for (int i = 0; i < n; ++i) {
    const bool left_ok = i == 0 || s[static_cast<std::size_t>(i)] >= s[static_cast<std::size_t>(i - 1)];
    const bool right_ok = i == n - 1 || s[static_cast<std::size_t>(i)] > s[static_cast<std::size_t>(i + 1)];
    const bool strict_somewhere = (i > 0 && s[static_cast<std::size_t>(i)] > s[static_cast<std::size_t>(i - 1)]) ||
                                  (i < n - 1 && s[static_cast<std::size_t>(i)] > s[static_cast<std::size_t>(i + 1)]);
    if (left_ok && right_ok && strict_somewhere) maxima.push_back(i);
  }
  auto prominence = [&](int i) {
    const double peak = s[static_cast<std::size_t>(i)];
    double left_low = peak, right_low = peak;
    bool left_bounded = false, right_bounded = false;
    for (int k = i - 1; k >= 0; --k) {
      if (s[static_cast<std::size_t>(k)] > peak) { left_bounded = true; break; }
      left_low = std::min(left_low, s[static_cast<std::size_t>(k)]);
    }
    for (int k = i + 1; k < n; ++k) {
      if (s[static_cast<std::size_t>(k)] > peak) { right_bounded = true; break; }
      right_low = std::min(right_low, s[static_cast<std::size_t>(k)]);
    }
    // A side that reaches the clip's end without meeting a higher point says nothing about the peak
    // (the curve beyond the clip is unknown; an ED two frames into the clip has almost no left side):
    // the prominence then comes from the other side alone.
    if (i == 0 || (!left_bounded && right_bounded)) return peak - right_low;
    if (i == n - 1 || (left_bounded && !right_bounded)) return peak - left_low;
    if (!left_bounded && !right_bounded) return peak - std::min(left_low, right_low);
    return peak - std::max(left_low, right_low);
  };
  std::vector<int> prominent;
  for (int i : maxima)
    if (prominence(i) >= kMinProminenceOfRange * range) prominent.push_back(i);
  std::sort(prominent.begin(), prominent.end(), [&](int a, int b) {
    return s[static_cast<std::size_t>(a)] != s[static_cast<std::size_t>(b)] ? s[static_cast<std::size_t>(a)] > s[static_cast<std::size_t>(b)] : a < b;
  });
  std::vector<int> kept;
  for (int i : prominent) {
    const bool far_enough = std::all_of(kept.begin(), kept.end(), [&](int k) {
      return std::abs(times[static_cast<std::size_t>(i)] - times[static_cast<std::size_t>(k)]) >= min_separation_ms;
    });
    if (far_enough) kept.push_back(i);
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

int argmin_between(const std::vector<double>& s, int first, int last) {  // exclusive bounds
  int best = first + 1;
  for (int i = first + 1; i < last; ++i)
    if (s[static_cast<std::size_t>(i)] < s[static_cast<std::size_t>(best)]) best = i;
  return best;
}

// The curves the keyframe search reads.
struct KeyframeCurves {
  const std::vector<double>& smoothed;  // despiked, moving average
  const std::vector<double>& raw;       // despiked
  const std::vector<char>& invalid;
  double es_band_of_stroke;             // CardiacOptions::es_band_of_stroke
};

// Moves a keyframe found on the smoothed curve to the raw extremum at most one frame away (smoothing
// shifts an asymmetric peak); invalid frames are never chosen.
int refine_on_raw(const std::vector<double>& raw, const std::vector<char>& invalid, int frame, bool maximum, int lo, int hi) {
  int best = frame;
  for (int k = std::max(lo, frame - 1); k <= std::min(hi, frame + 1); ++k) {
    if (invalid[static_cast<std::size_t>(k)]) continue;
    if (invalid[static_cast<std::size_t>(best)]) { best = k; continue; }
    const double v = raw[static_cast<std::size_t>(k)], b = raw[static_cast<std::size_t>(best)];
    if (maximum ? v > b : v < b) best = k;
  }
  return best;
}

// The middle of a flat end-systole: the frames around the minimum whose smoothed volume lies within
// `band_of_stroke` of the stroke above it. On a noisy curve the minimum itself wanders over a long, flat
// end-systole (low EF, slow heart: seen 3 frames off); the middle of that stretch stays on the plateau.
int middle_of_systolic_trough(const std::vector<double>& smoothed, const std::vector<char>& invalid, int ed, int next_ed,
                              int es, double band_of_stroke) {
  const double peak = std::max(smoothed[static_cast<std::size_t>(ed)], smoothed[static_cast<std::size_t>(next_ed)]);
  const double limit = smoothed[static_cast<std::size_t>(es)] + band_of_stroke * (peak - smoothed[static_cast<std::size_t>(es)]);
  int lo = es, hi = es;
  while (lo - 1 > ed && smoothed[static_cast<std::size_t>(lo - 1)] <= limit) --lo;
  while (hi + 1 < next_ed && smoothed[static_cast<std::size_t>(hi + 1)] <= limit) ++hi;
  const int middle = (lo + hi + 1) / 2;
  for (int step = 0; step <= hi - lo; ++step)  // the valid frame nearest the middle
    for (int k : {middle - step, middle + step})
      if (k >= lo && k <= hi && !invalid[static_cast<std::size_t>(k)]) return k;
  return es;
}

Beat make_beat(int ed, int next_ed, const KeyframeCurves& curves) {
  Beat beat;
  beat.start_frame = ed;
  beat.end_frame = next_ed;
  const int es = argmin_between(curves.smoothed, ed, next_ed);
  beat.ed_frame = refine_on_raw(curves.raw, curves.invalid, ed, true, ed == 0 ? 0 : ed - 1, es - 1);
  beat.es_frame = curves.es_band_of_stroke > 0
                      ? middle_of_systolic_trough(curves.smoothed, curves.invalid, beat.ed_frame, next_ed, es, curves.es_band_of_stroke)
                      : refine_on_raw(curves.raw, curves.invalid, es, false, beat.ed_frame + 1, next_ed - 1);
  return beat;
}

// When no beat is left the caller gets no beat list (no EF), so the reason names each beat's own reason.
std::string all_beats_excluded_reason(const std::vector<Beat>& beats) {
  std::string reason = "all " + std::to_string(beats.size()) + " complete beats were excluded";
  for (std::size_t k = 0; k < beats.size(); ++k)
    reason += (k == 0 ? ": " : "; ") + std::string("beat ") + std::to_string(k + 1) + ", " + beats[k].exclusion_reason;
  return reason;
}

// Mean, sample SD (n - 1) and median over the beats not excluded; ok when at least one is left.
void fill_statistics(CardiacResult* result) {
  std::vector<double> used;
  for (const Beat& beat : result->beats)
    if (!beat.excluded) used.push_back(beat.ef_percent);
  result->beats_used = static_cast<int>(used.size());
  result->ef_mean = result->ef_sd = result->ef_median = 0;
  result->ok = !used.empty();
  if (result->beats.empty()) {
    if (result->reason.empty()) result->reason = "no complete heartbeat in the clip";
    return;
  }
  if (used.empty()) {
    result->reason = all_beats_excluded_reason(result->beats);
    return;
  }
  result->reason.clear();
  result->ef_mean = std::accumulate(used.begin(), used.end(), 0.0) / static_cast<double>(used.size());
  double squares = 0;
  for (double ef : used) squares += (ef - result->ef_mean) * (ef - result->ef_mean);
  result->ef_sd = used.size() > 1 ? std::sqrt(squares / static_cast<double>(used.size() - 1)) : 0.0;
  result->ef_median = median_of(used);
}

// The per-frame measurement noise of a curve: robust SD of its residual from a 5-point quadratic
// (Savitzky-Golay) fit. A smooth curve, peaks included, is locally quadratic and leaves almost no
// residual; mask pixelation noise does. 0.717 = sqrt(1 - 17/35) rescales the residual to the noise.
double measurement_noise(const std::vector<double>& volume, const std::vector<char>& invalid) {
  std::vector<double> residuals;
  for (std::size_t i = 2; i + 2 < volume.size(); ++i) {
    bool usable = true;
    for (std::size_t k = i - 2; k <= i + 2; ++k) usable = usable && !invalid[k];
    if (!usable) continue;
    const double fit = (-3 * volume[i - 2] + 12 * volume[i - 1] + 17 * volume[i] + 12 * volume[i + 1] - 3 * volume[i + 2]) / 35;
    residuals.push_back(std::abs(volume[i] - fit));
  }
  return 1.4826 * median_of(residuals) / 0.717;
}

// The volume of an automatic keyframe: the mean over the keyframe and its contiguous neighbours (up to
// kPlateauMaxFrames each side) whose volume is within 2.5 noise SDs of the keyframe's, and within 1% of
// it and 2% of the beat's stroke volume (so that averaging moves EDV or ESV by at most 2% of the stroke
// even where the noise estimate is high: at 30 fps the fit residual also holds some of the signal).
// The LV volume is constant through isovolumic contraction (ED) and relaxation (ES), so several frames
// are equally the extremum; with per-frame noise the extremum frame is the noisiest of them, which
// biases EF upward (largest EDV, smallest ESV). Frames the measurement cannot tell apart from the
// keyframe are averaged instead; on a noiseless curve nothing is averaged. A clinician's keyframe is
// taken as is.
constexpr int kPlateauMaxFrames = 2;

double keyframe_volume(const std::vector<double>& volume, const std::vector<char>& invalid, int frame, double noise, double stroke) {
  const int n = static_cast<int>(volume.size());
  const double centre = volume[static_cast<std::size_t>(frame)];
  const double tolerance = std::min({2.5 * noise, 0.01 * std::abs(centre), 0.02 * std::abs(stroke)});
  double sum = centre;
  int count = 1;
  for (int direction : {-1, +1}) {
    for (int step = 1; step <= kPlateauMaxFrames; ++step) {
      const int k = frame + direction * step;
      if (k < 0 || k >= n || invalid[static_cast<std::size_t>(k)]) break;
      const double v = volume[static_cast<std::size_t>(k)];
      if (std::abs(v - centre) > tolerance) break;
      sum += v, ++count;
    }
  }
  return sum / count;
}

bool invalid_near(const std::vector<char>& invalid, int frame) {
  const int n = static_cast<int>(invalid.size());
  return (frame > 0 && invalid[static_cast<std::size_t>(frame - 1)]) || (frame + 1 < n && invalid[static_cast<std::size_t>(frame + 1)]);
}

const char kTimingRule[] = "ES is ";  // the start of the ED/ES distance rule's reason

// Recomputes volumes and EF of every beat from `volume`, applies the exclusion rules, and fills the
// statistics. Rules, in order: no valid volume at a keyframe, or (automatic keyframes) at a frame next
// to one, where the true extremum may hide; EDV not positive; EF outside (0, 90);
// ES closer than kMinEdEsSeparationOfPeriod of the period to either ED (automatic keyframes only;
// applied when `times` is given, otherwise a verdict in `earlier` is kept); then, with 3 or more beats
// left, an EF more than `outlier_ef_points` from their median (automatic keyframes only: a
// clinician's choice stands).
void assess_beats(CardiacResult* result, const std::vector<double>& volume, const std::vector<char>& invalid,
                  const std::vector<double>* times, const std::vector<Beat>* earlier, const CardiacOptions& options) {
  const double noise = measurement_noise(volume, invalid);
  for (std::size_t k = 0; k < result->beats.size(); ++k) {
    Beat& beat = result->beats[k];
    beat.excluded = false;
    beat.exclusion_reason.clear();
    const double stroke = volume[static_cast<std::size_t>(beat.ed_frame)] - volume[static_cast<std::size_t>(beat.es_frame)];
    beat.edv = beat.edited ? volume[static_cast<std::size_t>(beat.ed_frame)] : keyframe_volume(volume, invalid, beat.ed_frame, noise, stroke);
    beat.esv = beat.edited ? volume[static_cast<std::size_t>(beat.es_frame)] : keyframe_volume(volume, invalid, beat.es_frame, noise, stroke);
    beat.ef_percent = beat.edv > 0 ? 100.0 * (beat.edv - beat.esv) / beat.edv : 0.0;
    auto exclude = [&](std::string why) { beat.excluded = true, beat.exclusion_reason = std::move(why); };
    if (invalid[static_cast<std::size_t>(beat.ed_frame)] || invalid[static_cast<std::size_t>(beat.es_frame)]) {
      exclude("no valid LV volume at the ED or ES frame");
      beat.ef_percent = 0;
    } else if (!beat.edited && (invalid_near(invalid, beat.ed_frame) || invalid_near(invalid, beat.es_frame))) {
      exclude("a frame next to the ED or ES frame has no valid LV volume: the true extremum may be hidden there");
    } else if (beat.edv <= 0) {
      exclude("end-diastolic volume is not positive");
    } else if (beat.ef_percent <= 0 || beat.ef_percent >= kMaxPlausibleEfPercent) {
      exclude(format("EF %.1f%% is outside 0-90%%: not a measurable beat", beat.ef_percent));
    } else if (!beat.edited && times != nullptr && result->period_ms > 0) {
      const double min_gap = kMinEdEsSeparationOfPeriod * result->period_ms;
      const double systole = (*times)[static_cast<std::size_t>(beat.es_frame)] - (*times)[static_cast<std::size_t>(beat.ed_frame)];
      const double diastole = (*times)[static_cast<std::size_t>(beat.end_frame)] - (*times)[static_cast<std::size_t>(beat.es_frame)];
      if (std::min(systole, diastole) < min_gap)
        exclude(std::string(kTimingRule) + format("%.0f ms from an ED, less than 10%% of the %.0f ms period", std::min(systole, diastole), result->period_ms));
    } else if (!beat.edited && earlier != nullptr && k < earlier->size() && (*earlier)[k].exclusion_reason.rfind(kTimingRule, 0) == 0) {
      exclude((*earlier)[k].exclusion_reason);
    }
  }
  std::vector<double> candidate_efs;
  for (const Beat& beat : result->beats)
    if (!beat.excluded) candidate_efs.push_back(beat.ef_percent);
  if (candidate_efs.size() >= 3) {
    const double median = median_of(candidate_efs);
    for (Beat& beat : result->beats) {
      if (beat.excluded || beat.edited || std::abs(beat.ef_percent - median) <= options.outlier_ef_points) continue;
      beat.excluded = true;
      beat.exclusion_reason = format("EF %.1f%% is more than %.0f points from the median %.1f%% of the beats", beat.ef_percent,
                                     options.outlier_ef_points, median);
    }
  }
  fill_statistics(result);
}

CardiacResult failed(std::string reason) {
  CardiacResult result;
  result.ok = false;
  result.reason = std::move(reason);
  return result;
}

std::string validate(const std::vector<double>& volume, const std::vector<double>& times, const CardiacOptions& options) {
  if (volume.size() != times.size())
    return "invalid input: " + std::to_string(volume.size()) + " volumes but " + std::to_string(times.size()) + " frame times";
  if (volume.size() < 3) return "invalid input: fewer than 3 frames";
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (!std::isfinite(times[i])) return "invalid input: frame time " + std::to_string(i) + " is not finite";
    if (i > 0 && times[i] <= times[i - 1]) return "invalid input: frame times do not increase at frame " + std::to_string(i);
  }
  if (!(options.min_period_ms > 0) || !(options.max_period_ms > options.min_period_ms) || !(options.smoothing_window_ms >= 0) ||
      !(options.outlier_ef_points > 0))
    return "invalid options: need 0 < min_period_ms < max_period_ms, smoothing_window_ms >= 0, outlier_ef_points > 0";
  return {};
}

// Beats from R waves: each pair of successive R waves inside the clip bounds one beat; its ED is the
// largest smoothed volume within 15% of the period of the R wave (ED is at the QRS by definition, the
// volume maximum confirms it), its ES the smallest between the two EDs.
std::vector<Beat> beats_from_r_waves(const std::vector<double>& r_waves, const KeyframeCurves& curves,
                                     const std::vector<double>& times, double period_ms) {
  const std::vector<double>& smoothed = curves.smoothed;
  auto ed_near = [&](double r) {
    int best = -1;
    for (int i = 0; i < static_cast<int>(times.size()); ++i)
      if (std::abs(times[static_cast<std::size_t>(i)] - r) <= 0.15 * period_ms &&
          (best < 0 || smoothed[static_cast<std::size_t>(i)] > smoothed[static_cast<std::size_t>(best)]))
        best = i;
    if (best < 0)  // frames sparser than the window: the nearest frame
      best = static_cast<int>(std::min_element(times.begin(), times.end(), [&](double a, double b) { return std::abs(a - r) < std::abs(b - r); }) - times.begin());
    return best;
  };
  std::vector<Beat> beats;
  for (std::size_t k = 0; k + 1 < r_waves.size(); ++k) {
    const int ed = ed_near(r_waves[k]), next_ed = ed_near(r_waves[k + 1]);
    if (next_ed - ed < 2) continue;
    beats.push_back(make_beat(ed, next_ed, curves));
  }
  return beats;
}

// Beats from the curve alone: successive ED candidates bound a beat. Partial-beat rule: a beat bounded
// by an ED at the first or last frame counts only when that ED is within
// kBoundaryEdToleranceOfStroke of the stroke from the beat's other ED (the clip starts or ends at
// end-diastole); otherwise the partial beat at that end is left out.
std::vector<Beat> beats_from_curve(const std::vector<int>& eds, const KeyframeCurves& curves) {
  const std::vector<double>& smoothed = curves.smoothed;
  const int last = static_cast<int>(smoothed.size()) - 1;
  std::vector<Beat> beats;
  for (std::size_t k = 0; k + 1 < eds.size(); ++k) {
    const int ed = eds[k], next_ed = eds[k + 1];
    if (next_ed - ed < 2) continue;
    if (ed == 0 || next_ed == last) {
      const int es = argmin_between(smoothed, ed, next_ed);
      const double a = smoothed[static_cast<std::size_t>(ed)], b = smoothed[static_cast<std::size_t>(next_ed)];
      const double stroke = std::max(a, b) - smoothed[static_cast<std::size_t>(es)];
      if (std::abs(a - b) > kBoundaryEdToleranceOfStroke * stroke) continue;
    }
    beats.push_back(make_beat(ed, next_ed, curves));
  }
  return beats;
}

}  // namespace

CardiacResult analyze_volume_curve(const std::vector<double>& volume, const std::vector<double>& frame_times_ms,
                                   const std::vector<double>& r_wave_times_ms, const CardiacOptions& options) {
  try {
    if (std::string problem = validate(volume, frame_times_ms, options); !problem.empty()) return failed(problem);
    CardiacResult result;
    const std::vector<double> bridged = bridge_invalid(volume, &result.invalid_frames);
    if (result.invalid_frames.size() == volume.size()) return failed("no frame has a valid LV volume");
    std::vector<char> invalid(volume.size(), 0);
    for (int i : result.invalid_frames) invalid[static_cast<std::size_t>(i)] = 1;

    const std::vector<double>& times = frame_times_ms;
    // Keyframes are searched on the despiked curve; the EF still reads the measured volumes at them.
    const std::vector<double> despiked = remove_spikes(bridged);
    result.curve_smoothed = smooth(despiked, times, options.smoothing_window_ms);
    const auto [lowest, highest] = std::minmax_element(result.curve_smoothed.begin(), result.curve_smoothed.end());
    if (*highest - *lowest <= 1e-9 * std::max(1.0, std::abs(*highest))) {
      result.ok = false;
      result.reason = "the LV volume does not change over the clip: no heartbeat";
      return result;
    }

    const KeyframeCurves curves{result.curve_smoothed, despiked, invalid, options.es_band_of_stroke};
    std::vector<double> r_waves;
    for (double r : r_wave_times_ms)
      if (std::isfinite(r) && r >= times.front() && r <= times.back()) r_waves.push_back(r);
    std::sort(r_waves.begin(), r_waves.end());
    std::vector<double> rr;
    for (std::size_t k = 1; k < r_waves.size(); ++k) rr.push_back(r_waves[k] - r_waves[k - 1]);
    const double rr_median = median_of(rr);
    if (r_waves.size() >= 2 && rr_median >= options.min_period_ms && rr_median <= options.max_period_ms) {
      result.period_ms = rr_median;
      result.period_source = "r_wave";
      result.beats = beats_from_r_waves(r_waves, curves, times, rr_median);
    } else {
      result.period_ms = autocorrelation_period_ms(result.curve_smoothed, times, options);
      result.period_source = "autocorrelation";
      if (result.period_ms <= 0) {
        // Too short or too irregular for autocorrelation: the median distance between maxima at
        // least min_period_ms apart.
        const std::vector<int> eds = find_ed_candidates(result.curve_smoothed, times, options.min_period_ms);
        std::vector<double> gaps;
        for (std::size_t k = 1; k < eds.size(); ++k) gaps.push_back(times[static_cast<std::size_t>(eds[k])] - times[static_cast<std::size_t>(eds[k - 1])]);
        result.period_ms = median_of(gaps);
        result.period_source = result.period_ms > 0 ? "extrema" : "";
      }
      const double separation = result.period_ms > 0 ? kMinEdSeparationOfPeriod * result.period_ms : options.min_period_ms;
      result.beats = beats_from_curve(find_ed_candidates(result.curve_smoothed, times, separation), curves);
    }
    // Heart rate from the beats actually seen (ED to ED), else from the period.
    double beat_time = 0;
    for (const Beat& beat : result.beats) beat_time += times[static_cast<std::size_t>(beat.end_frame)] - times[static_cast<std::size_t>(beat.start_frame)];
    if (!result.beats.empty()) result.heart_rate_bpm = 60000.0 * static_cast<double>(result.beats.size()) / beat_time;
    else if (result.period_ms > 0) result.heart_rate_bpm = 60000.0 / result.period_ms;
    if (result.beats.empty())
      result.reason = format("no complete heartbeat in the clip (%.0f ms; heart period %.0f ms)", times.back() - times.front(), result.period_ms);
    result.outlier_ef_points = options.outlier_ef_points;
    assess_beats(&result, volume, invalid, &times, nullptr, options);
    return result;
  } catch (const std::exception& e) {
    return failed(std::string("internal error: ") + e.what());
  }
}

std::optional<LoopExtremes> loop_extremes(const CardiacResult& result, const std::vector<double>& frame_times_ms) {
  const std::vector<double>& curve = result.curve_smoothed;
  if (!result.beats.empty()) return std::nullopt;  // delimited beats were excluded for a reason, which stands
  if (!(result.period_ms > 0) || curve.size() != frame_times_ms.size() || curve.size() < 3) return std::nullopt;
  if (frame_times_ms.back() - frame_times_ms.front() < result.period_ms) return std::nullopt;
  std::vector<char> invalid(curve.size(), 0);
  for (int i : result.invalid_frames) invalid[static_cast<std::size_t>(i)] = 1;
  int ed = -1, es = -1;
  for (int i = 0; i < static_cast<int>(curve.size()); ++i) {
    if (invalid[static_cast<std::size_t>(i)]) continue;
    if (ed < 0 || curve[static_cast<std::size_t>(i)] > curve[static_cast<std::size_t>(ed)]) ed = i;
    if (es < 0 || curve[static_cast<std::size_t>(i)] < curve[static_cast<std::size_t>(es)]) es = i;
  }
  if (ed < 0 || es < 0) return std::nullopt;
  const double gap_ms = std::abs(frame_times_ms[static_cast<std::size_t>(ed)] - frame_times_ms[static_cast<std::size_t>(es)]);
  if (gap_ms < 0.15 * result.period_ms || gap_ms > 0.85 * result.period_ms) return std::nullopt;
  LoopExtremes extremes{ed, es, curve[static_cast<std::size_t>(ed)], curve[static_cast<std::size_t>(es)], 0.0};
  if (!(extremes.edv > 0) || !(extremes.esv >= 0) || extremes.esv >= extremes.edv) return std::nullopt;
  extremes.ef_percent = 100.0 * (extremes.edv - extremes.esv) / extremes.edv;
  if (extremes.ef_percent >= kMaxPlausibleEfPercent) return std::nullopt;
  return extremes;
}

Expected<CardiacResult> apply_keyframe_edits_checked(const CardiacResult& input, const std::vector<double>& volume,
                                                     const std::vector<KeyframeEdit>& edits) {
  CardiacResult result = apply_keyframe_edits(input, volume, edits);
  for (const std::string& line : result.edit_log)
    if (line.rfind("rejected", 0) == 0) return make_error(ErrorCode::invalid_argument, "keyframe edit " + line);
  return result;
}

CardiacResult apply_keyframe_edits(const CardiacResult& input, const std::vector<double>& volume, const std::vector<KeyframeEdit>& edits) {
  CardiacResult result = input;
  const int frames = static_cast<int>(volume.size());
  if (!input.curve_smoothed.empty() && volume.size() != input.curve_smoothed.size()) {
    result.edit_log.push_back("rejected: the volume curve has " + std::to_string(volume.size()) + " frames, the result " +
                              std::to_string(input.curve_smoothed.size()));
    return result;
  }
  auto valid_frame = [&](int f) { return f >= 0 && f < frames && std::isfinite(volume[static_cast<std::size_t>(f)]); };
  for (const KeyframeEdit& edit : edits) {
    const std::string which = "beat " + std::to_string(edit.beat_index);
    if (edit.beat_index < 0 || edit.beat_index >= static_cast<int>(result.beats.size())) {
      result.edit_log.push_back("rejected: " + which + ": no such beat (" + std::to_string(result.beats.size()) + " beats)");
      continue;
    }
    Beat& beat = result.beats[static_cast<std::size_t>(edit.beat_index)];
    const int ed = edit.ed_frame.value_or(beat.ed_frame), es = edit.es_frame.value_or(beat.es_frame);
    if (!valid_frame(ed) || !valid_frame(es) || ed == es) {
      result.edit_log.push_back("rejected: " + which + ": ED " + std::to_string(ed) + " / ES " + std::to_string(es) +
                                " must be two different frames in 0.." + std::to_string(frames - 1) + " with a valid volume");
      continue;
    }
    std::string line = which + ": ";
    line += edit.ed_frame ? "ED " + std::to_string(beat.ed_frame) + " -> " + std::to_string(ed) : "ED " + std::to_string(ed) + " kept";
    line += edit.es_frame ? ", ES " + std::to_string(beat.es_frame) + " -> " + std::to_string(es) : ", ES " + std::to_string(es) + " kept";
    beat.ed_frame = ed;
    beat.es_frame = es;
    beat.start_frame = std::min(beat.start_frame, std::min(ed, es));
    beat.end_frame = std::max(beat.end_frame, std::max(ed, es));
    beat.edited = true;
    const double edv = volume[static_cast<std::size_t>(ed)], esv = volume[static_cast<std::size_t>(es)];
    line += format(" (clinician); EF now %.1f%%", edv > 0 ? 100 * (edv - esv) / edv : 0.0);
    result.edit_log.push_back(line);
  }
  std::vector<char> invalid(volume.size(), 0);
  for (std::size_t i = 0; i < volume.size(); ++i) invalid[i] = !(std::isfinite(volume[i]) && volume[i] >= 0);
  CardiacOptions options;
  options.outlier_ef_points = input.outlier_ef_points > 0 ? input.outlier_ef_points : options.outlier_ef_points;
  assess_beats(&result, volume, invalid, nullptr, &input.beats, options);
  return result;
}

}  // namespace echo
