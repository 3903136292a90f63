// fuzz_input.hpp: reads typed values from the front of a fuzz input (what the C ABI / option fields get),
// leaving the rest as payload. Exhausted input reads as zeros, so every input is a valid program.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace echo_fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t byte() { return size_ > 0 ? (--size_, *data_++) : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() | (byte() << 8)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u16()) | (static_cast<std::uint32_t>(u16()) << 16); }
  std::uint64_t u64() { return static_cast<std::uint64_t>(u32()) | (static_cast<std::uint64_t>(u32()) << 32); }
  // An integer in [lo, hi] (inclusive).
  int range(int lo, int hi) { return lo + static_cast<int>(u16() % static_cast<std::uint32_t>(hi - lo + 1)); }
  bool flag() { return (byte() & 1) != 0; }
  // Any double bit pattern (NaN, inf, denormals, negatives) when `raw`, else a value chosen among typical ones.
  double real() {
    const std::uint8_t kind = byte();
    if (kind < 32) {
      double v;
      const std::uint64_t bits = u64();
      std::memcpy(&v, &bits, sizeof v);
      return v;
    }
    return static_cast<double>(static_cast<std::int16_t>(u16())) / static_cast<double>(1 + (kind & 63));
  }
  std::size_t remaining() const { return size_; }
  const std::uint8_t* rest() const { return data_; }
  std::vector<std::uint8_t> take(std::size_t n) {
    n = n < size_ ? n : size_;
    std::vector<std::uint8_t> out(data_, data_ + n);
    data_ += n, size_ -= n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

// A bug the sanitizers cannot see (an inconsistent result): abort so that the fuzzer records the input.
#define ECHO_FUZZ_CHECK(condition)                                                               \
  do {                                                                                           \
    if (!(condition)) {                                                                          \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

// A per-process scratch file path (in $TMPDIR, else /tmp) for back ends that need a path.
std::string scratch_path(const std::string& suffix);
// Writes bytes to `path` (whole file); false on failure.
bool write_bytes(const std::string& path, const std::uint8_t* data, std::size_t size);

}  // namespace echo_fuzz
