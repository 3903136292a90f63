// The C ABI through libechoanalyzer.so, as a vendor's program uses it: phantom studies from `echoa synth`,
// the installed-by-default reference model, and every accessor, buffer rule and bad argument.
#include <gtest/gtest.h>

#include <echo/echo.h>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string phantom(const std::string& name) { return std::string(CAPI_PHANTOM_DIR) + "/" + name + ".dcm"; }

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <class T>
T sized() {
  T value;
  std::memset(&value, 0, sizeof value);
  value.struct_size = sizeof value;
  return value;
}

#define ASSERT_ECHO_OK(call) ASSERT_EQ((call), ECHO_OK) << echo_last_error()
#define EXPECT_ECHO_OK(call) EXPECT_EQ((call), ECHO_OK) << echo_last_error()

// One model for the whole process, as a vendor's program would hold it.
class CapiModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    echo_model_options options = sized<echo_model_options>();
    ASSERT_ECHO_OK(echo_model_options_init(&options, sizeof options));
    options.threads = 2;
    ASSERT_ECHO_OK(echo_model_load(&options, &model_));
  }
  static void TearDownTestSuite() {
    echo_model_destroy(model_);
    model_ = nullptr;
  }

  static echo_result* analyze(const std::string& name) {
    echo_result* result = nullptr;
    EXPECT_ECHO_OK(echo_analyze_file(model_, phantom(name).c_str(), &result));
    return result;
  }

  static echo_model* model_;
};
echo_model* CapiModel::model_ = nullptr;

// RAII for the test's own convenience.
struct ResultGuard {
  echo_result* result;
  ~ResultGuard() { echo_result_destroy(result); }
};
struct CineGuard {
  echo_cine* cine;
  ~CineGuard() { echo_cine_destroy(cine); }
};
struct SessionGuard {
  echo_session* session;
  ~SessionGuard() { echo_session_destroy(session); }
};

std::vector<double> curve(const echo_result* result, echo_curve which) {
  size_t count = 0;
  EXPECT_ECHO_OK(echo_result_curve(result, which, nullptr, 0, &count));
  std::vector<double> values(count);
  EXPECT_ECHO_OK(echo_result_curve(result, which, values.data(), values.size(), &count));
  return values;
}

std::string json_of(const echo_result* result, int indent) {
  size_t length = 0;
  EXPECT_ECHO_OK(echo_result_json(result, indent, nullptr, 0, &length));
  std::string text(length + 1, '\0');
  EXPECT_ECHO_OK(echo_result_json(result, indent, text.data(), text.size(), &length));
  text.resize(length);
  return text;
}

// Position of the value of a key of the outermost JSON object (nested objects have keys of the same name).
std::size_t top_level_key(const std::string& json, const std::string& name) {
  const std::string quoted = "\"" + name + "\":";
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') --depth;
    else if (c == '"') {
      if (depth == 1 && json.compare(i, quoted.size(), quoted) == 0) return i + quoted.size();
      in_string = true;
    }
  }
  return std::string::npos;
}

std::string text_of(const echo_result* result, echo_language language) {
  size_t length = 0;
  EXPECT_ECHO_OK(echo_result_text(result, language, nullptr, 0, &length));
  std::string text(length + 1, '\0');
  EXPECT_ECHO_OK(echo_result_text(result, language, text.data(), text.size(), &length));
  text.resize(length);
  return text;
}

// --- no model needed ------------------------------------------------------------------------------------

TEST(CapiNoModel, LastErrorIsPerThread) {
  EXPECT_EQ(echo_result_ef_percent(nullptr, nullptr), ECHO_INVALID_ARGUMENT);
  const std::string mine = echo_last_error();
  EXPECT_NE(mine.find("echo_result_ef_percent"), std::string::npos) << mine;
  std::string other_before, other_after;
  std::thread([&] {
    other_before = echo_last_error();
    echo_cine* cine = nullptr;
    EXPECT_EQ(echo_cine_load_file("/nonexistent/a.dcm", nullptr, &cine), ECHO_NOT_FOUND);
    other_after = echo_last_error();
  }).join();
  EXPECT_EQ(other_before, "");
  EXPECT_NE(other_after, "");
  EXPECT_EQ(std::string(echo_last_error()), mine);  // the other thread's failure did not touch ours
}

TEST(CapiNoModel, DicomCineInfoAndFrames) {
  echo_cine* cine = nullptr;
  ASSERT_ECHO_OK(echo_cine_load_file(phantom("a4c_ef55").c_str(), nullptr, &cine));
  CineGuard guard{cine};
  echo_cine_info info = sized<echo_cine_info>();
  ASSERT_ECHO_OK(echo_cine_get_info(cine, &info));
  EXPECT_EQ(std::string(info.source_kind), "dicom");
  EXPECT_GT(info.rows, 0);
  EXPECT_GT(info.cols, 0);
  EXPECT_GE(info.frame_count, 10);
  EXPECT_GT(info.mm_per_px_x, 0.0);
  EXPECT_GT(info.fps, 0.0);

  size_t count = 0;
  ASSERT_ECHO_OK(echo_cine_frame_times(cine, nullptr, 0, &count));
  EXPECT_EQ(count, static_cast<size_t>(info.frame_count));
  std::vector<double> times(count, -1.0);
  size_t required = 0;
  EXPECT_EQ(echo_cine_frame_times(cine, times.data(), count - 1, &required), ECHO_BUFFER_TOO_SMALL);
  EXPECT_EQ(required, count);
  EXPECT_EQ(times[0], -1.0);  // untouched on failure
  ASSERT_ECHO_OK(echo_cine_frame_times(cine, times.data(), times.size(), &count));
  for (size_t i = 1; i < times.size(); ++i) EXPECT_GT(times[i], times[i - 1]);

  // The same bytes from memory give the same cine.
  const std::vector<char> bytes = read_bytes(phantom("a4c_ef55"));
  echo_cine* from_memory = nullptr;
  ASSERT_ECHO_OK(echo_cine_load_buffer(bytes.data(), bytes.size(), nullptr, &from_memory));
  CineGuard guard2{from_memory};
  std::vector<uint8_t> a(static_cast<size_t>(info.rows) * info.cols), b(a.size());
  size_t size = 0;
  ASSERT_ECHO_OK(echo_cine_frame_gray8(cine, info.frame_count / 2, a.data(), a.size(), &size));
  ASSERT_ECHO_OK(echo_cine_frame_gray8(from_memory, info.frame_count / 2, b.data(), b.size(), &size));
  EXPECT_EQ(a, b);
}

