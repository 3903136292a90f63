// run_validation: the whole `echoa validate` run, shared by echoa, echo_validate (C) and Python.
#include <chrono>
#include <filesystem>
#include <set>

#include "echo/file_io.hpp"
#include "echo/report.hpp"
#include "echo/validation.hpp"

namespace echo {
namespace {

namespace fs = std::filesystem;

// True when `inner` is `outer` or lies below it (both made absolute and free of . and .. and links).
bool is_inside(const fs::path& inner, const fs::path& outer) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(fs::absolute(inner, ec), ec);
  const fs::path b = fs::weakly_canonical(fs::absolute(outer, ec), ec);
  auto ia = a.begin();
  for (auto ib = b.begin(); ib != b.end(); ++ib, ++ia) {
    if (ib->empty()) continue;  // a trailing separator
    if (ia == a.end() || *ia != *ib) return false;
  }
  return true;
}

Expected<void> check_out_dir(const ValidationOptions& options) {
  if (options.out_dir.empty()) return make_error(ErrorCode::invalid_argument, "no output folder given");
  if (is_inside(options.out_dir, options.folder)) {
    return make_error(ErrorCode::invalid_argument, "output folder '" + options.out_dir + "' is inside the input folder '" +
                                                       options.folder + "': choose another one (nothing is ever " +
                                                       "written into the input folder)");
  }
  return {};
}

Expected<void> prepare_out_dir(const ValidationOptions& options) {
  if (auto checked = check_out_dir(options); !checked) return checked;
  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  if (ec || !fs::is_directory(options.out_dir)) {
    return make_error(ErrorCode::io_failed, "cannot create the output folder '" + options.out_dir + "'");
  }
  return {};
}

std::string with_problems(std::string message, const ReferenceRow& row) {
  for (const std::string& problem : row.problems) message += (message.empty() ? "" : "; ") + problem;
  return message;
}

// Matches every row with a file; missing and duplicate rows get their outcome here, without analysis.
struct Plan {
  std::vector<ClipOutcome> clips;       // one per kept row, in table order
  std::vector<bool> to_analyse;
  int skipped_not_present = 0;
  int analyse_count = 0;
};

Plan plan_rows(const ReferenceTable& table, const ClipFolder& folder, bool only_present) {
  Plan plan;
  std::set<std::string> seen;
  for (const ReferenceRow& row : table.rows) {
    ClipOutcome clip;
    clip.reference = row;
    const ClipFolder::Match match = folder.find(row.file_name);
    if (match.path.empty() && only_present) {
      ++plan.skipped_not_present;
      continue;
    }
    clip.path = match.path;
    if (match.path.empty()) {
      clip.status = ClipStatus::missing;
      clip.message = match.problem;
    } else if (!seen.insert(match.path).second) {
      clip.status = ClipStatus::duplicate;
      clip.message = "the same file as an earlier row: analysed once";
    }
    clip.message = with_problems(clip.message, row);
    const bool analyse = !match.path.empty() && clip.status != ClipStatus::duplicate;
    plan.analyse_count += analyse;
    plan.to_analyse.push_back(analyse);
    plan.clips.push_back(std::move(clip));
  }
  return plan;
}

ClipOutcome analyse_row(const ClipOutcome& planned, const AnalyzeFileFn& analyze) {
  auto result = analyze(planned.path);
  if (!result) {
    ClipOutcome clip = planned;
    clip.status = ClipStatus::unreadable;
    clip.message = with_problems(std::string(error_code_name(result.error().code)) + ": " + result.error().message,
                                 planned.reference);
    return clip;
  }
  ClipOutcome clip = clip_outcome(planned.reference, planned.path, *result);
  clip.message = with_problems(clip.message, planned.reference);
  return clip;
}

Expected<void> write_plots(const std::vector<ClipOutcome>& clips, const ValidationSummary& summary,
                           const fs::path& out_dir, ValidationRun& run) {
  if (!summary.ef) return {};
  std::vector<double> ours, ref;
  for (const ClipOutcome& c : clips) {
    if (c.status == ClipStatus::answered && c.reference.ef_percent) {
      ours.push_back(*c.ef_percent);
      ref.push_back(*c.reference.ef_percent);
    }
  }
  AgreementLines lines;
  lines.bias = summary.ef->bias;
  lines.loa_low = summary.ef->loa_low;
  lines.loa_high = summary.ef->loa_high;
  lines.pearson_r = summary.ef->pearson_r;
  lines.mae = summary.ef->mae;
  auto bland_altman = render_bland_altman(ref, ours, lines, "LVEF (%)");
  if (!bland_altman) return tl::unexpected(bland_altman.error());
  run.bland_altman_png_path = (out_dir / "bland_altman.png").string();
  if (auto w = write_png(*bland_altman, run.bland_altman_png_path); !w) return w;
  auto scatter = render_agreement_scatter(ref, ours, lines, "LVEF (%)");
  if (!scatter) return tl::unexpected(scatter.error());
  run.scatter_png_path = (out_dir / "scatter.png").string();
  return write_png(*scatter, run.scatter_png_path);
}

}  // namespace

