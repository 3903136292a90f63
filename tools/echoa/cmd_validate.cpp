// echoa validate: site acceptance on the site's own labelled loops (docs/validation.md).
#ifdef ECHO_HAVE_ANALYZER
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "commands.hpp"
#include "echo/analyzer.hpp"
#include "echo/validation.hpp"

namespace echoa {
namespace {

constexpr int kMaxMissingShown = 10;  // a long table for a small folder must not flood the terminal

struct ValidateArgs {
  echo::ValidationOptions validation;
  echo::AnalyzerOptions analyzer;
  bool quiet = false;
};

void print_help() {
  std::printf(
      "usage: echoa validate --table FILE.csv [options] FOLDER\n\n"
      "Site acceptance: analyses every loop the reference table lists (found in FOLDER by name, with or\n"
      "without extension, in subfolders too) with the normal pipeline and compares with the reference.\n"
      "Prints the answered share, refusals by reason, EF MAE, RMSE, bias with 95%% limits of agreement,\n"
      "Pearson r, sensitivity/specificity for EF < 40 and < 50, and ED/ES frame offsets.\n"
      "Writes DIR/per_clip.csv, DIR/summary.json, DIR/bland_altman.png and DIR/scatter.png.\n\n"
      "  --table FILE.csv       reference: FileName and EF columns; optional EDV, ESV, EDFrame/ESFrame\n"
      "                         (or EDV-Frame/ESV-Frame, ED_Frame/ES_Frame); other columns ignored\n"
      "  --out DIR              output folder (default ./validate_out); never inside FOLDER\n"
      "  --only-present         skip rows whose file is not in FOLDER (default: each is a 'missing' row)\n"
      "  --vlm                  also run the vision-language model: VLM answered share and EF MAE\n"
      "  --device auto|cpu|cuda\n"
      "  --precision int8|fp32|fp16\n"
      "  --threads N            inference threads (0 = all cores)\n"
      "  --model PATH           segmentation model (.pt with its .json manifest); default: the bundled one\n"
      "  --quiet                no per-row problem messages on stderr (they stay in per_clip.csv)\n\n"
      "Exit status: 0 every row analysed (refusals are results), 2 at least one row missing, unreadable,\n"
      "duplicate or with a reference that is not a number (the run still finishes), or the model did not load;\n"
      "64 bad command line, or a table/folder that cannot be used (nothing is analysed).\n");
}

bool is_one_of(const char* value, std::initializer_list<const char*> choices) {
  return std::any_of(choices.begin(), choices.end(), [&](const char* c) { return std::strcmp(value, c) == 0; });
}

// Returns kExitOk when parsed, kExitUsage on a bad command line, -1 for --help.
int parse_args(int argc, char** argv, ValidateArgs& args) {
  std::vector<std::string> folders;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--help" || arg == "-h") return -1;
    if (arg == "--table" && (v = value())) {
      args.validation.table_path = v;
    } else if (arg == "--out" && (v = value())) {
      args.validation.out_dir = v;
    } else if (arg == "--only-present") {
      args.validation.only_present = true;
    } else if (arg == "--vlm") {
      args.analyzer.enable_vlm = true;
      args.analyzer.vlm.language = echo::AnswerLanguage::en;
    } else if (arg == "--quiet") {
      args.quiet = true;
    } else if (arg == "--model" && (v = value())) {
      args.analyzer.model_path = v;
    } else if (arg == "--threads" && (v = value())) {
      args.analyzer.engine.threads = std::atoi(v);
    } else if (arg == "--device" && (v = value()) && is_one_of(v, {"auto", "cpu", "cuda"})) {
      args.analyzer.engine.device = std::strcmp(v, "cpu") == 0    ? echo::Device::cpu
                                    : std::strcmp(v, "cuda") == 0 ? echo::Device::cuda
                                                                  : echo::Device::auto_select;
    } else if (arg == "--precision" && (v = value()) && is_one_of(v, {"int8", "fp32", "fp16"})) {
      args.analyzer.engine.precision = std::strcmp(v, "int8") == 0   ? echo::Precision::int8
                                       : std::strcmp(v, "fp32") == 0 ? echo::Precision::fp32
                                                                     : echo::Precision::fp16;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "echoa validate: unknown option or missing/invalid value: %s\n", arg.c_str());
      return kExitUsage;
    } else {
      folders.push_back(arg);
    }
  }
  if (folders.size() != 1 || args.validation.table_path.empty()) {
    std::fprintf(stderr, "echoa validate: give one FOLDER and --table FILE.csv (see --help)\n");
    return kExitUsage;
  }
  args.validation.folder = folders[0];
  return kExitOk;
}

