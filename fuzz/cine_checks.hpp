// cine_checks.hpp: what every Cine a reader returns must satisfy (a broken one is a silent wrong number).
#pragma once
#include <cmath>

#include "echo/cine.hpp"
#include "fuzz_input.hpp"

namespace echo_fuzz {

inline void check_cine(const echo::Cine& cine) {
  ECHO_FUZZ_CHECK(cine.rows > 0 && cine.cols > 0);
  ECHO_FUZZ_CHECK(cine.frame_count() > 0);
  ECHO_FUZZ_CHECK(cine.gray.size() == cine.frame_bytes() * static_cast<std::size_t>(cine.frame_count()));
  ECHO_FUZZ_CHECK(cine.frame_times_ms.size() == static_cast<std::size_t>(cine.frame_count()));
  for (std::size_t i = 0; i < cine.frame_times_ms.size(); ++i) {
    ECHO_FUZZ_CHECK(std::isfinite(cine.frame_times_ms[i]));
    if (i > 0) ECHO_FUZZ_CHECK(cine.frame_times_ms[i] >= cine.frame_times_ms[i - 1]);
  }
  for (const echo::ColorFrame& colour : cine.color) {
    ECHO_FUZZ_CHECK(colour.frame_index >= 0 && colour.frame_index < cine.frame_count());
    ECHO_FUZZ_CHECK(colour.rgb.width == cine.cols && colour.rgb.height == cine.rows);
    ECHO_FUZZ_CHECK(colour.rgb.pixels.size() == cine.frame_bytes() * 3);
  }
  const echo::Calibration& c = cine.calibration;
  ECHO_FUZZ_CHECK(std::isfinite(c.mm_per_px_x) && std::isfinite(c.mm_per_px_y));
  ECHO_FUZZ_CHECK(c.mm_per_px_x >= 0 && c.mm_per_px_y >= 0);
  ECHO_FUZZ_CHECK(!c.trusted || c.known());
  ECHO_FUZZ_CHECK(std::isfinite(cine.metadata.heart_rate_bpm) && cine.metadata.heart_rate_bpm >= 0);
  for (double t : cine.metadata.r_wave_times_ms) ECHO_FUZZ_CHECK(std::isfinite(t));
  (void)cine.fps();
  (void)cine.duration_ms();
}

}  // namespace echo_fuzz
