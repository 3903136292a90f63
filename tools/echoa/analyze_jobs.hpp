// echoa analyze --jobs N: studies analysed on N threads (one shared model), reports printed in input order,
// a progress bar on a terminal and a summary line on stderr.
#pragma once
#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace echoa {

// Where the study being analysed on this thread writes its report (study_out) and its error lines
// (study_err): stdout and stderr, or the study's own buffers while run_studies runs it.
std::FILE* study_out();
std::FILE* study_err();

struct JobsOptions {
  int jobs = 1;                  // studies analysed at once
  int threads_per_job = 0;       // inference threads (for the summary line only)
  bool progress = true;          // draw a progress bar when stderr is a terminal
  bool summary = true;           // one summary line on stderr at the end
};

// Runs analyse(i) for every file on `jobs` threads. analyse returns that study's exit status (kExitOk,
// kExitRefused, kExitError) and writes through study_out()/study_err(); each study's output is passed on
// exactly once, in input order, as soon as it and every study before it are done. Returns the worst status.
int run_studies(const std::vector<std::string>& files, const JobsOptions& options,
                const std::function<int(std::size_t)>& analyse);

// Inference threads for each of `jobs` analyses at once when the user gave none: the cores shared out.
int threads_per_job(int jobs);

}  // namespace echoa
