// The streaming Session: same EF as the whole-cine call, bounded memory, clear errors.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "analyzer_fixture.hpp"

namespace {

echo::FrameView view_of(const echo::Cine& cine, int frame) {
  echo::FrameView view;
  view.data = cine.frame(frame);
  view.width = cine.cols;
  view.height = cine.rows;
  view.format = echo::PixelFormat::gray8;
  return view;
}

// Resident set size of this process in kB (Linux).
long resident_kb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = 0;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> value;
      return value;
    }
    std::getline(status, key);
  }
  return -1;
}

}  // namespace

TEST(Session, SameEfAsWholeCine) {
  const auto phantom = echo_test::phantom(40, 75, 94000);
  const auto& analyzer = echo_test::shared_analyzer();
  auto whole = analyzer.analyze(phantom.cine);
  ASSERT_TRUE(whole && whole->ef_percent) << (whole ? whole->ef_withheld_reason : whole.error().message);

  echo::SessionOptions options;
  options.calibration = phantom.cine.calibration;
  auto session = analyzer.create_session(options);
  ASSERT_TRUE(session) << session.error().message;
  int contours = 0;
  std::vector<echo::BeatEvent> beats;
  for (int i = 0; i < phantom.cine.frame_count(); ++i) {
    auto frame = (*session)->push_frame(view_of(phantom.cine, i), phantom.cine.frame_times_ms[i]);
    ASSERT_TRUE(frame) << frame.error().message;
    contours += frame->lv_contour_px.empty() ? 0 : 1;
    for (auto& beat : (*session)->take_beats()) beats.push_back(beat);
  }
  EXPECT_GE(contours, phantom.cine.frame_count() - 8);  // all but the warm-up frames have a contour
  ASSERT_FALSE(beats.empty());
  EXPECT_NEAR(beats.back().running_ef_mean, *whole->ef_percent, 1.0);
  EXPECT_EQ(static_cast<std::size_t>(beats.size()), whole->beats.size());
}

TEST(Session, MemoryStaysFlatOverTenThousandFrames) {
  const auto phantom = echo_test::phantom(55, 90, 94100);
  auto session = echo_test::shared_analyzer().create_session({});
  ASSERT_TRUE(session);
  const double interval_ms = 20.0;
  long rss_after_warmup = 0;
  int beats = 0;
  for (int i = 0; i < 10000; ++i) {
    // Loop the phantom back and forth so that the motion stays continuous.
    const int n = phantom.cine.frame_count();
    const int period = 2 * (n - 1);
    const int k = i % period;
    const int frame = k < n ? k : period - k;
    auto result = (*session)->push_frame(view_of(phantom.cine, frame), i * interval_ms);
    ASSERT_TRUE(result) << "frame " << i << ": " << result.error().message;
    beats += static_cast<int>((*session)->take_beats().size());
    if (i == 1000) rss_after_warmup = resident_kb();
  }
  const long growth_kb = resident_kb() - rss_after_warmup;
  std::printf("RSS growth from frame 1000 to 10000: %ld kB, %d beats\n", growth_kb, beats);
  EXPECT_LT(growth_kb, 8 * 1024);
  EXPECT_GT(beats, 50);
}

TEST(Session, RejectsBadFrames) {
  auto session = echo_test::shared_analyzer().create_session({});
  ASSERT_TRUE(session);
  echo::FrameView null_view;
  null_view.width = 64;
  null_view.height = 64;
  auto result = (*session)->push_frame(null_view, 0.0);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, echo::ErrorCode::invalid_argument);

  std::vector<std::uint8_t> pixels(64 * 64, 10);
  echo::FrameView good;
  good.data = pixels.data();
  good.width = 64;
  good.height = 64;
  ASSERT_TRUE((*session)->push_frame(good, 0.0));
  auto same_time = (*session)->push_frame(good, 0.0);
  ASSERT_FALSE(same_time);
  EXPECT_EQ(same_time.error().code, echo::ErrorCode::invalid_argument);
  echo::FrameView other_size = good;
  other_size.width = 32;
  auto resized = (*session)->push_frame(other_size, 20.0);
  ASSERT_FALSE(resized);
  EXPECT_EQ(resized.error().code, echo::ErrorCode::invalid_argument);
}