// "done/total, rate, ETA" on one terminal line; nothing when stderr is not a terminal.
class ProgressLine {
 public:
  bool update(const echo::ValidationProgress& p) {
    if (!tty_) return true;
    const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = elapsed_s > 0 ? p.done / elapsed_s : 0.0;
    const double eta_s = rate > 0 ? (p.total - p.done) / rate : 0.0;
    std::fprintf(stderr, "\r%d/%d clips, %.2f clips/s, ETA %d:%02d   ", p.done, p.total, rate,
                 static_cast<int>(eta_s) / 60, static_cast<int>(eta_s) % 60);
    if (p.done == p.total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
    return true;
  }
  // A message on its own line (the progress line is redrawn by the next update).
  void message(const std::string& text) {
    std::fprintf(stderr, "%s%s\n", tty_ ? "\r\033[K" : "", text.c_str());
  }

 private:
  bool tty_ = isatty(STDERR_FILENO) != 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Pre-flight before the model loads: a wrong table, folder or output folder costs nothing.
int check_inputs(const echo::ValidationOptions& o) {
  if (auto checked = echo::check_validation_inputs(o); !checked) {
    std::fprintf(stderr, "echoa validate: %s\n", checked.error().message.c_str());
    return kExitUsage;
  }
  return kExitOk;
}

int run_validate(int argc, char** argv) {
  ValidateArgs args;
  const int parsed = parse_args(argc, argv, args);
  if (parsed < 0) {
    print_help();
    return kExitOk;
  }
  if (parsed != kExitOk) return parsed;
  if (const int checked = check_inputs(args.validation); checked != kExitOk) return checked;
  auto analyzer = echo::EchoAnalyzer::create(args.analyzer);
  if (!analyzer) {
    std::fprintf(stderr, "echoa validate: cannot start: %s\n", analyzer.error().message.c_str());
    return kExitError;
  }
  ProgressLine progress;
  int missing_shown = 0, missing_hidden = 0;
  args.validation.progress = [&](const echo::ValidationProgress& p) { return progress.update(p); };
  args.validation.notice = [&](const echo::ClipOutcome& c) {
    if (args.quiet) return;
    if (c.status == echo::ClipStatus::missing && ++missing_shown > kMaxMissingShown) {
      ++missing_hidden;
      return;
    }
    progress.message("line " + std::to_string(c.reference.line) + " (" + c.reference.file_name + "): " +
                     echo::clip_status_name(c.status) + ": " + c.message);
  };
  const echo::EchoAnalyzer& model = **analyzer;
  auto run = echo::run_validation(args.validation, [&](const std::string& path) { return model.analyze_file(path); });
  if (!run) {
    std::fprintf(stderr, "echoa validate: %s\n", run.error().message.c_str());
    return run.error().code == echo::ErrorCode::invalid_argument || run.error().code == echo::ErrorCode::malformed
               ? kExitUsage
               : kExitError;
  }
  if (missing_hidden > 0) {
    progress.message("... and " + std::to_string(missing_hidden) + " more rows without a file (all in " +
                     run->clips_csv_path + "; --only-present skips them)");
  }
  const echo::ValidationSummary& s = run->summary;
  std::printf("echoa validate: %s", echo::validation_summary_text(s).c_str());
  std::printf("written: %s, %s", run->clips_csv_path.c_str(), run->summary_json_path.c_str());
  if (!run->bland_altman_png_path.empty()) {
    std::printf(", %s, %s", run->bland_altman_png_path.c_str(), run->scatter_png_path.c_str());
  }
  std::printf("\n");
  const bool row_problems = s.missing + s.unreadable + s.duplicates + s.bad_reference > 0;
  return row_problems ? kExitError : kExitOk;
}

}  // namespace
ECHOA_COMMAND("validate", "site acceptance on labelled loops: MAE, bias, Bland-Altman, keyframe offsets", run_validate);
}  // namespace echoa
#endif  // ECHO_HAVE_ANALYZER
