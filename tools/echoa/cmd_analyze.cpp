// echoa analyze: the whole analysis of one or more files (or folders), as text or JSON lines.
#ifdef ECHO_HAVE_ANALYZER
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze_jobs.hpp"
#include "commands.hpp"
#include "echo/analyzer.hpp"
#include "echo/dicom_report.hpp"
#include "echo/report.hpp"
#include "echo/review.hpp"

namespace echoa {
namespace {

struct AnalyzeArgs {
  bool json = false;
  bool vlm = false;
  int jobs = 1;  // studies at once (--jobs)
  std::string overlay_dir;
  std::string dicom_dir;
  std::string html_dir;  // review pages (docs/review.md)
  std::string a2c_path;
  echo::AnalyzerOptions options;
  echo::ReportLanguage language = echo::ReportLanguage::en;
  std::vector<std::string> inputs;
};

void print_help() {
  std::printf(
      "usage: echoa analyze [options] FILE|FOLDER...\n\n"
      "Analyses each echo cine (DICOM, AVI/MP4) and prints the LVEF report.\n\n"
      "  --json                 one JSON report per line (schema: docs/report_schema.md)\n"
      "  --overlay DIR          write ED/ES contour overlays and the volume curve (PNG) into DIR/<name>/\n"
      "  --html DIR             write a review page per study: DIR/<name>/review.html and result.json\n"
      "  --dicom-out DIR        write a DICOM SR (TID 5200) and the overlays as Secondary Capture into\n"
      "                         DIR/<name>/ (new series of the source's study; docs/pacs.md)\n"
      "  --a2c FILE             apical 2-chamber cine of the same study: biplane method of discs\n"
      "  --device auto|cpu|cuda\n"
      "  --precision int8|fp32|fp16\n"
      "  --threads N            inference threads (0 = all cores)\n"
      "  --jobs N               analyse N studies at once on one shared model (default 1); unless --threads\n"
      "                         is given, each gets cores/N inference threads. Reports keep the input order;\n"
      "                         a progress bar is drawn on stderr when it is a terminal\n"
      "  --model PATH           segmentation model (.pt with its .json manifest); default: the bundled one\n"
      "  --vlm                  also ask the vision-language model, cross-checked against the measured EF\n"
      "  --lang en|zh           language of the text report (default en)\n"
      "  --sex male|female      sex-specific EF ranges (ASE/EACVI 2015)\n\n"
      "Exit status: 0 every input analysed, 1 at least one refused by the quality gate, 2 at least one error,\n"
      "64 bad command line.\n");
}

bool parse_choice(const char* value, std::initializer_list<const char*> choices) {
  return std::any_of(choices.begin(), choices.end(), [&](const char* c) { return std::strcmp(value, c) == 0; });
}

// Returns kExitOk when parsed, kExitUsage on a bad command line, -1 for --help.
int parse_args(int argc, char** argv, AnalyzeArgs& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--help" || arg == "-h") return -1;
    if (arg == "--json") {
      args.json = true;
    } else if (arg == "--vlm") {
      args.vlm = true;
    } else if (arg == "--overlay" && (v = value())) {
      args.overlay_dir = v;
    } else if (arg == "--html" && (v = value())) {
      args.html_dir = v;
      args.options.keep_frame_contours = true;
    } else if (arg == "--dicom-out" && (v = value())) {
      args.dicom_dir = v;
    } else if (arg == "--a2c" && (v = value())) {
      args.a2c_path = v;
    } else if (arg == "--model" && (v = value())) {
      args.options.model_path = v;
    } else if (arg == "--jobs" && (v = value()) && std::atoi(v) >= 1) {
      args.jobs = std::atoi(v);
    } else if (arg == "--threads" && (v = value())) {
      args.options.engine.threads = std::atoi(v);
    } else if (arg == "--device" && (v = value()) && parse_choice(v, {"auto", "cpu", "cuda"})) {
      args.options.engine.device = std::strcmp(v, "cpu") == 0    ? echo::Device::cpu
                                   : std::strcmp(v, "cuda") == 0 ? echo::Device::cuda
                                                                 : echo::Device::auto_select;
    } else if (arg == "--precision" && (v = value()) && parse_choice(v, {"int8", "fp32", "fp16"})) {
      args.options.engine.precision = std::strcmp(v, "int8") == 0   ? echo::Precision::int8
                                      : std::strcmp(v, "fp32") == 0 ? echo::Precision::fp32
                                                                    : echo::Precision::fp16;
    } else if (arg == "--lang" && (v = value()) && parse_choice(v, {"en", "zh"})) {
      args.language = std::strcmp(v, "zh") == 0 ? echo::ReportLanguage::zh : echo::ReportLanguage::en;
    } else if (arg == "--sex" && (v = value()) && parse_choice(v, {"male", "female"})) {
      args.options.sex = std::strcmp(v, "male") == 0 ? echo::Sex::male : echo::Sex::female;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "echoa analyze: unknown option or missing/invalid value: %s\n", arg.c_str());
      return kExitUsage;
    } else {
      args.inputs.push_back(arg);
    }
  }
  if (args.inputs.empty()) {
    std::fprintf(stderr, "echoa analyze: no input file\n");
    return kExitUsage;
  }
  args.options.enable_vlm = args.vlm;
  if (args.jobs > 1 && args.options.engine.threads == 0) {  // LibTorch's thread count is process-wide
    args.options.engine.threads = threads_per_job(args.jobs);
    args.options.read.decode_threads = args.options.engine.threads;
  }
  if (args.language == echo::ReportLanguage::en) args.options.vlm.language = echo::AnswerLanguage::en;
  return kExitOk;
}

