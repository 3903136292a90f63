// echo/sha256.hpp: SHA-256 of bytes and files, used to check model weights against their manifests.
#pragma once
#include <cstddef>
#include <string>

#include "echo/error.hpp"

namespace echo {

// Lowercase hex SHA-256 of a byte buffer / of a whole file (not_found / io_failed on a bad path).
std::string sha256_hex(const void* data, std::size_t size);
Expected<std::string> sha256_file_hex(const std::string& path);

}  // namespace echo
