// Shared helpers of the fuzz targets.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "fuzz_input.hpp"

namespace echo_fuzz {

std::string scratch_path(const std::string& suffix) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/echo_fuzz_" + std::to_string(::getpid()) + suffix;
}

bool write_bytes(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) return false;
  const bool ok = size == 0 || std::fwrite(data, 1, size, file) == size;
  return std::fclose(file) == 0 && ok;
}

}  // namespace echo_fuzz