TEST(CapiNoModel, DamagedBuffersAreErrorsNotCrashes) {
  std::vector<char> bytes = read_bytes(phantom("a4c_ef55"));
  ASSERT_GT(bytes.size(), 4096u);
  echo_cine* cine = nullptr;
  // Truncated in the middle of the pixel data, then garbage.
  EXPECT_NE(echo_cine_load_buffer(bytes.data(), bytes.size() / 2, nullptr, &cine), ECHO_OK);
  EXPECT_EQ(cine, nullptr);
  EXPECT_GT(std::strlen(echo_last_error()), 0u);
  std::vector<char> garbage(1000, '\x5a');
  EXPECT_NE(echo_cine_load_buffer(garbage.data(), garbage.size(), nullptr, &cine), ECHO_OK);
  EXPECT_NE(echo_cine_load_buffer(bytes.data(), 0, nullptr, &cine), ECHO_OK);
  EXPECT_EQ(cine, nullptr);
  // A read limit below the study's size is refused before allocation.
  echo_read_options read = sized<echo_read_options>();
  ASSERT_ECHO_OK(echo_read_options_init(&read, sizeof read));
  read.max_total_pixels = 1000;
  EXPECT_EQ(echo_cine_load_buffer(bytes.data(), bytes.size(), &read, &cine), ECHO_TOO_LARGE) << echo_last_error();
  EXPECT_EQ(cine, nullptr);
}

TEST(CapiNoModel, BadModelOptionsAndPaths) {
  echo_model_options options = sized<echo_model_options>();
  ASSERT_ECHO_OK(echo_model_options_init(&options, sizeof options));
  echo_model* model = nullptr;
  options.device = 7;
  EXPECT_EQ(echo_model_load(&options, &model), ECHO_INVALID_ARGUMENT);
  EXPECT_NE(std::string(echo_last_error()).find("device"), std::string::npos);
  options.device = ECHO_DEVICE_AUTO;
  options.threads = -3;
  EXPECT_EQ(echo_model_load(&options, &model), ECHO_INVALID_ARGUMENT);
  options.threads = 0;
  options.model_path = "/nonexistent/lv_seg.pt";
  EXPECT_EQ(echo_model_load(&options, &model), ECHO_NOT_FOUND) << echo_last_error();
  EXPECT_EQ(model, nullptr);
  // A model file that is not a model: refused with a reason, never run.
  const std::string fake = std::string(::testing::TempDir()) + "/capi_fake_model.pt";
  std::ofstream(fake) << "not a TorchScript file";
  std::ofstream(fake.substr(0, fake.size() - 3) + ".json") << "{\"contract\": \"something else\"}";
  options.model_path = fake.c_str();
  const echo_status status = echo_model_load(&options, &model);
  EXPECT_TRUE(status == ECHO_MODEL_INVALID || status == ECHO_MALFORMED) << echo_status_str(status) << ": "
                                                                         << echo_last_error();
  EXPECT_EQ(model, nullptr);
  const std::string manifest = "{}";
  EXPECT_NE(echo_model_load_from_memory("abc", 3, manifest.data(), manifest.size(), nullptr, &model), ECHO_OK);
  EXPECT_EQ(model, nullptr);
}

// --- with the reference model ----------------------------------------------------------------------------

TEST_F(CapiModel, ModelInfo) {
  echo_model_info info = sized<echo_model_info>();
  ASSERT_ECHO_OK(echo_model_get_info(model_, &info));
  EXPECT_GT(std::strlen(info.name), 0u);
  EXPECT_EQ(std::strlen(info.weights_sha256), 64u);
  EXPECT_EQ(std::string(info.device), "cpu");
  EXPECT_EQ(info.vlm_loaded, 0);
  EXPECT_EQ(info.validated_on_real_patients, 0);  // the bundled model learnt from phantoms only
}

// A caller built before validated_on_real_patients was appended (struct ends at `device`) gets the v1
// fields and nothing written past them.
TEST_F(CapiModel, ModelInfoForACallerWithTheV1Struct) {
  echo_model_info info;
  std::memset(&info, 0x5A, sizeof info);
  info.struct_size = static_cast<uint32_t>(offsetof(echo_model_info, validated_on_real_patients));
  ASSERT_ECHO_OK(echo_model_get_info(model_, &info));
  EXPECT_EQ(std::strlen(info.weights_sha256), 64u);
  EXPECT_EQ(info.validated_on_real_patients, 0x5A5A5A5A);
  ResultGuard guard{analyze("a4c_ef55")};
  ASSERT_NE(guard.result, nullptr);
  echo_model_info from_result = sized<echo_model_info>();
  ASSERT_ECHO_OK(echo_result_model_info(guard.result, &from_result));
  EXPECT_EQ(from_result.validated_on_real_patients, 0);
}

