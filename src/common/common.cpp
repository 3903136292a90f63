#include <algorithm>

#include "echo/cine.hpp"
#include "echo/error.hpp"
#include "echo/version.hpp"
#include "echo_build_version.hpp"

namespace echo {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok: return "ok";
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::io_failed: return "io_failed";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::malformed: return "malformed";
    case ErrorCode::too_large: return "too_large";
    case ErrorCode::model_invalid: return "model_invalid";
    case ErrorCode::out_of_memory: return "out_of_memory";
    case ErrorCode::internal: return "internal";
    case ErrorCode::buffer_too_small: return "buffer_too_small";
    case ErrorCode::cancelled: return "cancelled";
    case ErrorCode::no_result: return "no_result";
  }
  return "unknown";
}

const char* sdk_version() noexcept { return ECHO_SDK_VERSION_STRING; }
int abi_version() noexcept { return ECHO_SDK_ABI_VERSION; }

Image8 Cine::frame_image(int i) const {
  Image8 img(cols, rows);
  std::copy(frame(i), frame(i) + frame_bytes(), img.pixels.begin());
  return img;
}

double Cine::mean_frame_interval_ms() const {
  if (frame_times_ms.size() < 2) return 0.0;
  return (frame_times_ms.back() - frame_times_ms.front()) / static_cast<double>(frame_times_ms.size() - 1);
}

double Cine::fps() const {
  const double interval = mean_frame_interval_ms();
  return interval > 0.0 ? 1000.0 / interval : 0.0;
}

double Cine::duration_ms() const {
  if (frame_times_ms.empty()) return 0.0;
  return frame_times_ms.back() - frame_times_ms.front() + mean_frame_interval_ms();
}

}  // namespace echo
