// `echoa measure` end to end: masks of a beating analytic LV written as .npy and as a PNG folder, the
// JSON it prints checked against the closed form.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "analytic_lv.hpp"
#include "test_support.hpp"

namespace {

constexpr double kFps = 40, kPeriodMs = 800;

// LV size over time: 1 at ED, shrinking to `es_scale` at 35% of the beat, back by the end.
double scale_at(double t_ms, double es_scale) {
  const double x = std::fmod(t_ms, kPeriodMs) / kPeriodMs;
  const double depth = x < 0.35 ? 0.5 - 0.5 * std::cos(3.14159265358979 * x / 0.35) : 0.5 + 0.5 * std::cos(3.14159265358979 * (x - 0.35) / 0.65);
  return 1 - (1 - es_scale) * depth;
}

echo_test::TruncatedEllipse shape_at(int frame, double b, double es_scale, double angle) {
  const double s = scale_at(1000.0 * frame / kFps + 250, es_scale);  // starts in systole: partial first beat
  echo_test::TruncatedEllipse shape;
  shape.a = 2 * b * s, shape.b = b * s, shape.h = b * s, shape.angle_deg = angle;
  shape.centre_x = 100.4, shape.centre_y = 95.7;
  return shape;
}

struct Output {
  int exit_code = -1;
  nlohmann::json json;
};

Output run_echoa(const std::string& arguments, const std::string& scratch) {
  const std::string out_file = scratch + "/out.json";
  const std::string command = std::string(ECHOA_BINARY) + " measure " + arguments + " > " + out_file;
  Output out;
  const int status = std::system(command.c_str());
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out_file);
  if (in.peek() != std::ifstream::traits_type::eof()) out.json = nlohmann::json::parse(in, nullptr, false);
  return out;
}

TEST(EchoaMeasure, NpyAndPngFolderGiveTheClosedFormEf) {
  const std::string dir = echo_test::scratch_dir().string();
  const double es_scale = 0.8;  // volume scales with size^3: EF = 1 - 0.8^3 = 48.8%
  const double expected_ef = 100 * (1 - es_scale * es_scale * es_scale);
  std::vector<echo::Image8> a4c, a2c;
  const int frames = static_cast<int>(3.4 * kPeriodMs * kFps / 1000);  // ends mid-filling
  std::filesystem::remove_all(dir + "/png");  // a scratch folder may hold an earlier run
  std::filesystem::create_directories(dir + "/png");
  for (int f = 0; f < frames; ++f) {
    a4c.push_back(shape_at(f, 36, es_scale, 80).rasterise(200, 190));
    a2c.push_back(shape_at(f, 30, es_scale, 100).rasterise(200, 190));
    const cv::Mat view(a4c.back().height, a4c.back().width, CV_8U, a4c.back().pixels.data());
    cv::imwrite(dir + "/png/mask_" + std::to_string(f) + ".png", view);  // natural order: mask_2 < mask_10
  }
  echo_test::write_masks_npy(dir + "/a4c.npy", a4c);
  echo_test::write_masks_npy(dir + "/a2c.npy", a2c);

  const Output npy = run_echoa(dir + "/a4c.npy --mm-per-px 0.3 0.3 --fps 40", dir);
  ASSERT_EQ(npy.exit_code, 0);
  ASSERT_TRUE(npy.json.is_object());
  EXPECT_EQ(npy.json["method"], "single_plane_discs");
  ASSERT_EQ(npy.json["beats"].size(), 2u);  // 3.4 beats from systole to mid-filling: 2 complete
  for (const auto& beat : npy.json["beats"]) {
    EXPECT_NEAR(beat["ef_percent"].get<double>(), expected_ef, 1.0);
    EXPECT_FALSE(beat["excluded"].get<bool>());
  }
  EXPECT_NEAR(npy.json["ef_percent"].get<double>(), expected_ef, 1.0);
  EXPECT_NEAR(npy.json["heart_rate_bpm"].get<double>(), 75, 2);
  const echo_test::TruncatedEllipse ed_shape = shape_at(0, 36, 1.0, 80);  // size 1: the ED shape
  EXPECT_NEAR(npy.json["edv_ml"].get<double>(), ed_shape.discs_volume() * 0.027 / 1000, 0.02 * ed_shape.discs_volume() * 0.027 / 1000);
  EXPECT_EQ(npy.json["category"], "mildly reduced");
  EXPECT_EQ(npy.json["hf_class"], "HFmrEF");
  EXPECT_EQ(npy.json["volume_curve_ml"].size(), static_cast<std::size_t>(frames));

  const Output png = run_echoa(dir + "/png --mm-per-px 0.3 0.3 --fps 40 --compact", dir);
  ASSERT_EQ(png.exit_code, 0);
  EXPECT_EQ(png.json["ef_per_beat"], npy.json["ef_per_beat"]);

  const Output biplane = run_echoa(dir + "/a4c.npy --a2c " + dir + "/a2c.npy --mm-per-px 0.3 0.3 --fps 40", dir);
  ASSERT_EQ(biplane.exit_code, 0);
  EXPECT_EQ(biplane.json["method"], "biplane_discs");
  EXPECT_NEAR(biplane.json["ef_percent"].get<double>(), expected_ef, 1.0);

  // No spacing: EF still, volumes null with the reason.
  const Output uncalibrated = run_echoa(dir + "/a4c.npy --fps 40", dir);
  ASSERT_EQ(uncalibrated.exit_code, 0);
  EXPECT_TRUE(uncalibrated.json["edv_ml"].is_null());
  EXPECT_TRUE(uncalibrated.json["volume_curve_ml"].is_null());
  EXPECT_TRUE(uncalibrated.json["volumes_unavailable_reason"].is_string());
  EXPECT_NEAR(uncalibrated.json["ef_percent"].get<double>(), npy.json["ef_percent"].get<double>(), 1e-9);
}

TEST(EchoaMeasure, BadInputsGiveErrorsNotCrashes) {
  const std::string dir = echo_test::scratch_dir().string();
  EXPECT_EQ(run_echoa(dir + "/absent.npy --fps 30", dir).exit_code, 2);
  EXPECT_EQ(run_echoa(dir + " --fps 30", dir).exit_code, 2);                 // a folder with no images
  EXPECT_EQ(run_echoa("x.npy", dir).exit_code, 64);                           // neither --fps nor frame times
  EXPECT_EQ(run_echoa("x.npy --fps 30 --mm-per-px 0 1", dir).exit_code, 64);
  // Fewer than one beat: the JSON says why, exit 1.
  std::vector<echo::Image8> masks;
  for (int f = 0; f < 10; ++f) masks.push_back(shape_at(f, 30, 0.8, 0).rasterise(200, 190));
  echo_test::write_masks_npy(dir + "/short.npy", masks);
  const Output short_clip = run_echoa(dir + "/short.npy --fps 40", dir);
  EXPECT_EQ(short_clip.exit_code, 1);
  EXPECT_TRUE(short_clip.json["ef_percent"].is_null());
  EXPECT_TRUE(short_clip.json["reason"].is_string());
}

}  // namespace