TEST_F(CapiModel, AnalyzesAPhantomStudy) {
  ResultGuard guard{analyze("a4c_ef55")};
  const echo_result* r = guard.result;
  ASSERT_NE(r, nullptr);
  int32_t pass = 0, second_opinion = 0, frames = 0, rows = 0, cols = 0;
  ASSERT_ECHO_OK(echo_result_quality_pass(r, &pass));
  ASSERT_EQ(pass, 1) << json_of(r, 2);
  ASSERT_ECHO_OK(echo_result_is_second_opinion(r, &second_opinion));
  EXPECT_EQ(second_opinion, 1);
  ASSERT_ECHO_OK(echo_result_dimensions(r, &frames, &rows, &cols));

  double ef = 0.0, sd = -1.0, median = 0.0, edv = 0.0, esv = 0.0;
  ASSERT_ECHO_OK(echo_result_ef_percent(r, &ef));
  EXPECT_GT(ef, 10.0);
  EXPECT_LT(ef, 90.0);
  const char* basis = nullptr;
  ASSERT_ECHO_OK(echo_result_ef_basis(r, &basis));
  EXPECT_STREQ(basis, "beats");  // a phantom of complete beats
  EXPECT_EQ(echo_result_ef_basis(r, nullptr), ECHO_INVALID_ARGUMENT);
  EXPECT_ECHO_OK(echo_result_ef_sd(r, &sd));
  EXPECT_GE(sd, 0.0);
  EXPECT_ECHO_OK(echo_result_ef_median(r, &median));
  // The phantom carries a trusted calibration: volumes in mL, and EF follows from them per beat.
  ASSERT_ECHO_OK(echo_result_edv_ml(r, &edv));
  ASSERT_ECHO_OK(echo_result_esv_ml(r, &esv));
  EXPECT_GT(edv, esv);

  // Beats: the used ones give exactly the EF-per-beat curve, and their mean is the EF.
  size_t beat_count = 0;
  ASSERT_ECHO_OK(echo_result_beat_count(r, &beat_count));
  ASSERT_GE(beat_count, 1u);
  const std::vector<double> ef_per_beat = curve(r, ECHO_CURVE_EF_PER_BEAT);
  std::vector<double> used;
  for (size_t i = 0; i < beat_count; ++i) {
    echo_beat beat = sized<echo_beat>();
    ASSERT_ECHO_OK(echo_result_beat(r, i, &beat));
    EXPECT_LT(beat.ed_frame, frames);
    EXPECT_LT(beat.es_frame, frames);
    EXPECT_EQ(beat.has_volumes, 1);
    EXPECT_NEAR(beat.ef_percent, 100.0 * (beat.edv_ml - beat.esv_ml) / beat.edv_ml, 1e-9);
    if (!beat.excluded) used.push_back(beat.ef_percent);
    else EXPECT_GT(std::strlen(beat.exclusion_reason), 0u);
  }
  EXPECT_EQ(used, ef_per_beat);
  double mean = 0.0;
  for (double v : used) mean += v / static_cast<double>(used.size());
  EXPECT_NEAR(ef, mean, 1e-9);
  echo_beat out_of_range = sized<echo_beat>();
  EXPECT_EQ(echo_result_beat(r, beat_count, &out_of_range), ECHO_INVALID_ARGUMENT);

  // Per-frame curves have one value per frame.
  EXPECT_EQ(curve(r, ECHO_CURVE_FRAME_TIME_MS).size(), static_cast<size_t>(frames));
  EXPECT_EQ(curve(r, ECHO_CURVE_LV_AREA_MM2).size(), static_cast<size_t>(frames));
  EXPECT_EQ(curve(r, ECHO_CURVE_LV_VOLUME_ML).size(), static_cast<size_t>(frames));
  size_t count = 0;
  EXPECT_EQ(echo_result_curve(r, 42, nullptr, 0, &count), ECHO_INVALID_ARGUMENT);

  // Classification, view, heart rate, timings.
  echo_ef_classification category = sized<echo_ef_classification>();
  ASSERT_ECHO_OK(echo_result_ef_classification(r, &category));
  EXPECT_GT(std::strlen(category.category), 0u);
  EXPECT_GT(std::strlen(category.label_zh), 0u);
  const char* view = nullptr;
  ASSERT_ECHO_OK(echo_result_view(r, &view));
  EXPECT_EQ(std::string(view), "a4c");
  double bpm = 0.0;
  ASSERT_ECHO_OK(echo_result_heart_rate_bpm(r, &bpm));
  EXPECT_GT(bpm, 30.0);
  echo_timings timings = sized<echo_timings>();
  ASSERT_ECHO_OK(echo_result_timings(r, &timings));
  EXPECT_GT(timings.total_ms, 0.0);
  EXPECT_GT(timings.decode_ms, 0.0);
  EXPECT_GE(timings.total_ms, timings.inference_ms);

  // The JSON report carries the same EF, bit for bit (17 significant digits round-trip).
  const std::string json = json_of(r, -1);
  const std::size_t key = top_level_key(json, "ef_percent");
  ASSERT_NE(key, std::string::npos) << json;
  EXPECT_EQ(std::strtod(json.c_str() + key, nullptr), ef);
  EXPECT_NE(text_of(r, ECHO_LANGUAGE_EN).find("LVEF approximately"), std::string::npos);
  EXPECT_NE(text_of(r, ECHO_LANGUAGE_ZH).find("LVEF约为"), std::string::npos);
  echo_vlm_answer vlm = sized<echo_vlm_answer>();
  EXPECT_EQ(echo_result_vlm_answer(r, &vlm), ECHO_NO_RESULT);
}

