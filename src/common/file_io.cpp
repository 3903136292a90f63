// All-or-nothing file writes (echo/file_io.hpp): temporary name in the same folder, then rename.
#include "echo/file_io.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

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

}  // namespace

Expected<void> write_file_atomically(const std::string& path, const void* data, std::size_t size) {
  if (path.empty()) return make_error(ErrorCode::invalid_argument, "writing a file: empty path");
  if (data == nullptr && size > 0) return make_error(ErrorCode::invalid_argument, "writing '" + path + "': no data");
  const std::filesystem::path target(path);
  const std::string temporary = temporary_name(target);
  auto failed = [&](const char* step, int error) {
    ::unlink(temporary.c_str());
    return make_error(ErrorCode::io_failed, "writing '" + path + "': " + step + " failed (" + os_reason(error) +
                                                "); nothing was written");
  };
  HoldFileSizeSignal hold;
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int error = errno;
    return make_error(ErrorCode::io_failed, "writing '" + path + "': cannot create a file in its folder (" +
                                                os_reason(error) + "); nothing was written");
  }
  if (const int error = write_all(fd, static_cast<const unsigned char*>(data), size); error != 0) {
    ::close(fd);
    return failed("write", error);
  }
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    const int error = errno;
    ::close(fd);
    return failed("flush", error);
  }
  if (::close(fd) != 0) return failed("close", errno);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return failed("rename", errno);
  return {};
}

Expected<void> write_file_atomically(const std::string& path, const std::string& bytes) {
  return write_file_atomically(path, bytes.data(), bytes.size());
}

}  // namespace echo
