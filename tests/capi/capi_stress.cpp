// Thread stress of the C ABI's threading rules: many threads share one echo_model, one echo_cine and one
// echo_result; each thread runs its own analysis and its own streaming session. Every thread must get
// exactly the single-threaded answer (EF, JSON report, beat events), and nothing may race (this program
// also runs under ThreadSanitizer: ctest capi_sanitize_thread).
//
// Usage: capi_stress PHANTOM.dcm [THREADS] [ANALYSES]
// ANALYSES (default 1): each thread also runs that many analyses of the shared cine, every JSON report compared
// byte for byte (without its "timings_ms" object) with the single-threaded one (docs/reliability.md: 16 x 1000).
#include <echo/echo.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<int> g_failures{0};

void check(bool ok, const char* what, const std::string& detail = "") {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s %s\n", what, detail.c_str());
    ++g_failures;
  }
}

bool ok(echo_status status, const char* what) {
  if (status != ECHO_OK) {
    std::fprintf(stderr, "FAILED: %s: %s: %s\n", what, echo_status_str(status), echo_last_error());
    ++g_failures;
    return false;
  }
  return true;
}

struct Beat {
  int32_t index, ed, es;
  double ef, running;
  bool operator==(const Beat& o) const {
    return index == o.index && ed == o.ed && es == o.es && ef == o.ef && running == o.running;
  }
};

void collect(const echo_beat_event* event, const echo_beat* beat, void* user_data) {
  static_cast<std::vector<Beat>*>(user_data)->push_back(
      {event->beat_index, beat->ed_frame, beat->es_frame, beat->ef_percent, event->running_ef_mean});
}

std::string json_of(const echo_result* result) {
  size_t length = 0;
  if (!ok(echo_result_json(result, -1, nullptr, 0, &length), "json size")) return "";
  std::string text(length + 1, '\0');
  if (!ok(echo_result_json(result, -1, &text[0], text.size(), &length), "json")) return "";
  text.resize(length);
  return text;
}

// The report without its wall-clock stage timings (the only part that may differ between runs).
std::string without_timings(std::string json) {
  const std::size_t start = json.find("\"timings_ms\":{");
  if (start == std::string::npos) return json;
  const std::size_t end = json.find('}', start);
  if (end == std::string::npos) return json;
  return json.erase(start, end + 1 - start);
}

struct Answer {
  double ef = -1.0;
  std::string json;
  std::vector<Beat> beats;
};

// One thread's work: an analysis of the file and a session over the shared cine's frames.
Answer run_once(const echo_model* model, const echo_cine* cine, const char* path) {
  Answer answer;
  echo_result* result = nullptr;
  if (ok(echo_analyze_file(model, path, &result), "analyze_file")) {
    ok(echo_result_ef_percent(result, &answer.ef), "ef_percent");
    answer.json = without_timings(json_of(result));
    echo_result_destroy(result);
  }

  echo_cine_info info;
  std::memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  if (!ok(echo_cine_get_info(cine, &info), "cine info")) return answer;
  std::vector<double> times(static_cast<size_t>(info.frame_count));
  size_t count = 0;
  ok(echo_cine_frame_times(cine, times.data(), times.size(), &count), "frame times");

  echo_session_options options;
  echo_session_options_init(&options, sizeof options);
  options.mm_per_px_x = info.mm_per_px_x;
  options.mm_per_px_y = info.mm_per_px_y;
  options.calibration_trusted = info.calibration_trusted;
  echo_session* session = nullptr;
  if (!ok(echo_session_create(model, &options, &session), "session_create")) return answer;
  ok(echo_session_set_beat_callback(session, collect, &answer.beats), "set callback");
  std::vector<uint8_t> gray(static_cast<size_t>(info.rows) * static_cast<size_t>(info.cols));
  echo_frame frame;
  echo_frame_init(&frame, sizeof frame);
  frame.format = ECHO_PIXEL_GRAY8;
  frame.width = info.cols;
  frame.height = info.rows;
  frame.data = gray.data();
  for (int32_t f = 0; f < info.frame_count; ++f) {
    size_t size = 0;
    if (!ok(echo_cine_frame_gray8(cine, f, gray.data(), gray.size(), &size), "frame")) break;
    if (!ok(echo_session_push_frame(session, &frame, times[static_cast<size_t>(f)], nullptr), "push_frame")) break;
  }
  echo_session_destroy(session);
  return answer;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PHANTOM.dcm [THREADS] [ANALYSES]\n", argv[0]);
    return 64;
  }
  const char* path = argv[1];
  const int threads = argc > 2 ? std::atoi(argv[2]) : 8;
  const int analyses = argc > 3 ? std::atoi(argv[3]) : 1;

  echo_model_options options;
  echo_model_options_init(&options, sizeof options);
  options.threads = 1;  // concurrency comes from the callers' threads here
  echo_model* model = nullptr;
  if (!ok(echo_model_load(&options, &model), "model_load")) return 1;
  echo_cine* cine = nullptr;
  if (!ok(echo_cine_load_file(path, nullptr, &cine), "cine_load")) return 1;

  const Answer reference = run_once(model, cine, path);
  check(reference.ef > 0.0, "reference EF");
  check(!reference.beats.empty(), "reference session found no beat");
  echo_result* shared_result = nullptr;
  ok(echo_analyze_cine(model, cine, &shared_result), "shared result");

  std::vector<Answer> answers(static_cast<size_t>(threads));
  std::vector<std::string> shared_reads(static_cast<size_t>(threads));
  const std::string reference_cine_json = without_timings(json_of(shared_result));
  std::atomic<long> repeated{0}, repeated_different{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      shared_reads[static_cast<size_t>(t)] = json_of(shared_result);  // readers of one result at once
      answers[static_cast<size_t>(t)] = run_once(model, cine, path);
      for (int k = 1; k < analyses; ++k) {  // more analyses of the shared cine on the shared model
        echo_result* result = nullptr;
        if (!ok(echo_analyze_cine(model, cine, &result), "analyze_cine")) continue;
        if (without_timings(json_of(result)) != reference_cine_json) ++repeated_different;
        ++repeated;
        echo_result_destroy(result);
      }
    });
  }
  for (std::thread& thread : pool) thread.join();

  for (int t = 0; t < threads; ++t) {
    const Answer& a = answers[static_cast<size_t>(t)];
    const std::string who = "thread " + std::to_string(t);
    check(a.ef == reference.ef, "EF differs from the single-threaded one:", who);
    check(a.json == reference.json, "JSON report differs:", who);
    check(a.beats == reference.beats, "beat events differ:", who);
    check(shared_reads[static_cast<size_t>(t)] == json_of(shared_result), "shared result read differs:", who);
  }
  check(repeated_different == 0, "JSON reports of repeated analyses differ:",
        std::to_string(repeated_different.load()) + " of " + std::to_string(repeated.load()));
  if (analyses > 1) std::printf("%ld repeated analyses on %d threads: byte-identical JSON apart from timings_ms\n",
                                repeated.load() + threads, threads);
  echo_result_destroy(shared_result);
  echo_cine_destroy(cine);
  echo_model_destroy(model);
  if (g_failures != 0) {
    std::fprintf(stderr, "%d failure(s)\n", g_failures.load());
    return 1;
  }
  std::printf("%d threads, one model: EF %.3f, %zu beats per session, identical everywhere\n", threads, reference.ef,
              reference.beats.size());
  return 0;
}
