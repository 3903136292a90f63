// SHA-256 of a file, for the manifest's weight hashes (FIPS 180-4; no OpenSSL dependency).
#pragma once
#include <string>

#include "echo/error.hpp"

namespace echo::vlm {

// Lower-case hex digest of the whole file, or io_failed / not_found naming the path.
Expected<std::string> sha256_file_hex(const std::string& path);
std::string sha256_hex(const std::string& bytes);

}  // namespace echo::vlm
