// echo/validation.hpp: site acceptance (`echoa validate`, echo_validate, echoanalyzer.validate).
// A folder of loops and a reference table in, agreement statistics and a per-clip table out.
// Torch-free: the analysis itself is a function the caller passes (EchoAnalyzer::analyze_file in the tools),
// so that one run_validation serves echoa, the C ABI and Python, and the statistics are testable alone.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "echo/error.hpp"
#include "echo/result.hpp"

namespace echo {

// --- the reference table --------------------------------------------------------------------------------

// One data row of the reference CSV. A value that is absent or not a number is empty here, and
// `problems` says why (the row is kept: nothing in the table is dropped silently).
struct ReferenceRow {
  int line = 0;                      // 1-based line of the CSV where the row starts (the header is line 1)
  std::string file_name;             // as written in the table (EchoNet: with or without ".avi")
  std::optional<double> ef_percent;
  bool ef_invalid = false;           // the EF cell is empty or not a number in 0..100 (see problems)
  std::optional<double> edv_ml;
  std::optional<double> esv_ml;
  std::optional<int> ed_frame;       // 0-based frame indices, as EchoNet's tracings
  std::optional<int> es_frame;
  std::vector<std::string> problems;
};

struct ReferenceTable {
  std::vector<ReferenceRow> rows;
  // The header names used for each role ("" when the table has no such column).
  std::string file_column, ef_column, edv_column, esv_column, ed_frame_column, es_frame_column;
};

// Parses CSV text (comma, semicolon or tab separated; quotes; CRLF; UTF-8 BOM). Header names are matched
// without regard to case, spaces, '-' and '_': FileName|File, EF|LVEF, EDV, ESV, EDFrame|EDVFrame,
// ESFrame|ESVFrame. Other columns are ignored. Fails (malformed) without a file or an EF column.
Expected<ReferenceTable> parse_reference_table(const std::string& csv_text, const std::string& source_name);
Expected<ReferenceTable> read_reference_table(const std::string& path);

// --- matching table rows with the folder's files ---------------------------------------------------------

// The loops under a folder (recursively; hidden entries and side files such as .json/.csv/.png skipped),
// findable by file name or by name without its last extension.
class ClipFolder {
 public:
  static Expected<ClipFolder> scan(const std::string& folder);
  struct Match {
    std::string path;     // empty when not found or ambiguous
    std::string problem;  // why not
  };
  // By exact name first, then by stem (a table name without extension matches "name.avi", "name.dcm").
  Match find(const std::string& file_name) const;
  std::size_t size() const { return paths_.size(); }

