// Private machinery of the C ABI: the exception barrier, the thread-local last error, and the struct_size
// rules shared by every entry point. Nothing here is exported.
#pragma once
#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <type_traits>

#include "echo/echo.h"
#include "echo/error.hpp"

namespace echo::capi {

// Sets the calling thread's last error and returns status. Never throws (falls back to a static text).
echo_status fail(echo_status status, const std::string& message) noexcept;
echo_status fail(const Error& error) noexcept;
inline echo_status fail(echo_status status, const char* message) noexcept {
  try {
    return fail(status, std::string(message));
  } catch (...) {
    return status;
  }
}

inline echo_status to_status(ErrorCode code) noexcept { return static_cast<echo_status>(code); }

// The exception barrier every entry point goes through: body() returns an echo_status; anything it throws
// becomes a status and a last-error message naming the function.
template <class Body>
echo_status guarded(const char* function, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(ECHO_OUT_OF_MEMORY, std::string(function) + ": out of memory");
  } catch (const std::exception& e) {
    return fail(ECHO_INTERNAL, std::string(function) + ": unexpected exception: " + e.what());
  } catch (...) {
    return fail(ECHO_INTERNAL, std::string(function) + ": unexpected non-standard exception");
  }
}

// The same for functions that return no status (destroy): swallow everything.
template <class Body>
void guarded_void(Body&& body) noexcept {
  try {
    body();
  } catch (...) {
  }
}

// Size of the v1 layout of a struct: up to and including its last v1 field. Later versions only append,
// so this stays the smallest struct_size the library accepts, on any platform's layout.
#define ECHO_V1_SIZE(Type, last_field) (offsetof(Type, last_field) + sizeof(((Type*)nullptr)->last_field))

template <class T>
struct StructLayout;  // specialised in echo_capi_core.cpp's header section below: v1_size

#define ECHO_DECLARE_LAYOUT(Type, last_v1_field)                                 \
  template <>                                                                    \
  struct StructLayout<Type> {                                                    \
    static constexpr std::size_t v1_size = ECHO_V1_SIZE(Type, last_v1_field);    \
    static constexpr const char* name = #Type;                                   \
  }

ECHO_DECLARE_LAYOUT(echo_model_options, max_total_pixels);
ECHO_DECLARE_LAYOUT(echo_model_info, device);
ECHO_DECLARE_LAYOUT(echo_frame, data);
ECHO_DECLARE_LAYOUT(echo_frames, reserved0);
ECHO_DECLARE_LAYOUT(echo_read_options, reserved0);
ECHO_DECLARE_LAYOUT(echo_cine_info, view_hint);
ECHO_DECLARE_LAYOUT(echo_quality_reason, threshold);
ECHO_DECLARE_LAYOUT(echo_ef_classification, basis);
ECHO_DECLARE_LAYOUT(echo_beat, exclusion_reason);
ECHO_DECLARE_LAYOUT(echo_keyframe, invalid_reason);
ECHO_DECLARE_LAYOUT(echo_timings, total_ms);
ECHO_DECLARE_LAYOUT(echo_vlm_answer, hit_token_limit);
ECHO_DECLARE_LAYOUT(echo_render_options, height);
ECHO_DECLARE_LAYOUT(echo_image_info, size_bytes);
ECHO_DECLARE_LAYOUT(echo_session_options, reserved0);
ECHO_DECLARE_LAYOUT(echo_frame_result, contour_point_count);
ECHO_DECLARE_LAYOUT(echo_beat_event, closing_frame_index);
ECHO_DECLARE_LAYOUT(echo_dicom_options, second_source_size);
ECHO_DECLARE_LAYOUT(echo_dicom_object, size);

// A struct_size this library accepts for T: at least the v1 layout, at most what this library knows.
template <class T>
bool struct_size_ok(std::size_t struct_size) noexcept {
  return struct_size >= StructLayout<T>::v1_size && struct_size <= sizeof(T);
}