TEST_F(CapiModel, KeyframeContourDiscsAndMaskAgree) {
  ResultGuard guard{analyze("a4c_ef55")};
  const echo_result* r = guard.result;
  ASSERT_NE(r, nullptr);
  int32_t frames = 0, rows = 0, cols = 0;
  ASSERT_ECHO_OK(echo_result_dimensions(r, &frames, &rows, &cols));
  echo_cine* cine = nullptr;
  ASSERT_ECHO_OK(echo_cine_load_file(phantom("a4c_ef55").c_str(), nullptr, &cine));
  CineGuard cine_guard{cine};
  echo_cine_info info = sized<echo_cine_info>();
  ASSERT_ECHO_OK(echo_cine_get_info(cine, &info));

  for (echo_keyframe_kind which : {ECHO_KEYFRAME_ED, ECHO_KEYFRAME_ES}) {
    echo_keyframe keyframe = sized<echo_keyframe>();
    ASSERT_ECHO_OK(echo_result_keyframe(r, which, &keyframe));
    ASSERT_EQ(keyframe.valid, 1) << keyframe.invalid_reason;
    EXPECT_EQ(keyframe.volumes_in_ml, 1);
    size_t points = 0;
    ASSERT_ECHO_OK(echo_result_contour(r, which, nullptr, 0, &points));
    EXPECT_EQ(points, keyframe.contour_point_count);
    std::vector<double> xy(2 * points);
    size_t too_small = 0;
    EXPECT_EQ(echo_result_contour(r, which, xy.data(), xy.size() - 1, &too_small), ECHO_BUFFER_TOO_SMALL);
    EXPECT_EQ(too_small, points);
    ASSERT_ECHO_OK(echo_result_contour(r, which, xy.data(), xy.size(), &points));
    size_t discs = 0;
    ASSERT_ECHO_OK(echo_result_discs(r, which, nullptr, 0, &discs));
    EXPECT_EQ(discs, keyframe.disc_count);
    EXPECT_EQ(discs, 20u);

    // The mask filled from the contour covers the keyframe's LV area (pixels x mm^2 per pixel).
    size_t size = 0;
    ASSERT_ECHO_OK(echo_result_mask(r, which, nullptr, 0, &size));
    ASSERT_EQ(size, static_cast<size_t>(rows) * cols);
    std::vector<uint8_t> mask(size, 7);
    EXPECT_EQ(echo_result_mask(r, which, mask.data(), size - 1, &size), ECHO_BUFFER_TOO_SMALL);
    EXPECT_EQ(mask[0], 7);
    ASSERT_ECHO_OK(echo_result_mask(r, which, mask.data(), mask.size(), &size));
    double inside = 0;
    for (uint8_t v : mask) inside += v == 255 ? 1 : 0;
    const double mask_area_mm2 = inside * info.mm_per_px_x * info.mm_per_px_y;
    EXPECT_NEAR(mask_area_mm2, keyframe.area_mm2, 0.05 * keyframe.area_mm2);
  }
  echo_keyframe keyframe = sized<echo_keyframe>();
  EXPECT_EQ(echo_result_keyframe(r, 5, &keyframe), ECHO_INVALID_ARGUMENT);
}

TEST_F(CapiModel, RendersOverlaysIntoCallerMemory) {
  ResultGuard guard{analyze("a4c_ef55")};
  const echo_result* r = guard.result;
  ASSERT_NE(r, nullptr);
  int32_t frames = 0, rows = 0, cols = 0;
  ASSERT_ECHO_OK(echo_result_dimensions(r, &frames, &rows, &cols));

  echo_render_options options = sized<echo_render_options>();
  ASSERT_ECHO_OK(echo_render_options_init(&options, sizeof options));
  options.kind = ECHO_IMAGE_ED_OVERLAY;
  echo_image_info info = sized<echo_image_info>();
  ASSERT_ECHO_OK(echo_result_render(r, &options, nullptr, 0, &info));
  EXPECT_EQ(info.width, cols);
  EXPECT_EQ(info.height, rows);
  EXPECT_EQ(info.channels, 3);
  EXPECT_EQ(info.size_bytes, static_cast<size_t>(rows) * cols * 3);
  std::vector<uint8_t> pixels(info.size_bytes, 0);
  EXPECT_EQ(echo_result_render(r, &options, pixels.data(), pixels.size() - 1, &info), ECHO_BUFFER_TOO_SMALL);
  EXPECT_EQ(pixels[0], 0);
  ASSERT_ECHO_OK(echo_result_render(r, &options, pixels.data(), pixels.size(), &info));
  // The grey frame becomes colour where the contour and discs are drawn.
  size_t coloured = 0;
  for (size_t i = 0; i + 2 < pixels.size(); i += 3) coloured += (pixels[i] != pixels[i + 1] || pixels[i + 1] != pixels[i + 2]);
  EXPECT_GT(coloured, 100u);

  options.kind = ECHO_IMAGE_VOLUME_CURVE;
  options.width = 400;
  options.height = 200;
  ASSERT_ECHO_OK(echo_result_render(r, &options, nullptr, 0, &info));
  EXPECT_EQ(info.width, 400);
  EXPECT_EQ(info.height, 200);
  std::vector<uint8_t> curve_pixels(info.size_bytes);
  ASSERT_ECHO_OK(echo_result_render(r, &options, curve_pixels.data(), curve_pixels.size(), &info));
  options.width = 10;
  EXPECT_EQ(echo_result_render(r, &options, nullptr, 0, &info), ECHO_INVALID_ARGUMENT);
  options.kind = 9;
  EXPECT_EQ(echo_result_render(r, &options, nullptr, 0, &info), ECHO_INVALID_ARGUMENT);
}

TEST_F(CapiModel, QualityRejectionIsAResultNotAnError) {
  ResultGuard guard{analyze("a4c_blur")};
  const echo_result* r = guard.result;
  ASSERT_NE(r, nullptr);
  int32_t pass = 1;
  ASSERT_ECHO_OK(echo_result_quality_pass(r, &pass));
  EXPECT_EQ(pass, 0);
  double ef = -7.0;
  EXPECT_EQ(echo_result_ef_percent(r, &ef), ECHO_NO_RESULT);
  EXPECT_EQ(ef, -7.0);  // untouched
  EXPECT_NE(std::string(echo_last_error()).find("quality"), std::string::npos) << echo_last_error();
  const char* why = nullptr;
  ASSERT_ECHO_OK(echo_result_ef_withheld_reason(r, &why));
  EXPECT_GT(std::strlen(why), 0u);
  echo_ef_classification category = sized<echo_ef_classification>();
  EXPECT_EQ(echo_result_ef_classification(r, &category), ECHO_NO_RESULT);

  size_t count = 0;
  ASSERT_ECHO_OK(echo_result_reason_count(r, &count));
  ASSERT_GE(count, 1u);
  bool blurred = false;
  for (size_t i = 0; i < count; ++i) {
    echo_quality_reason reason = sized<echo_quality_reason>();
    ASSERT_ECHO_OK(echo_result_reason(r, i, &reason));
    EXPECT_GT(std::strlen(reason.message_en), 0u);
    EXPECT_GT(std::strlen(reason.message_zh), 0u);
    if (reason.code_id == ECHO_QUALITY_BLURRED) {
      blurred = true;
      EXPECT_EQ(std::string(reason.code), "blurred");
      EXPECT_EQ(reason.severity, ECHO_SEVERITY_REJECT);
      EXPECT_LT(reason.value, reason.threshold);
    }
  }
  EXPECT_TRUE(blurred) << json_of(r, 2);
  EXPECT_EQ(text_of(r, ECHO_LANGUAGE_EN).rfind("image not acceptable", 0), 0u);
  EXPECT_EQ(text_of(r, ECHO_LANGUAGE_ZH).rfind("图像不合格", 0), 0u);
}

