// Damaged files (docs/reliability.md): every file of the folders named, truncated at N evenly spaced offsets
// and with M random single-byte flips (fixed seed), through a fuzz target's harness (built with ASan +
// UBSan: a crash, a sanitizer report or a failed invariant aborts; a hang is caught by the caller's timeout).
//   fuzz_<target>_damage [--truncations N] [--flips M] [--save-each FILE] FOLDER|FILE...   (defaults 100 and 1000)
// --save-each writes every input to FILE before running it: after an abort, FILE holds the input that caused it.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
std::string save_each_path;

void run_one(const std::uint8_t* data, std::size_t size) {
  if (!save_each_path.empty()) {
    std::ofstream(save_each_path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                            static_cast<std::streamsize>(size));
  }
  LLVMFuzzerTestOneInput(data, size);
}
}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::size_t truncations = 100, flips = 1000;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--truncations" && i + 1 < argc) truncations = std::strtoul(argv[++i], nullptr, 10);
    else if (arg == "--flips" && i + 1 < argc) flips = std::strtoul(argv[++i], nullptr, 10);
    else if (arg == "--save-each" && i + 1 < argc) save_each_path = argv[++i];
    else if (fs::is_directory(arg)) {
      for (const auto& entry : fs::directory_iterator(arg))
        if (entry.is_regular_file() && entry.path().extension() == ".dcm") files.push_back(entry.path());
    } else if (fs::is_regular_file(arg)) files.push_back(arg);
  }
  std::sort(files.begin(), files.end());
  std::size_t runs = 0;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.empty()) continue;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t k = 1; k <= truncations; ++k) {  // offsets size*k/(N+1): never 0, never the whole file
      const std::size_t cut = bytes.size() * k / (truncations + 1);
      run_one(bytes.data(), cut);
      ++runs;
    }
    std::mt19937_64 rng(0x5eed ^ bytes.size());
    std::vector<std::uint8_t> damaged = bytes;
    for (std::size_t k = 0; k < flips; ++k) {
      const std::size_t at = rng() % bytes.size();
      damaged[at] = static_cast<std::uint8_t>(bytes[at] ^ (1u + rng() % 255u));  // a different byte
      run_one(damaged.data(), damaged.size());
      damaged[at] = bytes[at];
      ++runs;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%-48s %8zu bytes: %zu truncations + %zu flips, %.1f s\n", file.filename().c_str(), bytes.size(),
                truncations, flips, s);
    std::fflush(stdout);
  }
  std::printf("damaged inputs: %zu runs over %zu files, no crash, no sanitizer report\n", runs, files.size());
  return files.empty() ? 3 : 0;
}
