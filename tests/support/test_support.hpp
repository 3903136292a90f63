// Helpers shared by the tests.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace echo_test {

inline bool running_under_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// The real DICOM files of ../shared/data/dicom (override with ECHO_SHARED_DATA_DIR in the environment).
inline std::filesystem::path shared_data_dir() {
  const char* env = std::getenv("ECHO_SHARED_DATA_DIR");
  return std::filesystem::path(env != nullptr ? env : ECHO_SHARED_DATA_DIR);
}

inline bool shared_data_available() { return std::filesystem::exists(shared_data_dir() / "EXPECTED.tsv"); }

// A scratch folder for files a test writes, unique per test.
inline std::filesystem::path scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir = std::filesystem::path(ECHO_TEST_TMP_DIR) /
                              (std::string(info->test_suite_name()) + "." + info->name());
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace echo_test

// Use at the top of a test that reads ../shared/data/dicom: skipped (with the reason) when the folder
// is absent, a failure when CI=true.
#define ECHO_REQUIRE_SHARED_DATA()                                                                  \
  do {                                                                                              \
    if (!echo_test::shared_data_available()) {                                                      \
      if (echo_test::running_under_ci()) {                                                          \
        FAIL() << "CI=true but the real DICOM folder is missing: " << echo_test::shared_data_dir(); \
      }                                                                                             \
      GTEST_SKIP() << "needs the real DICOM files of " << echo_test::shared_data_dir()              \
                   << " (absent here)";                                                             \
    }                                                                                               \
  } while (0)
