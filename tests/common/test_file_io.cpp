// echo/file_io.hpp: all-or-nothing output files under a file-size limit, a missing folder and a failing encoder.
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "echo/file_io.hpp"

namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(ECHO_TEST_TMP_DIR) / ("file_io_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void put(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Every file name in `dir`: a failed write must leave only what was there before.
std::string listing(const fs::path& dir) {
  std::string names;
  for (const auto& entry : fs::directory_iterator(dir)) names += entry.path().filename().string() + ";";
  return names;
}

// RLIMIT_FSIZE lowered for the lifetime of the guard, as `ulimit -f` does for a whole process.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit lower = previous_;
    lower.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &lower);
  }
  ~FileSizeLimit() { setrlimit(RLIMIT_FSIZE, &previous_); }

 private:
  rlimit previous_{};
};

}  // namespace

TEST(FileIo, WritesAndReplacesWithoutLeftovers) {
  const fs::path dir = fresh_dir("replace");
  ASSERT_TRUE(echo::write_file_atomically((dir / "a.txt").string(), std::string("first")));
  ASSERT_TRUE(echo::write_file_atomically((dir / "a.txt").string(), std::string("second")));
  EXPECT_EQ(read(dir / "a.txt"), "second");
  EXPECT_EQ(listing(dir), "a.txt;");
}

TEST(FileIo, FileSizeLimitFailsCleanlyAndKeepsThePreviousFile) {
  const fs::path dir = fresh_dir("limit");
  put(dir / "big.bin", "previous");
  const std::string big(64 * 1024, 'x');
  echo::Expected<void> written;
  {
    FileSizeLimit limit(4096);  // without SIGXFSZ held back, this process would be killed here
    written = echo::write_file_atomically((dir / "big.bin").string(), big);
  }
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, echo::ErrorCode::io_failed);
  EXPECT_NE(written.error().message.find((dir / "big.bin").string()), std::string::npos) << written.error().message;
  EXPECT_NE(written.error().message.find("File too large"), std::string::npos) << written.error().message;
  EXPECT_EQ(read(dir / "big.bin"), "previous");
  EXPECT_EQ(listing(dir), "big.bin;");
}

TEST(FileIo, SetIsAllOrNothing) {
  const fs::path dir = fresh_dir("set");
  put(dir / "report.txt", "old report");
  const std::string report = "new report", image(64 * 1024, 'p');
  echo::Expected<void> written;
  {
    FileSizeLimit limit(4096);  // the report fits, the image does not
    written = echo::write_files_atomically({{(dir / "report.txt").string(), report.data(), report.size()},
                                            {(dir / "image.png").string(), image.data(), image.size()}});
  }
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("image.png"), std::string::npos) << written.error().message;
  EXPECT_EQ(read(dir / "report.txt"), "old report");  // not replaced: the set failed
  EXPECT_EQ(listing(dir), "report.txt;");
  ASSERT_TRUE(echo::write_files_atomically({{(dir / "report.txt").string(), report.data(), report.size()},
                                           {(dir / "image.png").string(), image.data(), image.size()}}));
  EXPECT_EQ(read(dir / "report.txt"), report);
  EXPECT_EQ(read(dir / "image.png"), image);
}

TEST(FileIo, MissingFolderNamesFileAndReason) {
  const fs::path path = fresh_dir("missing") / "absent" / "a.txt";
  const auto written = echo::write_file_atomically(path.string(), std::string("x"));
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find(path.string()), std::string::npos);
  EXPECT_NE(written.error().message.find("No such file or directory"), std::string::npos) << written.error().message;
}

TEST(FileIo, ViaAnEncoderThatNeedsAPath) {
  const fs::path dir = fresh_dir("via");
  put(dir / "clip.avi", "previous");
  std::string seen;
  const auto failed = echo::write_file_atomically_via((dir / "clip.avi").string(), [&](const std::string& temporary) {
    seen = temporary;
    put(temporary, "half a vid");
    return echo::Expected<void>(echo::make_error(echo::ErrorCode::io_failed, "encoder: disk full"));
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "encoder: disk full");
  EXPECT_EQ(fs::path(seen).parent_path(), dir);
  EXPECT_EQ(fs::path(seen).extension(), ".avi");  // encoders choose the container from the extension
  EXPECT_EQ(read(dir / "clip.avi"), "previous");
  EXPECT_EQ(listing(dir), "clip.avi;");
  ASSERT_TRUE(echo::write_file_atomically_via((dir / "clip.avi").string(), [&](const std::string& temporary) {
    put(temporary, "a whole video");
    return echo::Expected<void>();
  }));
  EXPECT_EQ(read(dir / "clip.avi"), "a whole video");
  EXPECT_EQ(listing(dir), "clip.avi;");
}

TEST(FileIo, GrowingFileKeepsWholeRows) {
  const fs::path dir = fresh_dir("growing");
  echo::GrowingFile table((dir / "rows.csv").string(), std::chrono::hours(1));
  ASSERT_TRUE(table.append("a,b\n"));  // the first append writes: a folder that cannot take it fails early
  ASSERT_TRUE(table.append("1,2\n"));  // within the interval: kept in memory
  EXPECT_EQ(read(dir / "rows.csv"), "a,b\n");
  ASSERT_TRUE(table.flush());
  EXPECT_EQ(read(dir / "rows.csv"), "a,b\n1,2\n");
  echo::GrowingFile every((dir / "every.csv").string(), std::chrono::milliseconds(0));
  ASSERT_TRUE(every.append("x\n"));
  ASSERT_TRUE(every.append("y\n"));
  EXPECT_EQ(read(dir / "every.csv"), "x\ny\n");
  EXPECT_EQ(listing(dir).size(), std::string("rows.csv;every.csv;").size());
}
