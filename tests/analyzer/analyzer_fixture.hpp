// One EchoAnalyzer (bundled INT8 model) shared by the tests of a binary: loading costs ~0.1 s.
#pragma once
#include <gtest/gtest.h>

#include <memory>

#include "echo/analyzer.hpp"
#include "echo/synth.hpp"

namespace echo_test {

inline const echo::EchoAnalyzer& shared_analyzer() {
  static std::unique_ptr<echo::EchoAnalyzer> analyzer = [] {
    echo::AnalyzerOptions options;
    options.engine.threads = 1;  // ctest runs two test processes at once on the 2-core CI machine
    auto created = echo::EchoAnalyzer::create(options);
    if (!created) {
      ADD_FAILURE() << "cannot create the analyzer with the bundled model: " << created.error().message;
      std::abort();
    }
    return std::move(*created);
  }();
  return *analyzer;
}

// A clean phantom; seeds from 90000 up were never used for training (models/ trains on lower seeds).
inline echo::SynthCase phantom(double ef, double hr, std::uint64_t seed, echo::SynthView view = echo::SynthView::a4c) {
  echo::SynthParams params;
  params.view = view;
  params.ef_percent = ef;
  params.heart_rate_bpm = hr;
  params.seed = seed;
  params.width = 480;
  params.height = 360;
  params.fps = 50;
  params.beats = 3;
  auto made = echo::generate_phantom(params);
  if (!made) {
    ADD_FAILURE() << "phantom: " << made.error().message;
    std::abort();
  }
  return std::move(*made);
}

}  // namespace echo_test
