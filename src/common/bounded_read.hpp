// Reading a model file or manifest whose path comes from a caller or from another manifest: only a regular file
// (never a device, a FIFO or a folder, which could be read forever) and only up to a size limit.
#pragma once
#include <cstdint>
#include <string>

#include "echo/error.hpp"

namespace echo {

// The whole of `path`. Errors carry a bare reason for the caller to prefix with what the file is:
// not_found "the file does not exist" (or is not a regular file), too_large "larger than 1 GiB" (the limit),
// io_failed "read failed".
Expected<std::string> read_bounded_file(const std::string& path, std::uintmax_t max_bytes);

}  // namespace echo