template <class T>
echo_status bad_struct_size(const char* function, const char* argument, std::size_t struct_size) noexcept {
  try {
    return fail(ECHO_INVALID_ARGUMENT,
                std::string(function) + ": " + argument + "->struct_size is " + std::to_string(struct_size) + ", but " +
                    StructLayout<T>::name + " is " + std::to_string(StructLayout<T>::v1_size) + " bytes in ABI v1 and " +
                    std::to_string(sizeof(T)) + " bytes in this library (set it with sizeof, or call the _init function)");
  } catch (...) {
    return ECHO_INVALID_ARGUMENT;
  }
}

// Reads a caller's input struct: the defaults, overlaid with the bytes the caller knows about.
template <class T>
echo_status read_input(const char* function, const char* argument, const T* in, const T& defaults, T& out) noexcept {
  static_assert(std::is_trivially_copyable_v<T>, "C structs only");
  out = defaults;
  if (in == nullptr) return ECHO_OK;  // NULL options mean the defaults
  if (!struct_size_ok<T>(in->struct_size)) return bad_struct_size<T>(function, argument, in->struct_size);
  std::memcpy(static_cast<void*>(&out), in, in->struct_size);
  out.struct_size = static_cast<std::uint32_t>(sizeof(T));
  return ECHO_OK;
}

// Checks a caller-sized output struct before any work is done.
template <class T>
echo_status check_output(const char* function, const char* argument, const T* out) noexcept {
  if (out == nullptr) return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": " + argument + " is NULL");
  if (!struct_size_ok<T>(out->struct_size)) return bad_struct_size<T>(function, argument, out->struct_size);
  return ECHO_OK;
}

// Writes a complete struct into a caller-sized one (checked with check_output): only struct_size bytes.
template <class T>
void write_output(T* out, const T& value) noexcept {
  const std::uint32_t caller_size = out->struct_size;
  std::memcpy(static_cast<void*>(out), &value, caller_size);
  out->struct_size = caller_size;
}

// Fills defaults into a caller's options struct (the *_init functions).
template <class T>
echo_status init_struct(const char* function, T* in_out, std::size_t struct_size, const T& defaults) noexcept {
  if (in_out == nullptr) return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": the struct pointer is NULL");
  if (!struct_size_ok<T>(struct_size)) return bad_struct_size<T>(function, "the struct", struct_size);
  std::memcpy(static_cast<void*>(in_out), &defaults, struct_size);
  in_out->struct_size = static_cast<std::uint32_t>(struct_size);
  return ECHO_OK;
}

echo_status null_argument(const char* function, const char* argument) noexcept;

// Copies count values into a caller buffer of capacity values (buffer may be NULL for a size query).
// Sets *out_count to count on success and on ECHO_BUFFER_TOO_SMALL.
template <class V>
echo_status copy_out(const char* function, const V* values, std::size_t count, V* out, std::size_t capacity,
                     std::size_t* out_count) noexcept {
  if (out_count == nullptr) return null_argument(function, "out_count");
  if (out == nullptr) {
    *out_count = count;
    return ECHO_OK;
  }
  if (capacity < count) {
    *out_count = count;
    try {
      return fail(ECHO_BUFFER_TOO_SMALL, std::string(function) + ": the buffer holds " + std::to_string(capacity) +
                                             " values, " + std::to_string(count) + " are needed");
    } catch (...) {
      return ECHO_BUFFER_TOO_SMALL;
    }
  }
  if (count > 0) std::memcpy(out, values, count * sizeof(V));
  *out_count = count;
  return ECHO_OK;
}

// Copies a string with its NUL into a caller buffer; *out_length is the length without the NUL.
echo_status copy_text(const char* function, const std::string& text, char* out, std::size_t capacity,
                      std::size_t* out_length) noexcept;

// Default option structs, shared by the *_init functions and the NULL-options paths.
echo_model_options default_model_options() noexcept;
echo_read_options default_read_options() noexcept;
echo_frames default_frames() noexcept;
echo_frame default_frame() noexcept;
echo_session_options default_session_options() noexcept;
echo_render_options default_render_options() noexcept;

}  // namespace echo::capi
