// The parts of the C ABI that need no model: versions, status names, the thread-local last error, and
// the option structs' defaults.
#include <cmath>
#include <cstring>
#include <string>

#include "echo/io.hpp"
#include "echo/version.hpp"
#include "echo_capi_internal.hpp"

namespace {

// Every echo_status is the echo::ErrorCode of the same name: the numbers are shared and never change.
static_assert(ECHO_OK == static_cast<int>(echo::ErrorCode::ok));
static_assert(ECHO_INVALID_ARGUMENT == static_cast<int>(echo::ErrorCode::invalid_argument));
static_assert(ECHO_NOT_FOUND == static_cast<int>(echo::ErrorCode::not_found));
static_assert(ECHO_IO_FAILED == static_cast<int>(echo::ErrorCode::io_failed));
static_assert(ECHO_UNSUPPORTED == static_cast<int>(echo::ErrorCode::unsupported));
static_assert(ECHO_MALFORMED == static_cast<int>(echo::ErrorCode::malformed));
static_assert(ECHO_TOO_LARGE == static_cast<int>(echo::ErrorCode::too_large));
static_assert(ECHO_MODEL_INVALID == static_cast<int>(echo::ErrorCode::model_invalid));
static_assert(ECHO_OUT_OF_MEMORY == static_cast<int>(echo::ErrorCode::out_of_memory));
static_assert(ECHO_INTERNAL == static_cast<int>(echo::ErrorCode::internal));
static_assert(ECHO_BUFFER_TOO_SMALL == static_cast<int>(echo::ErrorCode::buffer_too_small));
static_assert(ECHO_CANCELLED == static_cast<int>(echo::ErrorCode::cancelled));
static_assert(ECHO_NO_RESULT == static_cast<int>(echo::ErrorCode::no_result));

// The last error lives in a fixed thread-local buffer, so that setting it never allocates and reading it
// needs no lifetime rules beyond "until the next failure on this thread".
constexpr std::size_t kLastErrorCapacity = 1024;
thread_local char t_last_error[kLastErrorCapacity] = {0};

void set_last_error(const char* text, std::size_t length) noexcept {
  const std::size_t n = length < kLastErrorCapacity - 1 ? length : kLastErrorCapacity - 1;
  std::memcpy(t_last_error, text, n);
  t_last_error[n] = '\0';
}

}  // namespace

namespace echo::capi {

echo_status fail(echo_status status, const std::string& message) noexcept {
  set_last_error(message.data(), message.size());
  return status;
}

echo_status fail(const Error& error) noexcept { return fail(to_status(error.code), error.message); }

echo_status null_argument(const char* function, const char* argument) noexcept {
  try {
    return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": " + argument + " is NULL");
  } catch (...) {
    return ECHO_INVALID_ARGUMENT;
  }
}

echo_status copy_text(const char* function, const std::string& text, char* out, std::size_t capacity,
                      std::size_t* out_length) noexcept {
  if (out_length == nullptr) return null_argument(function, "out_length");
  if (out == nullptr) {
    *out_length = text.size();
    return ECHO_OK;
  }
  if (capacity < text.size() + 1) {
    *out_length = text.size();
    try {
      return fail(ECHO_BUFFER_TOO_SMALL, std::string(function) + ": the buffer holds " + std::to_string(capacity) +
                                             " bytes, " + std::to_string(text.size() + 1) +
                                             " are needed (text and its NUL)");
    } catch (...) {
      return ECHO_BUFFER_TOO_SMALL;
    }
  }
  std::memcpy(out, text.c_str(), text.size() + 1);
  *out_length = text.size();
  return ECHO_OK;
}

echo_model_options default_model_options() noexcept {
  echo_model_options o{};
  o.struct_size = sizeof o;
  o.device = ECHO_DEVICE_AUTO;
  o.precision = ECHO_PRECISION_AUTO;
  o.threads = 0;
  o.batch_size = 0;
  o.sex = ECHO_SEX_UNKNOWN;
  o.model_path = nullptr;
  o.enable_vlm = 0;
  o.vlm_language = ECHO_LANGUAGE_ZH;
  o.vlm_model_path = nullptr;
  o.vlm_tolerance_points = 10.0;
  o.lead_with_vlm = 0;
  o.decode_threads = 0;
  o.max_total_pixels = echo::ReadOptions{}.max_total_pixels;  // the reader's own default
  return o;
}

echo_read_options default_read_options() noexcept {
  echo_read_options o{};
  o.struct_size = sizeof o;
  o.decode_threads = 0;
  o.max_total_pixels = echo::ReadOptions{}.max_total_pixels;  // the reader's own defaults
  o.max_color_frames = echo::ReadOptions{}.max_color_frames;
  return o;
}

echo_frame default_frame() noexcept {
  echo_frame f{};
  f.struct_size = sizeof f;
  f.format = ECHO_PIXEL_GRAY8;
  return f;
}

echo_frames default_frames() noexcept {
  echo_frames f{};
  f.struct_size = sizeof f;
  f.format = ECHO_PIXEL_GRAY8;
  f.gray16_bits_stored = 16;
  f.fps = 0.0;
  return f;
}

echo_session_options default_session_options() noexcept {
  echo_session_options o{};
  o.struct_size = sizeof o;
  o.window_frames = 0;
  o.gray16_bits_stored = 16;
  o.max_queued_beats = 64;
  return o;
}

echo_render_options default_render_options() noexcept {
  echo_render_options o{};
  o.struct_size = sizeof o;
  o.kind = ECHO_IMAGE_VOLUME_CURVE;
  o.width = 0;
  o.height = 0;
  return o;
}

}  // namespace echo::capi

using namespace echo::capi;

extern "C" {

ECHO_API const char* echo_version(void) { return echo::sdk_version(); }

ECHO_API int32_t echo_abi_version(void) { return static_cast<int32_t>(echo::abi_version()); }

ECHO_API const char* echo_status_str(echo_status status) {
  if (status > 0) return "unknown";
  return echo::error_code_name(static_cast<echo::ErrorCode>(status));
}

ECHO_API const char* echo_last_error(void) { return t_last_error; }

ECHO_API echo_status echo_model_options_init(echo_model_options* options, size_t struct_size) {
  return init_struct("echo_model_options_init", options, struct_size, default_model_options());
}

ECHO_API echo_status echo_read_options_init(echo_read_options* options, size_t struct_size) {
  return init_struct("echo_read_options_init", options, struct_size, default_read_options());
}

ECHO_API echo_status echo_frame_init(echo_frame* frame, size_t struct_size) {
  return init_struct("echo_frame_init", frame, struct_size, default_frame());
}

ECHO_API echo_status echo_frames_init(echo_frames* frames, size_t struct_size) {
  return init_struct("echo_frames_init", frames, struct_size, default_frames());
}

ECHO_API echo_status echo_session_options_init(echo_session_options* options, size_t struct_size) {
  return init_struct("echo_session_options_init", options, struct_size, default_session_options());
}

ECHO_API echo_status echo_render_options_init(echo_render_options* options, size_t struct_size) {
  return init_struct("echo_render_options_init", options, struct_size, default_render_options());
}

}  // extern "C"