TEST_F(CapiModel, FileBufferCineAndFramesAgree) {
  ResultGuard from_file{analyze("a4c_ef55")};
  ASSERT_NE(from_file.result, nullptr);
  double ef_file = 0.0;
  ASSERT_ECHO_OK(echo_result_ef_percent(from_file.result, &ef_file));

  const std::vector<char> bytes = read_bytes(phantom("a4c_ef55"));
  echo_result* from_buffer = nullptr;
  ASSERT_ECHO_OK(echo_analyze_buffer(model_, bytes.data(), bytes.size(), &from_buffer));
  ResultGuard g1{from_buffer};
  double ef_buffer = 0.0;
  ASSERT_ECHO_OK(echo_result_ef_percent(from_buffer, &ef_buffer));
  EXPECT_EQ(ef_buffer, ef_file);

  echo_cine* cine = nullptr;
  ASSERT_ECHO_OK(echo_cine_load_file(phantom("a4c_ef55").c_str(), nullptr, &cine));
  CineGuard g2{cine};
  echo_result* from_cine = nullptr;
  ASSERT_ECHO_OK(echo_analyze_cine(model_, cine, &from_cine));
  ResultGuard g3{from_cine};
  double ef_cine = 0.0;
  ASSERT_ECHO_OK(echo_result_ef_percent(from_cine, &ef_cine));
  EXPECT_EQ(ef_cine, ef_file);

  // The same pixels as raw scanner frames (RGBA with padded rows, one pointer per frame).
  echo_cine_info info = sized<echo_cine_info>();
  ASSERT_ECHO_OK(echo_cine_get_info(cine, &info));
  const size_t stride = static_cast<size_t>(info.cols) * 4 + 12;
  std::vector<std::vector<uint8_t>> rgba(info.frame_count, std::vector<uint8_t>(stride * info.rows));
  std::vector<const void*> pointers;
  std::vector<uint8_t> gray(static_cast<size_t>(info.rows) * info.cols);
  for (int f = 0; f < info.frame_count; ++f) {
    size_t size = 0;
    ASSERT_ECHO_OK(echo_cine_frame_gray8(cine, f, gray.data(), gray.size(), &size));
    for (int y = 0; y < info.rows; ++y) {
      for (int x = 0; x < info.cols; ++x) {
        uint8_t* p = &rgba[f][y * stride + 4 * x];
        p[0] = p[1] = p[2] = gray[static_cast<size_t>(y) * info.cols + x];
        p[3] = 255;
      }
    }
    pointers.push_back(rgba[f].data());
  }
  std::vector<double> times(info.frame_count);
  size_t count = 0;
  ASSERT_ECHO_OK(echo_cine_frame_times(cine, times.data(), times.size(), &count));
  echo_frames frames = sized<echo_frames>();
  ASSERT_ECHO_OK(echo_frames_init(&frames, sizeof frames));
  frames.format = ECHO_PIXEL_RGBA8;
  frames.width = info.cols;
  frames.height = info.rows;
  frames.frame_count = info.frame_count;
  frames.row_stride_bytes = stride;
  frames.frame_data = pointers.data();
  frames.frame_times_ms = times.data();
  frames.mm_per_px_x = info.mm_per_px_x;
  frames.mm_per_px_y = info.mm_per_px_y;
  frames.calibration_trusted = 1;
  echo_result* from_frames = nullptr;
  ASSERT_ECHO_OK(echo_analyze_frames(model_, &frames, &from_frames));
  ResultGuard g4{from_frames};
  int32_t pass = 0;
  ASSERT_ECHO_OK(echo_result_quality_pass(from_frames, &pass));
  EXPECT_EQ(pass, 1);
  double ef_frames = 0.0;
  ASSERT_ECHO_OK(echo_result_ef_percent(from_frames, &ef_frames));
  // Same pixels, same times and calibration; the file also has R-wave times that may place beats
  // differently, so the frames' EF is compared with the cine built from the same frames exactly...
  echo_cine* raw_cine = nullptr;
  ASSERT_ECHO_OK(echo_cine_from_frames(&frames, &raw_cine));
  CineGuard g5{raw_cine};
  echo_result* from_raw_cine = nullptr;
  ASSERT_ECHO_OK(echo_analyze_cine(model_, raw_cine, &from_raw_cine));
  ResultGuard g6{from_raw_cine};
  double ef_raw_cine = 0.0;
  ASSERT_ECHO_OK(echo_result_ef_percent(from_raw_cine, &ef_raw_cine));
  EXPECT_EQ(ef_frames, ef_raw_cine);
  // ... and with the file's EF closely.
  EXPECT_NEAR(ef_frames, ef_file, 2.0);
}

TEST_F(CapiModel, Biplane) {
  echo_cine *a4c = nullptr, *a2c = nullptr;
  ASSERT_ECHO_OK(echo_cine_load_file(phantom("a4c_ef55").c_str(), nullptr, &a4c));
  CineGuard g1{a4c};
  ASSERT_ECHO_OK(echo_cine_load_file(phantom("a2c_ef55").c_str(), nullptr, &a2c));
  CineGuard g2{a2c};
  echo_result* result = nullptr;
  ASSERT_ECHO_OK(echo_analyze_biplane(model_, a4c, a2c, &result));
  ResultGuard g3{result};
  int32_t biplane = 0;
  ASSERT_ECHO_OK(echo_result_is_biplane(result, &biplane));
  EXPECT_EQ(biplane, 1);
  double ef = 0.0;
  ASSERT_ECHO_OK(echo_result_ef_percent(result, &ef)) << json_of(result, 2);
  EXPECT_GT(ef, 10.0);
  EXPECT_LT(ef, 90.0);
  EXPECT_EQ(echo_analyze_biplane(model_, a4c, nullptr, &result), ECHO_INVALID_ARGUMENT);
  EXPECT_EQ(result, g3.result);  // untouched on failure
}

