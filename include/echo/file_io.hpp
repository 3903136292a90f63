// echo/file_io.hpp: how the SDK writes output files (overlays, reports, DICOM objects): all or nothing.
#pragma once
#include <cstddef>
#include <string>

#include "echo/error.hpp"

namespace echo {

// Writes `size` bytes to `path` through a temporary file in the same folder (".<name>.tmp-<pid>-<n>"),
// flushed and closed, then renamed over `path`. On any failure (full disk, quota, `ulimit -f`, read-only or
// missing folder) the temporary file is removed, `path` is left as it was (absent, or its previous content),
// and ErrorCode::io_failed names the path and the operating system's reason. A file-size limit does not kill
// the process: SIGXFSZ is held back on the calling thread during the write and the write fails with EFBIG.
// Thread-safe (distinct paths). docs/reliability.md.
Expected<void> write_file_atomically(const std::string& path, const void* data, std::size_t size);
Expected<void> write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace echo