 private:
  std::string root_;
  std::vector<std::string> paths_;
  std::multimap<std::string, std::size_t> by_name_, by_stem_;
};

// --- statistics -------------------------------------------------------------------------------------------

// Agreement of measured with reference values (difference = measured - reference).
struct Agreement {
  int n = 0;
  double mae = 0.0;
  double rmse = 0.0;
  double bias = 0.0;                  // mean difference
  std::optional<double> sd;           // sample SD of the differences (n >= 2)
  std::optional<double> loa_low;      // bias - 1.96 SD (Bland-Altman 95% limits of agreement)
  std::optional<double> loa_high;     // bias + 1.96 SD
  std::optional<double> pearson_r;    // n >= 2 and both sides vary
};
// Empty when there is no pair. measured and reference must have the same size.
std::optional<Agreement> agreement(const std::vector<double>& measured, const std::vector<double>& reference);

// "EF below threshold" as a test: positive when the reference is below it.
struct ThresholdAgreement {
  double threshold = 0.0;
  int true_positive = 0, false_negative = 0, true_negative = 0, false_positive = 0;
  std::optional<double> sensitivity;  // TP / (TP + FN); empty without a reference positive
  std::optional<double> specificity;  // TN / (TN + FP); empty without a reference negative
};
ThresholdAgreement threshold_agreement(const std::vector<double>& measured, const std::vector<double>& reference,
                                       double threshold);

// Signed offset (ours - reference, frames) of the keyframe of ours nearest to the reference frame
// (the earlier one on a tie); empty when we have none.
std::optional<int> nearest_offset(const std::vector<int>& our_frames, int reference_frame);

struct OffsetStats {
  int clips = 0;                      // clips with a reference frame (denominator of the shares)
  int measured = 0;                   // of which we had a keyframe (the others count as misses)
  std::optional<double> median_abs_frames;
  std::optional<double> share_within_3;  // |offset| <= 3
  std::optional<double> share_within_1;  // |offset| <= 1
};
// One entry per clip with a reference frame; an empty entry is a clip without a keyframe of ours.
OffsetStats offset_stats(const std::vector<std::optional<int>>& offsets);

// --- one clip's outcome and the run's summary -----------------------------------------------------------

enum class ClipStatus {
  answered,    // analysed, EF given
  refused,     // analysed, EF withheld (quality gate or no measurable beat)
  unreadable,  // the file is there but could not be read or analysed
  missing,     // no file in the folder for this row
  duplicate,   // the same file as an earlier row (not analysed twice)
};
const char* clip_status_name(ClipStatus status) noexcept;

struct ClipOutcome {
  ReferenceRow reference;
  std::string path;                    // the matched file ("" when missing)
  ClipStatus status = ClipStatus::missing;
  std::string message;                 // why missing / unreadable / refused, and the reference's problems
  std::optional<double> ef_percent;    // ours; empty when refused
  std::optional<double> edv_ml;
  std::optional<double> esv_ml;
  std::string ef_basis;
  std::string view;
  double view_confidence = 0.0;
  std::vector<std::string> refusal_codes;  // reject reasons of the gate; "ef_withheld" without one
  std::optional<int> ed_frame;         // ours: the first used beat (or the loop extremes)
  std::optional<int> es_frame;
  std::optional<int> ed_offset_frames; // nearest of our ED frames - reference ED frame
  std::optional<int> es_offset_frames;
  bool vlm_ran = false;
  std::string vlm_kind;                // "ef", "rejection", "unreadable"
  std::optional<double> vlm_ef_percent;
  std::vector<std::string> vlm_rejection_codes;  // the VLM's reasons when it refused
  double analysis_ms = 0.0;
  ModelInfo model;                     // the segmentation model that analysed it (empty when not analysed)
  std::string sdk_version;
};

// The outcome of an analysed clip (status answered or refused).
ClipOutcome clip_outcome(const ReferenceRow& reference, const std::string& path, const AnalysisResult& result);

struct LowEfClip {
  std::string file_name;
  double reference_ef_percent = 0.0;
  std::optional<double> ef_percent;
  std::string status;
};

struct ValidationSummary {
  int rows = 0;                        // data rows of the table
  int skipped_not_present = 0;         // rows without a file, left out (only_present)
  int missing = 0, duplicates = 0, unreadable = 0;
  int analysed = 0, answered = 0, refused = 0;
  int bad_reference = 0;               // analysed, but the reference EF is not a number: out of the EF metrics
  std::optional<double> answered_share;  // answered / (analysed + unreadable)
  std::map<std::string, int> refusals_by_reason;  // a refused clip counts under each of its reject reasons
  std::optional<Agreement> ef, edv, esv;
  ThresholdAgreement below_40, below_50;
  OffsetStats ed_offsets, es_offsets;  // over answered clips with a reference frame
  std::vector<LowEfClip> low_ef;       // reference EF < 30, whatever our outcome
  bool vlm = false;                    // the VLM ran on at least one clip
  int vlm_ran = 0, vlm_answered = 0;   // answered: the VLM gave an EF
  std::optional<double> vlm_answered_share;
  std::optional<Agreement> vlm_ef;     // the VLM's EF against the reference
  std::map<std::string, int> vlm_refusals_by_reason;  // a VLM refusal counts under each of its codes
  int vlm_unreadable = 0;              // answers that are neither an EF nor a rejection
  // What was validated: the model and SDK of the first analysed clip (one analyzer runs the whole table);
  // empty when nothing was analysed. A site records these with its acceptance figures.
  std::optional<ModelInfo> model;
  std::string sdk_version;
};

ValidationSummary summarize_validation(const std::vector<ClipOutcome>& clips, int table_rows,
                                       int skipped_not_present);

// Reports: summary.json, the per-clip CSV (header and one row), the printed summary.
std::string validation_summary_json(const ValidationSummary& summary, int indent = 2);
std::string validation_csv_header();
std::string validation_csv_row(const ClipOutcome& clip);
std::string validation_summary_text(const ValidationSummary& summary);

// --- the run ------------------------------------------------------------------------------------------------

struct ValidationProgress {
  int done = 0;
  int total = 0;                       // rows to analyse (missing and duplicate rows are not counted)
  std::string file_name;               // the row just finished
};

struct ValidationOptions {
  std::string folder;                  // the loops (read only: nothing is ever written there)
  std::string table_path;              // the reference CSV
  std::string out_dir = "validate_out";  // must not be inside folder; created when missing
  bool only_present = false;           // rows without a file are skipped (counted), not errors
  // Called after each analysed row; return false to stop (the run then fails with `cancelled`, and what was
  // done so far is already in the per-clip CSV).
  std::function<bool(const ValidationProgress&)> progress;
  // Each row problem as it is found (missing file, unreadable file, bad reference value).
  std::function<void(const ClipOutcome&)> notice;
};

struct ValidationRun {
  ValidationSummary summary;
  std::vector<ClipOutcome> clips;
  std::string clips_csv_path, summary_json_path, bland_altman_png_path, scatter_png_path;  // "" if not written
};

// What run_validation checks before it analyses anything (table, folder, output folder), for callers that
// want to fail fast before loading a model.
Expected<void> check_validation_inputs(const ValidationOptions& options);

using AnalyzeFileFn = std::function<Expected<AnalysisResult>(const std::string& path)>;

// Reads the table, matches its rows with the folder, analyses each clip with `analyze` and writes
// out_dir/per_clip.csv (row by row, as the run goes), summary.json, bland_altman.png and scatter.png (when
// there is at least one EF pair). Fails only for the run as a whole: unreadable or malformed table,
// unusable folder or output folder (inside the input folder included), cancel.
Expected<ValidationRun> run_validation(const ValidationOptions& options, const AnalyzeFileFn& analyze);

}  // namespace echo
