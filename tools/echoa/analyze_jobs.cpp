// Parallel studies for echoa analyze: worker threads on one shared analyzer, output kept in input order.
#include "analyze_jobs.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"

namespace echoa {
namespace {

thread_local std::FILE* t_out = nullptr;
thread_local std::FILE* t_err = nullptr;

struct Outcome {
  bool done = false;
  int status = kExitOk;
  std::string out;
  std::string err;
};

// One study's stdout and stderr lines, captured in memory while it runs (open_memstream). Without memory
// for the buffers the study writes straight through (its lines may then come out of order).
class Capture {
 public:
  Capture() {
    out_ = open_memstream(&out_data_, &out_size_);
    err_ = open_memstream(&err_data_, &err_size_);
    t_out = out_;
    t_err = err_;
  }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  ~Capture() {
    close();
    std::free(out_data_);
    std::free(err_data_);
  }

  // Stops capturing and moves what was written into the outcome.
  void finish(Outcome& outcome) {
    close();
    if (out_data_ != nullptr) outcome.out.assign(out_data_, out_size_);
    if (err_data_ != nullptr) outcome.err.assign(err_data_, err_size_);
  }

 private:
  void close() {
    t_out = nullptr;
    t_err = nullptr;
    if (out_ != nullptr) std::fclose(out_);
    if (err_ != nullptr) std::fclose(err_);
    out_ = err_ = nullptr;
  }
  std::FILE* out_ = nullptr;
  std::FILE* err_ = nullptr;
  char* out_data_ = nullptr;
  char* err_data_ = nullptr;
  std::size_t out_size_ = 0;
  std::size_t err_size_ = 0;
};

std::string clock_text(double seconds) {
  if (!(seconds >= 0) || seconds > 360000) return "--";
  const long s = static_cast<long>(seconds + 0.5);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  }
  return text;
}

// The one-line bar on stderr, only when stderr is a terminal. Not thread-safe: the caller holds the lock.
class ProgressBar {
 public:
  ProgressBar(std::size_t total, bool wanted)
      : total_(total), enabled_(wanted && total > 1 && isatty(STDERR_FILENO) == 1) {}

  void count(int status) {
    ++done_;
    refused_ += status == kExitRefused;
    errors_ += status == kExitError;
  }
  std::size_t done() const { return done_; }
  std::size_t refused() const { return refused_; }
  std::size_t errors() const { return errors_; }
  double elapsed_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  // Erases the bar so that a study's lines can be printed on a clean line.
  void clear() {
    if (!shown_) return;
    std::fputs("\r\033[K", stderr);
    shown_ = false;
  }

  void draw() {
    if (!enabled_ || total_ == 0) return;
    const double elapsed = elapsed_s();
    const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : -1.0;
    const int width = 30;
    const int filled = static_cast<int>(width * done_ / total_);
    std::fprintf(stderr, "\r[%s%s] %zu/%zu  %.2f studies/s  ETA %s  refused %zu  errors %zu\033[K",
                 std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), done_, total_, rate,
                 clock_text(eta).c_str(), refused_, errors_);
    std::fflush(stderr);
    shown_ = true;
  }

  void finish() {
    if (shown_) std::fputs("\n", stderr);
    shown_ = false;
  }

 private:
  std::size_t total_;
  bool enabled_;
  bool shown_ = false;
  std::size_t done_ = 0;
  std::size_t refused_ = 0;
  std::size_t errors_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Hands the finished studies' output on in input order.
class OrderedPrinter {
 public:
  OrderedPrinter(std::size_t total, ProgressBar& bar) : outcomes_(total), bar_(bar) {}

  void finished(std::size_t index, Outcome outcome) {
    outcomes_[index] = std::move(outcome);
    outcomes_[index].done = true;
    bar_.count(outcomes_[index].status);
    worst_ = std::max(worst_, outcomes_[index].status);
    for (; next_ < outcomes_.size() && outcomes_[next_].done; ++next_) print(outcomes_[next_]);
    bar_.draw();
  }
  int worst() const { return worst_; }

 private:
  void print(Outcome& outcome) {
    if (!outcome.out.empty() || !outcome.err.empty()) bar_.clear();
    std::fwrite(outcome.out.data(), 1, outcome.out.size(), stdout);
    std::fflush(stdout);
    std::fwrite(outcome.err.data(), 1, outcome.err.size(), stderr);
    std::fflush(stderr);
    outcome.out = std::string();
    outcome.err = std::string();
  }
  std::vector<Outcome> outcomes_;
  ProgressBar& bar_;
  std::size_t next_ = 0;
  int worst_ = kExitOk;
};

}  // namespace

std::FILE* study_out() { return t_out != nullptr ? t_out : stdout; }
std::FILE* study_err() { return t_err != nullptr ? t_err : stderr; }

int threads_per_job(int jobs) {
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, jobs));
}

int run_studies(const std::vector<std::string>& files, const JobsOptions& options,
                const std::function<int(std::size_t)>& analyse) {
  ProgressBar bar(files.size(), options.progress);
  OrderedPrinter printer(files.size(), bar);
  std::mutex lock;
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < files.size(); i = next++) {
      Outcome outcome;
      {
        Capture capture;
        outcome.status = analyse(i);
        capture.finish(outcome);
      }
      const std::lock_guard<std::mutex> guard(lock);
      printer.finished(i, std::move(outcome));
    }
  };
  const std::size_t thread_count = std::min<std::size_t>(std::max(1, options.jobs), files.size());
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < thread_count; ++t) threads.emplace_back(worker);
  worker();  // the calling thread is one of the workers
  for (std::thread& t : threads) t.join();
  bar.finish();
  if (options.summary) {
    const double elapsed = bar.elapsed_s();
    std::fprintf(stderr,
                 "echoa analyze: %zu studies in %.1f s (%.2f studies/s, %d job(s) x %d inference thread(s)): "
                 "%zu with an EF, %zu refused, %zu errors\n",
                 files.size(), elapsed, elapsed > 0 ? static_cast<double>(files.size()) / elapsed : 0.0,
                 std::max(1, options.jobs), options.threads_per_job,
                 bar.done() - bar.refused() - bar.errors(), bar.refused(), bar.errors());
  }
  return printer.worst();
}

}  // namespace echoa
