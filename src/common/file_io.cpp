// All-or-nothing file writes (echo/file_io.hpp): temporary name in the same folder, then rename.
#include "echo/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

namespace echo {
namespace {

std::string os_reason(int error) { return std::strerror(error); }

// Blocks SIGXFSZ on this thread for the lifetime of the guard; a SIGXFSZ raised meanwhile by a write beyond
// RLIMIT_FSIZE (the write then fails with EFBIG) is consumed instead of terminating the process.
class HoldFileSizeSignal {
 public:
  HoldFileSizeSignal() {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGXFSZ);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGXFSZ) == 1;
    pthread_sigmask(SIG_BLOCK, &block, &previous_);
  }
  ~HoldFileSizeSignal() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGXFSZ) == 1) {
      sigset_t only;
      sigemptyset(&only);
      sigaddset(&only, SIGXFSZ);
      const timespec zero{0, 0};
      while (sigtimedwait(&only, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  HoldFileSizeSignal(const HoldFileSizeSignal&) = delete;
  HoldFileSizeSignal& operator=(const HoldFileSizeSignal&) = delete;

 private:
  sigset_t previous_{};
  bool was_pending_ = false;
};

std::string temporary_name(const std::filesystem::path& target) {
  static std::atomic<unsigned> counter{0};
  const std::string name = "." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter.fetch_add(1));
  return (target.parent_path() / name).string();
}

// Writes everything to `fd`; returns 0 or the errno of the failure.
int write_all(int fd, const unsigned char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

tl::unexpected<Error> io_error(const std::string& path, const std::string& step, int error) {
  return make_error(ErrorCode::io_failed,
                    "writing '" + path + "': " + step + " failed (" + os_reason(error) + "); nothing was written");
}

Expected<void> check_path(const std::string& path, const void* data, std::size_t size) {
  if (path.empty()) return make_error(ErrorCode::invalid_argument, "writing a file: empty path");
  if (data == nullptr && size > 0) return make_error(ErrorCode::invalid_argument, "writing '" + path + "': no data");
  return {};
}

// Opens a new temporary for writing; the error names `path` and the system's reason.
Expected<int> create_temporary(const std::string& temporary, const std::string& path) {
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd >= 0) return fd;
  const int error = errno;
  return make_error(ErrorCode::io_failed, "writing '" + path + "': cannot create a file in its folder (" +
                                              os_reason(error) + "); nothing was written");
}

// Flushes and closes `fd` (the temporary of `path`); on failure removes the temporary.
Expected<void> flush_and_close(int fd, const std::string& temporary, const std::string& path) {
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    const int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    return io_error(path, "flush", error);
  }
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return io_error(path, "close", error);
  }
  return {};
}

// Writes `path`'s bytes to a new temporary beside it, flushed and closed; returns the temporary's name. On
// failure nothing is left.
Expected<std::string> stage(const std::string& path, const void* data, std::size_t size) {
  if (auto ok = check_path(path, data, size); !ok) return tl::unexpected(ok.error());
  const std::string temporary = temporary_name(std::filesystem::path(path));
  auto created = create_temporary(temporary, path);
  if (!created) return tl::unexpected(created.error());
  const int fd = *created;
  if (const int error = write_all(fd, static_cast<const unsigned char*>(data), size); error != 0) {
    ::close(fd);
    ::unlink(temporary.c_str());
    return io_error(path, "write", error);
  }
  if (auto ok = flush_and_close(fd, temporary, path); !ok) return tl::unexpected(ok.error());
  return temporary;
}

// Encoders that write to a path (OpenCV's video writer) do not say why a write failed: asks the system by
// growing the file by 1 MiB. "" when it can grow (the failure was not the disk's).
std::string why_it_cannot_grow(const std::string& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return os_reason(errno);
  struct stat info {};
  int error = ::fstat(fd, &info) == 0 ? ::posix_fallocate(fd, info.st_size, 1 << 20) : errno;
  if (error == EOPNOTSUPP || error == EINVAL) {  // no fallocate here: write instead
    const std::vector<unsigned char> zeros(1 << 20, 0);
    error = write_all(fd, zeros.data(), zeros.size());
  }
  ::close(fd);
  return error == 0 ? "" : os_reason(error);
}

Expected<void> commit(const std::string& temporary, const std::string& path) {
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return io_error(path, "rename", error);
  }
  return {};
}

}  // namespace

Expected<void> write_file_atomically(const std::string& path, const void* data, std::size_t size) {
  HoldFileSizeSignal hold;
  auto temporary = stage(path, data, size);
  if (!temporary) return tl::unexpected(temporary.error());
  return commit(*temporary, path);
}

Expected<void> write_file_atomically(const std::string& path, const std::string& bytes) {
  return write_file_atomically(path, bytes.data(), bytes.size());
}

Expected<void> write_files_atomically(const std::vector<FileBytes>& files) {
  HoldFileSizeSignal hold;
  std::vector<std::string> temporaries;
  for (const FileBytes& file : files) {
    auto temporary = stage(file.path, file.data, file.size);
    if (!temporary) {
      for (const std::string& t : temporaries) ::unlink(t.c_str());
      return tl::unexpected(temporary.error());
    }
    temporaries.push_back(std::move(*temporary));
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (auto renamed = commit(temporaries[i], files[i].path); !renamed) {
      for (std::size_t j = i + 1; j < files.size(); ++j) ::unlink(temporaries[j].c_str());
      for (std::size_t j = 0; j < i; ++j) ::unlink(files[j].path.c_str());
      return renamed;
    }
  }
  return {};
}

Expected<void> write_file_atomically_via(const std::string& path,
                                         const std::function<Expected<void>(const std::string& temporary)>& encode) {
  if (auto ok = check_path(path, nullptr, 0); !ok) return ok;
  const std::filesystem::path target(path);
  const std::string temporary = temporary_name(target) + target.extension().string();
  HoldFileSizeSignal hold;
  // Created here first, so that a folder that cannot take it is reported with the system's reason.
  auto created = create_temporary(temporary, path);
  if (!created) return tl::unexpected(created.error());
  ::close(*created);
  Expected<void> encoded = make_error(ErrorCode::internal, "writing '" + path + "': the encoder failed");
  try {
    encoded = encode(temporary);
  } catch (const std::exception& e) {
    encoded = make_error(ErrorCode::internal, "writing '" + path + "': " + e.what());
  }
  if (!encoded) {
    const std::string reason = encoded.error().code == ErrorCode::io_failed ? why_it_cannot_grow(temporary) : "";
    ::unlink(temporary.c_str());
    if (reason.empty()) return encoded;
    return make_error(ErrorCode::io_failed, encoded.error().message + " (" + reason + "); nothing was written");
  }
  const int fd = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return io_error(path, "reading back the encoded file", error);
  }
  if (auto ok = flush_and_close(fd, temporary, path); !ok) return ok;
  return commit(temporary, path);
}

Expected<void> GrowingFile::append(const std::string& text) {
  text_ += text;
  if (written_ && std::chrono::steady_clock::now() - last_write_ < interval_) return {};
  return flush();
}

Expected<void> GrowingFile::flush() {
  if (auto written = write_file_atomically(path_, text_); !written) return written;
  written_ = true;
  last_write_ = std::chrono::steady_clock::now();
  return {};
}

}  // namespace echo
