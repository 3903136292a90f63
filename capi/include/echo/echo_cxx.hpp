// echo/echo_cxx.hpp: a header-only C++17 wrapper over the C ABI (echo/echo.h), for C++ programs that
// link libechoanalyzer.so. Handles become move-only RAII objects and statuses become exceptions thrown in
// the caller's own code (no exception ever crosses the library boundary). Everything here is inline and
// calls only echo_* functions, so it adds nothing to the library's ABI.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "echo/echo.h"

namespace echo::abi {

// A failed call: the status and the library's message (echo_last_error at the time of the failure).
class Error : public std::runtime_error {
 public:
  Error(echo_status status, const std::string& message)
      : std::runtime_error(std::string(echo_status_str(status)) + ": " + message), status_(status) {}
  echo_status status() const noexcept { return status_; }

 private:
  echo_status status_;
};

inline void check(echo_status status) {
  if (status != ECHO_OK) throw Error(status, echo_last_error());
}

// An options / result struct with struct_size set (and the defaults, for those that have an _init).
template <class T>
T sized() {
  T value{};
  value.struct_size = static_cast<std::uint32_t>(sizeof(T));
  return value;
}

struct QualityReason {
  int code_id = 0;
  std::string code, message_en, message_zh;
  int severity = 0;
  double value = 0.0, threshold = 0.0;
};

class Result {
 public:
  explicit Result(echo_result* handle) noexcept : handle_(handle) {}
  Result(Result&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Result& operator=(Result&& other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result() { echo_result_destroy(handle_); }
  const echo_result* get() const noexcept { return handle_; }

  bool quality_pass() const {
    std::int32_t pass = 0;
    check(echo_result_quality_pass(handle_, &pass));
    return pass != 0;
  }
  // Empty when the EF is withheld (ECHO_NO_RESULT); other failures throw.
  std::optional<double> ef_percent() const { return optional_number(echo_result_ef_percent); }
  std::optional<double> edv_ml() const { return optional_number(echo_result_edv_ml); }
  std::optional<double> esv_ml() const { return optional_number(echo_result_esv_ml); }
  std::string view() const {
    const char* view = nullptr;
    check(echo_result_view(handle_, &view));
    return view;
  }
  std::vector<QualityReason> reasons() const {
    std::size_t count = 0;
    check(echo_result_reason_count(handle_, &count));
    std::vector<QualityReason> reasons;
    for (std::size_t i = 0; i < count; ++i) {
      auto r = sized<echo_quality_reason>();
      check(echo_result_reason(handle_, i, &r));
      reasons.push_back({r.code_id, r.code, r.message_en, r.message_zh, r.severity, r.value, r.threshold});
    }
    return reasons;
  }
  std::vector<double> curve(echo_curve which) const {
    std::size_t count = 0;
    check(echo_result_curve(handle_, which, nullptr, 0, &count));
    std::vector<double> values(count);
    check(echo_result_curve(handle_, which, values.data(), values.size(), &count));
    return values;
  }
  std::string json(int indent = 2) const {
    std::size_t length = 0;
    check(echo_result_json(handle_, indent, nullptr, 0, &length));
    std::string text(length + 1, '\0');
    check(echo_result_json(handle_, indent, text.data(), text.size(), &length));
    text.resize(length);
    return text;
  }
  std::string text(echo_language language = ECHO_LANGUAGE_EN) const {
    std::size_t length = 0;
    check(echo_result_text(handle_, language, nullptr, 0, &length));
    std::string text(length + 1, '\0');
    check(echo_result_text(handle_, language, text.data(), text.size(), &length));
    text.resize(length);
    return text;
  }

 private:
  std::optional<double> optional_number(echo_status (*accessor)(const echo_result*, double*)) const {
    double value = 0.0;
    const echo_status status = accessor(handle_, &value);
    if (status == ECHO_NO_RESULT) return std::nullopt;
    check(status);
    return value;
  }
  echo_result* handle_;
};

// A completed heartbeat of a Session.
struct BeatEvent {
  int beat_index = 0;
  double running_ef_mean = 0.0;
  long long closing_frame_index = 0;
  int ed_frame = 0, es_frame = 0;
  double ef_percent = 0.0;
  bool excluded = false;
};

// A live stream (one thread at a time). Beat events are polled after each push.
class Session {
 public:
  Session(const echo_model* model, const echo_session_options& options) {
    check(echo_session_create(model, &options, &handle_));
  }
  Session(Session&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Session& operator=(Session&& other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { echo_session_destroy(handle_); }

  // A borrowed 8-bit grey frame of width x height pixels (row_stride_bytes 0 = packed).
  echo_frame_result push_gray8(const std::uint8_t* pixels, int width, int height, double time_ms,
                               std::size_t row_stride_bytes = 0) {
    auto frame = sized<echo_frame>();
    check(echo_frame_init(&frame, sizeof frame));
    frame.format = ECHO_PIXEL_GRAY8;
    frame.width = width;
    frame.height = height;
    frame.row_stride_bytes = row_stride_bytes;
    frame.data = pixels;
    auto out = sized<echo_frame_result>();
    check(echo_session_push_frame(handle_, &frame, time_ms, &out));
    return out;
  }
  // The beat events completed so far and not yet taken, oldest first.
  std::vector<BeatEvent> take_beats() {
    std::vector<BeatEvent> events;
    for (;;) {
      auto event = sized<echo_beat_event>();
      auto beat = sized<echo_beat>();
      const echo_status status = echo_session_poll_beat(handle_, &event, &beat);
      if (status == ECHO_NO_RESULT) return events;
      check(status);
      events.push_back({event.beat_index, event.running_ef_mean, static_cast<long long>(event.closing_frame_index),
                        beat.ed_frame, beat.es_frame, beat.ef_percent, beat.excluded != 0});
    }
  }

 private:
  echo_session* handle_ = nullptr;
};

class Model {
 public:
  // model_path empty: the installed reference model.
  explicit Model(const std::string& model_path = "", echo_precision precision = ECHO_PRECISION_AUTO,
                 int threads = 0) {
    auto options = sized<echo_model_options>();
    check(echo_model_options_init(&options, sizeof options));
    options.model_path = model_path.empty() ? nullptr : model_path.c_str();
    options.precision = precision;
    options.threads = threads;
    check(echo_model_load(&options, &handle_));
  }
  explicit Model(const echo_model_options& options) { check(echo_model_load(&options, &handle_)); }
  Model(Model&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Model& operator=(Model&& other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model() { echo_model_destroy(handle_); }
  const echo_model* get() const noexcept { return handle_; }

  Result analyze_file(const std::string& path) const {
    echo_result* result = nullptr;
    check(echo_analyze_file(handle_, path.c_str(), &result));
    return Result(result);
  }
  Result analyze_buffer(const void* data, std::size_t size) const {
    echo_result* result = nullptr;
    check(echo_analyze_buffer(handle_, data, size, &result));
    return Result(result);
  }
  Session session(const echo_session_options& options) const { return Session(handle_, options); }
  Result analyze_frames(const echo_frames& frames) const {
    echo_result* result = nullptr;
    check(echo_analyze_frames(handle_, &frames, &result));
    return Result(result);
  }

 private:
  echo_model* handle_ = nullptr;
};

}  // namespace echo::abi