TEST_F(CapiModel, OutputStructSizesAreChecked) {
  ResultGuard guard{analyze("a4c_ef55")};
  ASSERT_NE(guard.result, nullptr);
  echo_beat beat = sized<echo_beat>();
  beat.struct_size = sizeof beat - 8;  // an impossible older layout
  beat.ed_frame = -42;
  EXPECT_EQ(echo_result_beat(guard.result, 0, &beat), ECHO_INVALID_ARGUMENT);
  EXPECT_EQ(beat.ed_frame, -42);
  beat.struct_size = sizeof beat + 16;  // a newer header than this library
  EXPECT_EQ(echo_result_beat(guard.result, 0, &beat), ECHO_INVALID_ARGUMENT);
  EXPECT_EQ(beat.ed_frame, -42);
  beat.struct_size = sizeof beat;
  EXPECT_ECHO_OK(echo_result_beat(guard.result, 0, &beat));
  EXPECT_GE(beat.ed_frame, 0);

  // Text buffers: exactly length + 1 is enough, length is not, and the NUL is written.
  size_t length = 0;
  ASSERT_ECHO_OK(echo_result_text(guard.result, ECHO_LANGUAGE_EN, nullptr, 0, &length));
  std::vector<char> text(length, 'x');
  size_t reported = 0;
  EXPECT_EQ(echo_result_text(guard.result, ECHO_LANGUAGE_EN, text.data(), text.size(), &reported), ECHO_BUFFER_TOO_SMALL);
  EXPECT_EQ(reported, length);
  EXPECT_EQ(text[0], 'x');
  text.resize(length + 1);
  ASSERT_ECHO_OK(echo_result_text(guard.result, ECHO_LANGUAGE_EN, text.data(), text.size(), &reported));
  EXPECT_EQ(text[length], '\0');
  EXPECT_EQ(echo_result_text(guard.result, 3, text.data(), text.size(), &reported), ECHO_INVALID_ARGUMENT);
}

// --- streaming -------------------------------------------------------------------------------------------

struct Stream {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<double> times;
  int rows = 0, cols = 0;
  double mm_x = 0.0, mm_y = 0.0;
};

Stream load_stream(const std::string& name) {
  Stream stream;
  echo_cine* cine = nullptr;
  EXPECT_ECHO_OK(echo_cine_load_file(phantom(name).c_str(), nullptr, &cine));
  if (cine == nullptr) return stream;
  echo_cine_info info = sized<echo_cine_info>();
  EXPECT_ECHO_OK(echo_cine_get_info(cine, &info));
  stream.rows = info.rows;
  stream.cols = info.cols;
  stream.mm_x = info.mm_per_px_x;
  stream.mm_y = info.mm_per_px_y;
  stream.times.resize(info.frame_count);
  size_t count = 0;
  EXPECT_ECHO_OK(echo_cine_frame_times(cine, stream.times.data(), stream.times.size(), &count));
  for (int f = 0; f < info.frame_count; ++f) {
    std::vector<uint8_t> gray(static_cast<size_t>(info.rows) * info.cols);
    EXPECT_ECHO_OK(echo_cine_frame_gray8(cine, f, gray.data(), gray.size(), &count));
    stream.frames.push_back(std::move(gray));
  }
  echo_cine_destroy(cine);
  return stream;
}

echo_frame frame_of(const Stream& stream, size_t index) {
  echo_frame frame = sized<echo_frame>();
  EXPECT_ECHO_OK(echo_frame_init(&frame, sizeof frame));
  frame.format = ECHO_PIXEL_GRAY8;
  frame.width = stream.cols;
  frame.height = stream.rows;
  frame.data = stream.frames[index].data();
  return frame;
}

struct SeenBeat {
  int32_t beat_index;
  int32_t ed_frame, es_frame;
  double ef_percent, running_mean;
  bool operator==(const SeenBeat& o) const {
    return beat_index == o.beat_index && ed_frame == o.ed_frame && es_frame == o.es_frame &&
           ef_percent == o.ef_percent && running_mean == o.running_mean;
  }
};

void on_beat(const echo_beat_event* event, const echo_beat* beat, void* user_data) {
  static_cast<std::vector<SeenBeat>*>(user_data)->push_back(
      {event->beat_index, beat->ed_frame, beat->es_frame, beat->ef_percent, event->running_ef_mean});
}

echo_session* new_session(echo_model* model, const Stream& stream, uint32_t max_queued) {
  echo_session_options options = sized<echo_session_options>();
  EXPECT_ECHO_OK(echo_session_options_init(&options, sizeof options));
  options.mm_per_px_x = stream.mm_x;
  options.mm_per_px_y = stream.mm_y;
  options.calibration_trusted = 1;
  if (max_queued > 0) options.max_queued_beats = max_queued;
  echo_session* session = nullptr;
  EXPECT_ECHO_OK(echo_session_create(model, &options, &session));
  return session;
}

