// echo/file_io.hpp: how the SDK writes output files (overlays, reports, DICOM objects): all or nothing.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

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

// One file of a set for write_files_atomically; the bytes are not copied and must outlive the call.
struct FileBytes {
  std::string path;
  const void* data = nullptr;
  std::size_t size = 0;
};

// Writes files that belong together (a report and its images): every file goes to its temporary first, and
// only when all are written and flushed are they renamed, in order. A failure while writing removes every
// temporary and leaves every target as it was; a failing rename (rare: same folder) also removes the files of
// the set already renamed. Errors as write_file_atomically.
Expected<void> write_files_atomically(const std::vector<FileBytes>& files);

// For encoders that can only write to a path (video): `encode` is called with a temporary path in the same
// folder that ends in `path`'s extension, and must write the whole file there. Then the file is flushed and
// renamed over `path`. If `encode` fails, or the temporary is missing, or the flush or rename fails, the
// temporary is removed and `path` is left as it was. An io_failed error of `encode` gains the system's reason
// when the temporary cannot grow (full disk, file-size limit), as encoders often do not report it. SIGXFSZ is
// held back during `encode` as above, so the encoder sees EFBIG instead of the process being killed.
Expected<void> write_file_atomically_via(const std::string& path,
                                         const std::function<Expected<void>(const std::string& temporary)>& encode);

// A text file that grows row by row while a long run goes on (a per-clip table, a dataset index). Each
// rewrite is whole, through write_file_atomically, so the file on disk always ends at a complete row: a crash
// or a full disk keeps the last whole version, never a torn one. append() rewrites at most once per
// `interval` (so a long run does not rewrite a large file after every row); flush() always rewrites.
class GrowingFile {
 public:
  GrowingFile(std::string path, std::chrono::milliseconds interval) : path_(std::move(path)), interval_(interval) {}
  Expected<void> append(const std::string& text);
  Expected<void> flush();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::chrono::milliseconds interval_;
  std::string text_;
  bool written_ = false;
  std::chrono::steady_clock::time_point last_write_{};
};

}  // namespace echo
