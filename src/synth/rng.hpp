// Deterministic random numbers for the phantom: splitmix64, one independent stream per purpose, so that
// adding a draw to one stream (say, speckle) never changes another (the heart's anatomy).
#pragma once
#include <cmath>
#include <cstdint>

namespace echo::synth {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// FNV-1a of a stream name, mixed with the case seed.
inline std::uint64_t stream_seed(std::uint64_t seed, const char* name) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char* p = name; *p != 0; ++p) h = (h ^ static_cast<unsigned char>(*p)) * 1099511628211ULL;
  std::uint64_t state = seed ^ h;
  return splitmix64(state);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  Rng(std::uint64_t seed, const char* stream) : state_(stream_seed(seed, stream)) {}
  std::uint64_t next() { return splitmix64(state_); }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0,1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {  // Box-Muller, one value per call (the second is dropped for simplicity)
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  void normal_pair(float& a, float& b) {
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    a = static_cast<float>(r * std::cos(6.283185307179586 * u2));
    b = static_cast<float>(r * std::sin(6.283185307179586 * u2));
  }

 private:
  std::uint64_t state_;
};

}  // namespace echo::synth