TEST_F(CapiModel, SessionCallbackAndPollingGiveTheSameBeats) {
  const Stream stream = load_stream("a4c_ef55");
  ASSERT_FALSE(stream.frames.empty());
  SessionGuard with_callback{new_session(model_, stream, 0)};
  SessionGuard with_polling{new_session(model_, stream, 0)};
  ASSERT_NE(with_callback.session, nullptr);
  ASSERT_NE(with_polling.session, nullptr);
  std::vector<SeenBeat> called, polled;
  ASSERT_ECHO_OK(echo_session_set_beat_callback(with_callback.session, on_beat, &called));

  int completed = 0;
  for (size_t i = 0; i < stream.frames.size(); ++i) {
    const echo_frame frame = frame_of(stream, i);
    echo_frame_result out = sized<echo_frame_result>();
    ASSERT_ECHO_OK(echo_session_push_frame(with_callback.session, &frame, stream.times[i], &out));
    EXPECT_EQ(out.frame_index, static_cast<int32_t>(i));
    EXPECT_GE(out.quality_score, 0.0);
    EXPECT_LE(out.quality_score, 1.0);
    size_t points = 0;
    ASSERT_ECHO_OK(echo_session_last_contour(with_callback.session, nullptr, 0, &points));
    EXPECT_EQ(points, out.contour_point_count);
    completed += out.beat_completed;
    ASSERT_ECHO_OK(echo_session_push_frame(with_polling.session, &frame, stream.times[i], nullptr));
    echo_beat_event event = sized<echo_beat_event>();
    echo_beat beat = sized<echo_beat>();
    while (echo_session_poll_beat(with_polling.session, &event, &beat) == ECHO_OK) {
      polled.push_back({event.beat_index, beat.ed_frame, beat.es_frame, beat.ef_percent, event.running_ef_mean});
    }
  }
  int64_t pushed = 0;
  ASSERT_ECHO_OK(echo_session_frames_pushed(with_callback.session, &pushed));
  EXPECT_EQ(pushed, static_cast<int64_t>(stream.frames.size()));
  ASSERT_GE(called.size(), 1u);
  EXPECT_EQ(static_cast<int>(called.size()), completed);
  EXPECT_EQ(called, polled);
  for (const SeenBeat& beat : called) {
    EXPECT_GT(beat.ef_percent, 0.0);
    EXPECT_LT(beat.ef_percent, 100.0);
  }
  // A session with a callback queues nothing.
  echo_beat_event event = sized<echo_beat_event>();
  echo_beat beat = sized<echo_beat>();
  EXPECT_EQ(echo_session_poll_beat(with_callback.session, &event, &beat), ECHO_NO_RESULT);
}

TEST_F(CapiModel, SessionQueueIsBounded) {
  const Stream stream = load_stream("a4c_ef55");
  SessionGuard guard{new_session(model_, stream, 1)};
  ASSERT_NE(guard.session, nullptr);
  int completed = 0;
  for (size_t i = 0; i < stream.frames.size(); ++i) {
    const echo_frame frame = frame_of(stream, i);
    echo_frame_result out = sized<echo_frame_result>();
    ASSERT_ECHO_OK(echo_session_push_frame(guard.session, &frame, stream.times[i], &out));
    completed += out.beat_completed;
  }
  ASSERT_GE(completed, 2) << "the phantom should hold at least two beats";
  uint64_t dropped = 0;
  ASSERT_ECHO_OK(echo_session_dropped_beats(guard.session, &dropped));
  EXPECT_EQ(dropped, static_cast<uint64_t>(completed - 1));
  echo_beat_event event = sized<echo_beat_event>();
  echo_beat beat = sized<echo_beat>();
  ASSERT_ECHO_OK(echo_session_poll_beat(guard.session, &event, &beat));
  EXPECT_EQ(event.beat_index, completed - 1);  // the newest one was kept
  EXPECT_EQ(echo_session_poll_beat(guard.session, &event, &beat), ECHO_NO_RESULT);
}

TEST_F(CapiModel, CapiBadArgumentsInSessions) {
  const Stream stream = load_stream("a4c_ef55");
  SessionGuard guard{new_session(model_, stream, 0)};
  ASSERT_NE(guard.session, nullptr);
  echo_frame frame = frame_of(stream, 0);
  ASSERT_ECHO_OK(echo_session_push_frame(guard.session, &frame, 0.0, nullptr));

  echo_frame bad = frame;
  bad.width = -1;
  EXPECT_EQ(echo_session_push_frame(guard.session, &bad, 20.0, nullptr), ECHO_INVALID_ARGUMENT);
  bad = frame;
  bad.height = 1 << 20;
  EXPECT_EQ(echo_session_push_frame(guard.session, &bad, 20.0, nullptr), ECHO_INVALID_ARGUMENT);
  bad = frame;
  bad.row_stride_bytes = 1;
  EXPECT_EQ(echo_session_push_frame(guard.session, &bad, 20.0, nullptr), ECHO_INVALID_ARGUMENT);
  bad = frame;
  bad.data = nullptr;
  EXPECT_EQ(echo_session_push_frame(guard.session, &bad, 20.0, nullptr), ECHO_INVALID_ARGUMENT);
  bad = frame;
  bad.struct_size = 4;
  EXPECT_EQ(echo_session_push_frame(guard.session, &bad, 20.0, nullptr), ECHO_INVALID_ARGUMENT);
  bad = frame;
  bad.format = -2;
  EXPECT_EQ(echo_session_push_frame(guard.session, &bad, 20.0, nullptr), ECHO_INVALID_ARGUMENT);
  // A different size from the one the stream started with, or time going backwards.
  bad = frame;
  bad.width = stream.cols / 2;
  EXPECT_EQ(echo_session_push_frame(guard.session, &bad, 20.0, nullptr), ECHO_INVALID_ARGUMENT);
  frame = frame_of(stream, 1);
  EXPECT_EQ(echo_session_push_frame(guard.session, &frame, -5.0, nullptr), ECHO_INVALID_ARGUMENT);
  EXPECT_EQ(echo_session_push_frame(guard.session, &frame, NAN, nullptr), ECHO_INVALID_ARGUMENT);
  echo_frame_result out = sized<echo_frame_result>();
  out.struct_size = 3;
  EXPECT_EQ(echo_session_push_frame(guard.session, &frame, 20.0, &out), ECHO_INVALID_ARGUMENT);
  // The session is still usable after all of that.
  out.struct_size = sizeof out;
  ASSERT_ECHO_OK(echo_session_push_frame(guard.session, &frame, stream.times[1], &out));
  EXPECT_EQ(out.frame_index, 1);
  std::vector<double> xy(1);
  size_t points = 0;
  if (out.contour_point_count > 0) {
    EXPECT_EQ(echo_session_last_contour(guard.session, xy.data(), xy.size(), &points), ECHO_BUFFER_TOO_SMALL);
    EXPECT_EQ(points, out.contour_point_count);
  }

  echo_session_options options = sized<echo_session_options>();
  ASSERT_ECHO_OK(echo_session_options_init(&options, sizeof options));
  options.mm_per_px_x = -0.2;
  echo_session* session = nullptr;
  EXPECT_EQ(echo_session_create(model_, &options, &session), ECHO_INVALID_ARGUMENT);
  EXPECT_EQ(session, nullptr);
}

