// echo_validate: the C face of echo::run_validation (the same run as `echoa validate`).
#include <cmath>
#include <limits>
#include <string>

#include "echo/quality.hpp"
#include "echo/validation.hpp"
#include "echo_capi_handles.hpp"
#include "echo_capi_internal.hpp"

namespace echo::capi {

ECHO_DECLARE_LAYOUT(echo_validate_options, user_data);
ECHO_DECLARE_LAYOUT(echo_validation_summary, reserved0);

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

echo_validate_options default_validate_options() noexcept {
  echo_validate_options o{};
  o.struct_size = sizeof o;
  return o;
}

double or_nan(const std::optional<double>& value) { return value ? *value : kNaN; }

void fill_refusals(const ValidationSummary& s, echo_validation_summary& c) {
  for (const auto& [code, count] : s.refusals_by_reason) {
    const auto id = quality_code_from_name(code);
    const int index = id ? static_cast<int>(*id) : -1;
    if (index >= 0 && index < ECHO_VALIDATION_REASON_SLOTS) c.refused_by_reason[index] += count;
    else c.refused_without_gate_reason += count;
  }
}

void fill_ef(const ValidationSummary& s, echo_validation_summary& c) {
  c.ef_mae = c.ef_rmse = c.ef_bias = c.ef_sd = c.ef_loa_low = c.ef_loa_high = c.ef_pearson_r = kNaN;
  if (s.ef) {
    c.ef_pairs = s.ef->n;
    c.ef_mae = s.ef->mae;
    c.ef_rmse = s.ef->rmse;
    c.ef_bias = s.ef->bias;
    c.ef_sd = or_nan(s.ef->sd);
    c.ef_loa_low = or_nan(s.ef->loa_low);
    c.ef_loa_high = or_nan(s.ef->loa_high);
    c.ef_pearson_r = or_nan(s.ef->pearson_r);
  }
  c.sensitivity_below_40 = or_nan(s.below_40.sensitivity);
  c.specificity_below_40 = or_nan(s.below_40.specificity);
  c.sensitivity_below_50 = or_nan(s.below_50.sensitivity);
  c.specificity_below_50 = or_nan(s.below_50.specificity);
}

void fill_offsets(const ValidationSummary& s, echo_validation_summary& c) {
  c.ed_offset_clips = s.ed_offsets.clips;
  c.ed_median_abs_offset_frames = or_nan(s.ed_offsets.median_abs_frames);
  c.ed_share_within_3 = or_nan(s.ed_offsets.share_within_3);
  c.ed_share_within_1 = or_nan(s.ed_offsets.share_within_1);
  c.es_offset_clips = s.es_offsets.clips;
  c.es_median_abs_offset_frames = or_nan(s.es_offsets.median_abs_frames);
  c.es_share_within_3 = or_nan(s.es_offsets.share_within_3);
  c.es_share_within_1 = or_nan(s.es_offsets.share_within_1);
}

echo_validation_summary to_c_summary(const ValidationSummary& s) {
  echo_validation_summary c{};
  c.struct_size = sizeof c;
  c.rows = s.rows;
  c.skipped_not_present = s.skipped_not_present;
  c.missing = s.missing;
  c.duplicates = s.duplicates;
  c.unreadable = s.unreadable;
  c.analysed = s.analysed;
  c.answered = s.answered;
  c.refused = s.refused;
  c.bad_reference = s.bad_reference;
  c.answered_share = or_nan(s.answered_share);
  fill_refusals(s, c);
  fill_ef(s, c);
  fill_offsets(s, c);
  c.vlm_ran = s.vlm_ran;
  c.vlm_answered = s.vlm_answered;
  c.vlm_answered_share = or_nan(s.vlm_answered_share);
  c.vlm_ef_mae = s.vlm_ef ? s.vlm_ef->mae : kNaN;
  c.vlm_ef_bias = s.vlm_ef ? s.vlm_ef->bias : kNaN;
  c.vlm_ef_pairs = s.vlm_ef ? s.vlm_ef->n : 0;
  return c;
}

}  // namespace
}  // namespace echo::capi

using namespace echo::capi;

extern "C" {

ECHO_API echo_status echo_validate_options_init(echo_validate_options* options, size_t struct_size) {
  return init_struct("echo_validate_options_init", options, struct_size, default_validate_options());
}

ECHO_API echo_status echo_validate(const echo_model* model, const char* folder, const char* table_csv,
                                   const char* out_dir, const echo_validate_options* options,
                                   echo_validation_summary* out_summary) {
  const char* function = "echo_validate";
  return guarded(function, [&]() -> echo_status {
    if (model == nullptr) return null_argument(function, "model");
    if (folder == nullptr) return null_argument(function, "folder");
    if (table_csv == nullptr) return null_argument(function, "table_csv");
    if (out_dir == nullptr) return null_argument(function, "out_dir");
    if (auto s = check_output(function, "out_summary", out_summary); s != ECHO_OK) return s;
    echo_validate_options c_options{};
    if (auto s = read_input(function, "options", options, default_validate_options(), c_options); s != ECHO_OK) {
      return s;
    }
    echo::ValidationOptions run_options;
    run_options.folder = folder;
    run_options.table_path = table_csv;
    run_options.out_dir = out_dir;
    run_options.only_present = c_options.only_present != 0;
    if (c_options.progress != nullptr) {
      run_options.progress = [&c_options](const echo::ValidationProgress& p) {
        return c_options.progress(p.done, p.total, p.file_name.c_str(), c_options.user_data) == 0;
      };
    }
    const auto& analyzer = *model->analyzer;
    auto run = echo::run_validation(run_options, [&](const std::string& path) { return analyzer.analyze_file(path); });
    if (!run) return fail(to_status(run.error().code), std::string(function) + ": " + run.error().message);
    write_output(out_summary, to_c_summary(run->summary));
    return ECHO_OK;
  });
}

}  // extern "C"