Expected<void> check_validation_inputs(const ValidationOptions& options) {
  if (auto table = read_reference_table(options.table_path); !table) return tl::unexpected(table.error());
  if (auto folder = ClipFolder::scan(options.folder); !folder) return tl::unexpected(folder.error());
  return check_out_dir(options);
}

Expected<ValidationRun> run_validation(const ValidationOptions& options, const AnalyzeFileFn& analyze) {
  auto table = read_reference_table(options.table_path);
  if (!table) return tl::unexpected(table.error());
  auto folder = ClipFolder::scan(options.folder);
  if (!folder) return tl::unexpected(folder.error());
  if (auto prepared = prepare_out_dir(options); !prepared) return tl::unexpected(prepared.error());

  ValidationRun run;
  const fs::path out_dir(options.out_dir);
  run.clips_csv_path = (out_dir / "per_clip.csv").string();
  // Rewritten whole as the run goes (every 2 s at most, and at the end): an interrupted run keeps what it did,
  // and the file on disk always ends at a complete row (echo/file_io.hpp).
  GrowingFile csv(run.clips_csv_path, std::chrono::seconds(2));
  if (auto w = csv.append(validation_csv_header()); !w) return tl::unexpected(w.error());

  Plan plan = plan_rows(*table, *folder, options.only_present);
  int done = 0;
  for (std::size_t i = 0; i < plan.clips.size(); ++i) {
    ClipOutcome& clip = plan.clips[i];
    if (plan.to_analyse[i]) clip = analyse_row(clip, analyze);
    const bool problem = clip.status == ClipStatus::missing || clip.status == ClipStatus::unreadable ||
                         clip.status == ClipStatus::duplicate || !clip.reference.problems.empty();
    if (problem && options.notice) options.notice(clip);
    if (auto w = csv.append(validation_csv_row(clip)); !w) return tl::unexpected(w.error());
    run.clips.push_back(clip);
    if (!plan.to_analyse[i]) continue;
    ++done;
    if (options.progress && !options.progress({done, plan.analyse_count, clip.reference.file_name})) {
      if (auto w = csv.flush(); !w) return tl::unexpected(w.error());
      return make_error(ErrorCode::cancelled, "validation stopped by the caller after " + std::to_string(done) + " of " +
                                                  std::to_string(plan.analyse_count) + " clips (rows so far in " +
                                                  run.clips_csv_path + ")");
    }
  }
  if (auto w = csv.flush(); !w) return tl::unexpected(w.error());
  run.summary = summarize_validation(run.clips, static_cast<int>(table->rows.size()), plan.skipped_not_present);
  if (auto plots = write_plots(run.clips, run.summary, out_dir, run); !plots) return tl::unexpected(plots.error());
  run.summary_json_path = (out_dir / "summary.json").string();
  // Last: its presence says that the run finished and every other output is complete.
  if (auto w = write_file_atomically(run.summary_json_path, validation_summary_json(run.summary) + "\n"); !w) {
    return tl::unexpected(w.error());
  }
  return run;
}

}  // namespace echo
