// Helpers of the inference tests: the shipped model files, scratch copies with a changed manifest, and
// test frames that look like an apical view (a bright fan with a dark ellipse for the cavity).
#pragma once
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "echo/inference.hpp"
#include "test_support.hpp"

namespace echo_test {

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline std::filesystem::path manifest_of(const std::filesystem::path& model) {
  return std::filesystem::path(model).replace_extension(".json");
}

// Copies the model and its manifest into the test's scratch dir as <name>.pt / <name>.json.
inline std::filesystem::path copy_model(const std::string& source_model, const std::string& name) {
  const auto dir = scratch_dir();
  const auto target = dir / (name + ".pt");
  std::filesystem::copy_file(source_model, target, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(manifest_of(source_model), manifest_of(target),
                             std::filesystem::copy_options::overwrite_existing);
  return target;
}

// Rewrites one manifest field (and, when rehash, the SHA-256 so that it matches the .pt as it is now).
inline void edit_manifest(const std::filesystem::path& model, const std::string& key, const nlohmann::json& value) {
  auto doc = nlohmann::json::parse(read_text(manifest_of(model)));
  doc[key] = value;
  write_text(manifest_of(model), doc.dump(2));
}

inline void rehash_manifest(const std::filesystem::path& model) {
  edit_manifest(model, "weights_sha256", *echo::sha256_file_hex(model.string()));
}

// frame_count frames of size x size, normalised with mean 0 / std 1: a fan of speckle-free tissue grey with a
// dark ellipse (the "cavity") whose size changes with the frame index.
inline std::vector<float> apical_like_frames(int frame_count, int size) {
  std::vector<float> frames(static_cast<std::size_t>(frame_count) * size * size, 0.0f);
  for (int f = 0; f < frame_count; ++f) {
    const double scale = 1.0 - 0.25 * std::sin(f * 0.7);
    for (int y = 0; y < size; ++y) {
      for (int x = 0; x < size; ++x) {
        const double dx = x - size / 2.0, dy = y + 0.0;
        const double radius = std::hypot(dx, dy), angle = std::atan2(dx, dy);
        float v = 0.0f;
        if (radius < size * 0.98 && std::abs(angle) < 0.75) {
          const double ex = (x - size * 0.42) / (size * 0.14 * scale), ey = (y - size * 0.45) / (size * 0.28 * scale);
          v = (ex * ex + ey * ey < 1.0) ? 0.06f : 0.45f + 0.1f * static_cast<float>(std::sin(x * 0.9 + y * 1.3));
        }
        frames[(static_cast<std::size_t>(f) * size + y) * size + x] = v;
      }
    }
  }
  return frames;
}

// threads x calls_per_thread concurrent segment() calls on one model, on `count` apical-like frames: none may
// fail and every output must equal the single-thread one, bit for bit.
inline void expect_many_threads_give_the_single_thread_result(const echo::SegmentationModel& model, int count,
                                                              int threads, int calls_per_thread) {
  const auto frames = apical_like_frames(count, model.input_size());
  const auto reference = model.segment(frames.data(), count);
  ASSERT_TRUE(reference) << reference.error().message;
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int call = 0; call < calls_per_thread; ++call) {
        auto out = model.segment(frames.data(), count);
        if (!out) {
          ++failures;
        } else if (out->lv_masks != reference->lv_masks || out->view_probabilities != reference->view_probabilities) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace echo_test