// Folders are expanded to the files they hold (sorted, hidden files and ground-truth side files skipped).
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(input, ec)) {
      files.push_back(input);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(input, ec)) {
      const std::string name = entry.path().filename().string();
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || name.empty() || name[0] == '.') continue;
      if (ext == ".json" || ext == ".npy" || ext == ".csv" || ext == ".png" || ext == ".txt" || ext == ".tsv" ||
          ext == ".md") {
        continue;
      }
      found.push_back(entry.path().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

void print_error(const AnalyzeArgs& args, const std::string& file, const echo::Error& error) {
  if (args.json) {
    const nlohmann::json line = {{"file", file},
                                 {"error", {{"code", echo::error_code_name(error.code)}, {"message", error.message}}}};
    std::fprintf(study_out(), "%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fprintf(study_err(), "%s: error (%s): %s\n", file.c_str(), echo::error_code_name(error.code), error.message.c_str());
  }
}

void print_result(const AnalyzeArgs& args, const std::string& file, const echo::AnalysisResult& result) {
  if (args.json) {
    std::string json = echo::report_json(result, -1);
    json.insert(1, "\"file\":" + nlohmann::json(file).dump() + ",");
    std::fprintf(study_out(), "%s\n", json.c_str());
    return;
  }
  std::fprintf(study_out(), "%s\n  %s\n", file.c_str(), echo::report_text(result, args.language).c_str());
  std::fprintf(study_out(), "  view %s (%.0f%%), quality %s (score %.2f), %zu beat(s), heart rate %.0f bpm, %.0f ms\n",
              result.view.c_str(), 100.0 * result.view_confidence, result.quality.pass ? "pass" : "fail",
              result.quality.score, result.beats.size(), result.heart_rate_bpm, result.timings.total_ms);
  if (!result.volumes_unavailable_reason.empty()) std::fprintf(study_out(), "  volumes: %s\n", result.volumes_unavailable_reason.c_str());
  if (result.vlm) {
    std::fprintf(study_out(), "  VLM: %s", result.vlm->text.c_str());
    if (result.vlm_check && result.vlm_check->disagrees) {
      std::fprintf(study_out(), "  [disagrees with the measured EF by %+.0f points]", result.vlm_check->difference_points);
    }
    std::fprintf(study_out(), "\n");
  }
}

// The file's bytes when it is a DICOM Part 10 file ("DICM" at byte 128), empty otherwise.
std::vector<char> dicom_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 132 || std::string(bytes.data() + 128, 4) != "DICM") bytes.clear();
  return bytes;
}