TEST_F(CapiModel, LoadsAModelFromMemory) {
  const char* model_dir = std::getenv("ECHO_MODEL_DIR");  // the same override as the default model's
  const std::string base = std::string(model_dir != nullptr ? model_dir : ECHO_MODELS_DIR) + "/lv_seg_int8";
  const std::vector<char> weights = read_bytes(base + ".pt");
  const std::vector<char> manifest = read_bytes(base + ".json");
  ASSERT_FALSE(weights.empty()) << base << ".pt is missing";
  ASSERT_FALSE(manifest.empty());
  echo_model_options options = sized<echo_model_options>();
  ASSERT_ECHO_OK(echo_model_options_init(&options, sizeof options));
  options.threads = 2;
  echo_model* from_memory = nullptr;
  ASSERT_ECHO_OK(echo_model_load_from_memory(weights.data(), weights.size(), manifest.data(), manifest.size(),
                                             &options, &from_memory));
  echo_model_info a = sized<echo_model_info>(), b = sized<echo_model_info>();
  ASSERT_ECHO_OK(echo_model_get_info(from_memory, &a));
  ASSERT_ECHO_OK(echo_model_get_info(model_, &b));
  EXPECT_EQ(std::string(a.weights_sha256), std::string(b.weights_sha256));
  echo_result* r1 = nullptr;
  ASSERT_ECHO_OK(echo_analyze_file(from_memory, phantom("a4c_ef35").c_str(), &r1));
  ResultGuard g1{r1};
  ResultGuard g2{analyze("a4c_ef35")};
  double ef1 = 0.0, ef2 = 0.0;
  ASSERT_ECHO_OK(echo_result_ef_percent(r1, &ef1));
  ASSERT_ECHO_OK(echo_result_ef_percent(g2.result, &ef2));
  EXPECT_EQ(ef1, ef2);
  // The result outlives its model.
  echo_model_destroy(from_memory);
  double again = 0.0;
  ASSERT_ECHO_OK(echo_result_ef_percent(r1, &again));
  EXPECT_EQ(again, ef1);

  // A manifest whose hash does not match the weights is refused.
  std::vector<char> tampered = weights;
  tampered[tampered.size() / 2] ^= 0x40;
  echo_model* bad = nullptr;
  EXPECT_EQ(echo_model_load_from_memory(tampered.data(), tampered.size(), manifest.data(), manifest.size(), &options, &bad),
            ECHO_MODEL_INVALID)
      << echo_last_error();
  EXPECT_EQ(bad, nullptr);
}

// The DICOM report (docs/pacs.md): objects in memory, bad arguments, a source that cannot be referenced.
TEST_F(CapiModel, DicomReportOfAPhantom) {
  ResultGuard g{analyze("a4c_ef55")};
  ASSERT_NE(g.result, nullptr);
  const std::vector<char> source = read_bytes(phantom("a4c_ef55"));
  echo_dicom_options options = sized<echo_dicom_options>();
  ASSERT_ECHO_OK(echo_dicom_options_init(&options, sizeof options));
  EXPECT_EQ(options.overlays, 1);
  options.source_data = source.data();
  options.source_size = source.size();
  echo_dicom_report* report = nullptr;
  ASSERT_ECHO_OK(echo_result_dicom_report(g.result, &options, &report));
  size_t count = 0;
  ASSERT_ECHO_OK(echo_dicom_report_count(report, &count));
  ASSERT_EQ(count, 4u);
  const char* kinds[] = {"sr", "ed_overlay", "es_overlay", "volume_curve"};
  for (size_t i = 0; i < count; ++i) {
    echo_dicom_object object = sized<echo_dicom_object>();
    ASSERT_ECHO_OK(echo_dicom_report_object(report, i, &object));
    EXPECT_STREQ(object.kind, kinds[i]);
    EXPECT_EQ(std::string(object.sop_instance_uid).rfind("2.25.", 0), 0u);
    ASSERT_GT(object.size, 132u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(object.data) + 128, 4), "DICM");
  }
  echo_dicom_object object = sized<echo_dicom_object>();
  EXPECT_EQ(echo_dicom_report_object(report, count, &object), ECHO_INVALID_ARGUMENT);
  EXPECT_EQ(echo_dicom_report_write(report, nullptr), ECHO_INVALID_ARGUMENT);
  echo_dicom_report_destroy(report);
  echo_dicom_report_destroy(nullptr);

  // Bad arguments leave the out-parameter untouched; a damaged source is refused, not half-reported.
  echo_dicom_report* untouched = nullptr;
  EXPECT_EQ(echo_result_dicom_report(nullptr, &options, &untouched), ECHO_INVALID_ARGUMENT);
  options.source_size = 0;
  EXPECT_EQ(echo_result_dicom_report(g.result, &options, &untouched), ECHO_INVALID_ARGUMENT);
  std::vector<char> damaged(source.begin(), source.begin() + 200);
  options.source_data = damaged.data();
  options.source_size = damaged.size();
  EXPECT_EQ(echo_result_dicom_report(g.result, &options, &untouched), ECHO_MALFORMED) << echo_last_error();
  EXPECT_EQ(untouched, nullptr);
  // Without a source (frames, video): a new study; overlays off: the SR only.
  ASSERT_ECHO_OK(echo_dicom_options_init(&options, sizeof options));
  options.overlays = 0;
  ASSERT_ECHO_OK(echo_result_dicom_report(g.result, &options, &report));
  ASSERT_ECHO_OK(echo_dicom_report_count(report, &count));
  EXPECT_EQ(count, 1u);
  echo_dicom_report_destroy(report);
}

}  // namespace
