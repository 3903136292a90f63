// echo/review.hpp: the clinician in the loop (docs/review.md).
//   1. the review page: one self-contained HTML file per study (no network) beside a review result
//      (the report JSON plus every frame's contour, the pixel size and the study's pixel hash);
//   2. apply_review: a clinician's corrections file -> the final result and an audit record, volumes and
//      EF recomputed with the SDK's own geometry (measure_lv_contour), never by the page;
//   3. export_site_dataset: accepted and corrected studies -> an EchoNet-Dynamic-style dataset
//      (Videos/, FileList.csv, VolumeTracings.csv) that models/finetune_lv.py reads.
#pragma once
#include <string>
#include <vector>

#include "echo/cine.hpp"
#include "echo/error.hpp"
#include "echo/result.hpp"

namespace echo {

// SHA-256 over the loop's size and 8-bit pixels: names the study in corrections and audits without
// any patient identifier, and tells whether a source file still holds the reviewed loop.
std::string study_pixel_sha256(const Cine& cine);

// The review result (JSON text): report_json(result) plus a "review" object (schema echoanalyzer.review/1).
// The result must have been made with AnalyzerOptions::keep_frame_contours. source_file is stored so that
// export_site_dataset can read the loop again; it is not needed by the page or by apply_review.
Expected<std::string> review_result_json(const Cine& cine, const AnalysisResult& result, const std::string& source_file);

// The page (HTML text) for a review result made from this cine.
Expected<std::string> review_page_html(const Cine& cine, const std::string& review_result_json);

// Writes directory/result.json and directory/review.html (directory created when missing).
Expected<void> write_review_page(const Cine& cine, const AnalysisResult& result, const std::string& source_file,
                                 const std::string& directory);

struct ReviewOutcome {
  std::string final_json;  // the result with the clinician's decision applied (clinician_review object)
  std::string audit_json;  // original, each change, final values, when, reviewer role; no identifiers
  std::string decision;    // "accept", "correct" or "reject"
};

// Checks the corrections against the review result (study hash, frames inside the loop, simple
// non-degenerate contours, required fields) and recomputes. Errors name the field. Deterministic: the
// same inputs give byte-identical outputs (the audit's time is the review time from the corrections).
Expected<ReviewOutcome> apply_review(const std::string& review_result_json, const std::string& corrections_json);

// apply_review on files; writes out_dir/final.json and out_dir/audit.json only when everything checked.
Expected<ReviewOutcome> apply_review_files(const std::string& result_path, const std::string& corrections_path,
                                           const std::string& out_dir);

struct SiteExportOptions {
  std::string split = "TRAIN";  // FileList.csv Split column of the exported studies
  int tracing_chords = 40;      // chords per traced frame in VolumeTracings.csv (EchoNet traced 20)
};

struct SiteExportSummary {
  int exported = 0;
  int already_present = 0;
  std::vector<std::string> rejected;      // "<study>: <reason>" (never exported: the reviewer rejected them)
  std::vector<std::string> not_reviewed;  // review folders without final.json
};

// Reads each review folder (or each review folder inside a given folder), and adds the accepted and
// corrected studies to out_dir. Sources are only read; a source whose pixels no longer match the
// reviewed loop is an error. Appends to an existing dataset (a study already there is skipped).
Expected<SiteExportSummary> export_site_dataset(const std::vector<std::string>& review_dirs, const std::string& out_dir,
                                                const SiteExportOptions& options = {});

}  // namespace echo
