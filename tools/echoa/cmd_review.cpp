// echoa review: a clinician's corrections -> final result + audit (apply), and reviewed studies -> a
// site fine-tuning dataset (export). The review page itself is written by `echoa analyze --html DIR`.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.hpp"
#include "echo/review.hpp"

namespace echoa {
namespace {

constexpr const char* kUsage =
    "usage: echoa review apply RESULT CORRECTIONS [--out DIR]\n"
    "       echoa review export REVIEW_DIR... --to SITE_DATASET [--split NAME]\n"
    "\n"
    "apply   recomputes volumes and EF from the clinician's ED/ES frames and contours (RESULT: the result.json\n"
    "        that `echoa analyze --html` wrote; CORRECTIONS: the file the review page exported). Writes\n"
    "        final.json and audit.json into DIR (default: RESULT's folder); nothing when a check fails.\n"
    "export  adds the accepted and corrected studies to SITE_DATASET (EchoNet-Dynamic layout: Videos/,\n"
    "        FileList.csv, VolumeTracings.csv, Sectors/), which models/finetune_lv.py reads as echonet:DIR.\n"
    "        REVIEW_DIR is a study's review folder or a folder of them. Sources are only read.\n"
    "exit: 0 done; 2 input error (the message names the file and field); 64 bad command line\n";

int usage(const char* message) {
  std::fprintf(stderr, "echoa review: %s\n\n%s", message, kUsage);
  return kExitUsage;
}

int run_apply(int argc, char** argv) {
  std::vector<std::string> positional;
  std::string out_dir;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--out") == 0 && i + 1 < argc) out_dir = argv[++i];
    else if (argv[i][0] == '-') return usage("unknown or incomplete option for apply");
    else positional.emplace_back(argv[i]);
  }
  if (positional.size() != 2) return usage("apply needs RESULT and CORRECTIONS");
  if (out_dir.empty()) out_dir = std::filesystem::path(positional[0]).parent_path().string();
  if (out_dir.empty()) out_dir = ".";
  auto outcome = echo::apply_review_files(positional[0], positional[1], out_dir);
  if (!outcome) {
    std::fprintf(stderr, "echoa review apply: %s (nothing written)\n", outcome.error().message.c_str());
    return kExitError;
  }
  std::printf("%s: %s; final.json and audit.json written\n", out_dir.c_str(), outcome->decision.c_str());
  return kExitOk;
}

int run_export(int argc, char** argv) {
  std::vector<std::string> inputs;
  std::string to;
  echo::SiteExportOptions options;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--to") == 0 && i + 1 < argc) to = argv[++i];
    else if (std::strcmp(argv[i], "--split") == 0 && i + 1 < argc) options.split = argv[++i];
    else if (argv[i][0] == '-') return usage("unknown or incomplete option for export");
    else inputs.emplace_back(argv[i]);
  }
  if (inputs.empty() || to.empty()) return usage("export needs REVIEW_DIR... and --to SITE_DATASET");
  auto summary = echo::export_site_dataset(inputs, to, options);
  if (!summary) {
    std::fprintf(stderr, "echoa review export: %s\n", summary.error().message.c_str());
    return kExitError;
  }
  std::printf("%s: %d exported, %d already there, %zu rejected, %zu not reviewed\n", to.c_str(), summary->exported,
              summary->already_present, summary->rejected.size(), summary->not_reviewed.size());
  for (const std::string& r : summary->rejected) std::printf("  not exported, %s\n", r.c_str());
  for (const std::string& r : summary->not_reviewed) std::printf("  not exported, %s\n", r.c_str());
  return kExitOk;
}

int run_review(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::printf("%s", kUsage);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  if (std::strcmp(argv[1], "apply") == 0) return run_apply(argc, argv);
  if (std::strcmp(argv[1], "export") == 0) return run_export(argc, argv);
  return usage("unknown review action (apply or export)");
}

}  // namespace
ECHOA_COMMAND("review", "apply a clinician's corrections (final result + audit); export reviewed studies for fine-tuning", run_review);
}  // namespace echoa