// --dicom-out: the SR and the overlays into DIR/<name>/, the patient and study attributes taken from the files.
echo::Expected<void> write_dicom_out(const AnalyzeArgs& args, const std::string& file, const echo::Cine& cine,
                                     const echo::AnalysisResult& result) {
  const std::vector<char> source = dicom_bytes(file);
  const std::vector<char> second = args.a2c_path.empty() ? std::vector<char>{} : dicom_bytes(args.a2c_path);
  echo::DicomReportInput input;
  input.result = &result;
  input.source = {source.empty() ? nullptr : source.data(), source.size(), file};
  input.second_source = {second.empty() ? nullptr : second.data(), second.size(), args.a2c_path};
  if (result.ed.frame >= 0 && result.ed.frame < cine.frame_count()) input.ed_frame = cine.frame_image(result.ed.frame);
  if (result.es.frame >= 0 && result.es.frame < cine.frame_count()) input.es_frame = cine.frame_image(result.es.frame);
  auto report = echo::make_dicom_report(input);
  if (!report) return tl::unexpected(report.error());
  const auto dir = std::filesystem::path(args.dicom_dir) / std::filesystem::path(file).stem();
  auto written = echo::write_dicom_report(*report, dir.string());
  if (!written) return tl::unexpected(written.error());
  return {};
}

// Reads the file (and the A2C cine for biplane), analyses, reports; returns this input's exit status.
int analyze_one(const echo::EchoAnalyzer& analyzer, const AnalyzeArgs& args, const std::string& file) {
  // Without outputs that draw the frames, the analyzer streams them from the file (less memory).
  if (args.overlay_dir.empty() && args.html_dir.empty() && args.dicom_dir.empty() && args.a2c_path.empty()) {
    auto result = analyzer.analyze_file(file);
    if (!result) {
      print_error(args, file, result.error());
      return kExitError;
    }
    print_result(args, file, *result);
    return result->ef_percent ? kExitOk : kExitRefused;
  }
  const auto read_start = std::chrono::steady_clock::now();
  auto cine = echo::read_file(file, args.options.read);
  const double decode_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - read_start).count();
  if (!cine) {
    print_error(args, file, cine.error());
    return kExitError;
  }
  echo::Expected<echo::AnalysisResult> result;
  if (args.a2c_path.empty()) {
    result = analyzer.analyze(*cine);
  } else {
    auto a2c = echo::read_file(args.a2c_path, args.options.read);
    if (!a2c) {
      print_error(args, args.a2c_path, a2c.error());
      return kExitError;
    }
    result = analyzer.analyze_biplane(*cine, *a2c);
  }
  if (!result) {
    print_error(args, file, result.error());
    return kExitError;
  }
  result->timings.decode_ms = decode_ms;
  result->timings.total_ms += decode_ms;
  print_result(args, file, *result);
  if (!args.overlay_dir.empty()) {
    const auto dir = std::filesystem::path(args.overlay_dir) / std::filesystem::path(file).stem();
    if (auto written = echo::write_overlays(*cine, *result, dir.string()); !written) {
      print_error(args, file, written.error());
      return kExitError;
    }
  }
  if (!args.html_dir.empty()) {
    const auto dir = std::filesystem::path(args.html_dir) / std::filesystem::path(file).stem();
    if (auto written = echo::write_review_page(*cine, *result, file, dir.string()); !written) {
      print_error(args, file, written.error());
      return kExitError;
    }
  }
  if (!args.dicom_dir.empty()) {
    if (auto written = write_dicom_out(args, file, *cine, *result); !written) {
      print_error(args, file, written.error());
      return kExitError;
    }
  }
  return result->ef_percent ? kExitOk : kExitRefused;
}

int run_analyze(int argc, char** argv) {
  AnalyzeArgs args;
  const int parsed = parse_args(argc, argv, args);
  if (parsed < 0) {
    print_help();
    return kExitOk;
  }
  if (parsed != kExitOk) return parsed;
  auto analyzer = echo::EchoAnalyzer::create(args.options);
  if (!analyzer) {
    std::fprintf(stderr, "echoa analyze: cannot start: %s\n", analyzer.error().message.c_str());
    return kExitError;
  }
  const std::vector<std::string> files = expand_inputs(args.inputs);
  JobsOptions jobs;
  jobs.jobs = args.jobs;
  jobs.threads_per_job = args.options.engine.threads > 0 ? args.options.engine.threads : threads_per_job(1);
  jobs.summary = files.size() > 1;
  return run_studies(files, jobs, [&](std::size_t i) { return analyze_one(**analyzer, args, files[i]); });
}

}  // namespace
ECHOA_COMMAND("analyze", "LVEF analysis of echo cines (quality gate, ED/ES, volumes, EF, report)", run_analyze);
}  // namespace echoa
#endif  // ECHO_HAVE_ANALYZER
