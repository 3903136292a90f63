// The C ABI's models, cines, analyses and streaming sessions: each entry point checks its arguments,
// converts the C structs to the C++ API's values, and goes through the exception barrier (guarded).
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "echo/file_io.hpp"
#include "echo/io.hpp"
#include "echo/vlm.hpp"
#include "echo_capi_handles.hpp"
#include "echo_capi_internal.hpp"

namespace fs = std::filesystem;

namespace echo::capi {
namespace {

constexpr int kMaxFrameSide = 16384;  // larger than any ultrasound frame; beyond it a size is surely wrong

// --- enum conversions --------------------------------------------------------------------------------

Expected<Device> to_device(echo_device device) {
  switch (device) {
    case ECHO_DEVICE_AUTO: return Device::auto_select;
    case ECHO_DEVICE_CPU: return Device::cpu;
    case ECHO_DEVICE_CUDA: return Device::cuda;
    default: break;
  }
  return make_error(ErrorCode::invalid_argument, "options->device " + std::to_string(device) + " is not an echo_device");
}

Expected<Precision> to_precision(echo_precision precision) {
  switch (precision) {
    case ECHO_PRECISION_AUTO: return Precision::auto_select;
    case ECHO_PRECISION_FP32: return Precision::fp32;
    case ECHO_PRECISION_INT8: return Precision::int8;
    case ECHO_PRECISION_FP16: return Precision::fp16;
    default: break;
  }
  return make_error(ErrorCode::invalid_argument,
                    "options->precision " + std::to_string(precision) + " is not an echo_precision");
}

Expected<Sex> to_sex(echo_sex sex) {
  switch (sex) {
    case ECHO_SEX_UNKNOWN: return Sex::unknown;
    case ECHO_SEX_MALE: return Sex::male;
    case ECHO_SEX_FEMALE: return Sex::female;
    default: break;
  }
  return make_error(ErrorCode::invalid_argument, "options->sex " + std::to_string(sex) + " is not an echo_sex");
}

Expected<PixelFormat> to_pixel_format(echo_pixel_format format, const char* what) {
  switch (format) {
    case ECHO_PIXEL_GRAY8: return PixelFormat::gray8;
    case ECHO_PIXEL_GRAY16: return PixelFormat::gray16;
    case ECHO_PIXEL_RGB8: return PixelFormat::rgb8;
    case ECHO_PIXEL_BGR8: return PixelFormat::bgr8;
    case ECHO_PIXEL_RGBA8: return PixelFormat::rgba8;
    default: break;
  }
  return make_error(ErrorCode::invalid_argument,
                    std::string(what) + "->format " + std::to_string(format) + " is not an echo_pixel_format");
}

std::size_t bytes_per_pixel(PixelFormat format) {
  switch (format) {
    case PixelFormat::gray8: return 1;
    case PixelFormat::gray16: return 2;
    case PixelFormat::rgb8:
    case PixelFormat::bgr8: return 3;
    case PixelFormat::rgba8: return 4;
  }
  return 1;
}

// --- frames --------------------------------------------------------------------------------------------

// Checks the geometry of a borrowed frame layout: dims in range, stride that holds a row.
Expected<std::size_t> checked_row_stride(const char* what, PixelFormat format, int32_t width, int32_t height,
                                         std::size_t row_stride_bytes) {
  if (width < 1 || height < 1 || width > kMaxFrameSide || height > kMaxFrameSide) {
    return make_error(ErrorCode::invalid_argument, std::string(what) + ": frame size " + std::to_string(width) + "x" +
                                                       std::to_string(height) + " is impossible (each side 1.." +
                                                       std::to_string(kMaxFrameSide) + " pixels)");
  }
  const std::size_t packed = static_cast<std::size_t>(width) * bytes_per_pixel(format);
  const std::size_t stride = row_stride_bytes == 0 ? packed : row_stride_bytes;
  if (stride < packed) {
    return make_error(ErrorCode::invalid_argument, std::string(what) + ": row stride " + std::to_string(stride) +
                                                       " bytes is shorter than a row of " + std::to_string(packed) +
                                                       " bytes");
  }
  return stride;
}

Expected<int> checked_bits_stored(const char* what, PixelFormat format, int32_t bits) {
  if (format != PixelFormat::gray16) return 16;
  if (bits == 0) return 16;
  if (bits < 9 || bits > 16) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(what) + ": gray16_bits_stored " + std::to_string(bits) + " is not in 9..16");
  }
  return bits;
}

Calibration caller_calibration(double mm_per_px_x, double mm_per_px_y, int32_t trusted) {
  Calibration calibration;
  if (mm_per_px_x > 0.0 && mm_per_px_y > 0.0) {
    calibration.mm_per_px_x = mm_per_px_x;
    calibration.mm_per_px_y = mm_per_px_y;
    calibration.source = CalibrationSource::caller;
    calibration.trusted = trusted != 0;
    calibration.note = trusted != 0 ? "given by the caller" : "given by the caller, who did not vouch for it";
  }
  return calibration;
}

Expected<void> check_calibration(const char* what, double x, double y) {
  const bool finite = std::isfinite(x) && std::isfinite(y);
  if (!finite || x < 0.0 || y < 0.0 || (x > 0.0) != (y > 0.0) || x > 100.0 || y > 100.0) {
    return make_error(ErrorCode::invalid_argument, std::string(what) + ": mm_per_px " + std::to_string(x) + " x " +
                                                       std::to_string(y) +
                                                       " is impossible (both 0 for unknown, or both in (0, 100])");
  }
  return {};
}

Expected<Cine> cine_from_c_frames(const echo_frames& frames, const ReadOptions& read) {
  const char* what = "frames";
  auto format = to_pixel_format(frames.format, what);
  if (!format) return tl::unexpected(format.error());
  auto stride = checked_row_stride(what, *format, frames.width, frames.height, frames.row_stride_bytes);
  if (!stride) return tl::unexpected(stride.error());
  auto bits = checked_bits_stored(what, *format, frames.gray16_bits_stored);
  if (!bits) return tl::unexpected(bits.error());
  if (frames.frame_count < 1) {
    return make_error(ErrorCode::invalid_argument,
                      "frames: frame_count " + std::to_string(frames.frame_count) + " (at least 1 frame is needed)");
  }
  const std::uint64_t total_pixels = static_cast<std::uint64_t>(frames.frame_count) *
                                     static_cast<std::uint64_t>(frames.width) * static_cast<std::uint64_t>(frames.height);
  if (total_pixels > read.max_total_pixels) {
    return make_error(ErrorCode::too_large, "frames: " + std::to_string(frames.frame_count) + " frames of " +
                                                std::to_string(frames.width) + "x" + std::to_string(frames.height) +
                                                " exceed max_total_pixels " + std::to_string(read.max_total_pixels));
  }
  if (frames.frame_data == nullptr && frames.data == nullptr) {
    return make_error(ErrorCode::invalid_argument, "frames: both data and frame_data are NULL");
  }
  const std::size_t frame_stride =
      frames.frame_stride_bytes == 0 ? *stride * static_cast<std::size_t>(frames.height) : frames.frame_stride_bytes;
  const std::size_t last_row_bytes = static_cast<std::size_t>(frames.width) * bytes_per_pixel(*format);
  if (frames.frame_data == nullptr && frame_stride < *stride * static_cast<std::size_t>(frames.height - 1) + last_row_bytes) {
    return make_error(ErrorCode::invalid_argument, "frames: frame_stride_bytes " + std::to_string(frame_stride) +
                                                       " is shorter than one frame");
  }
  if (frames.frame_times_ms == nullptr && !(std::isfinite(frames.fps) && frames.fps > 0.0 && frames.fps <= 10000.0)) {
    return make_error(ErrorCode::invalid_argument,
                      "frames: no frame_times_ms and fps " + std::to_string(frames.fps) + " is not in (0, 10000]");
  }
  if (frames.frame_times_ms != nullptr) {
    for (int i = 0; i < frames.frame_count; ++i) {
      const double t = frames.frame_times_ms[i];
      if (!std::isfinite(t) || (i > 0 && t <= frames.frame_times_ms[i - 1])) {
        return make_error(ErrorCode::invalid_argument,
                          "frames: frame_times_ms[" + std::to_string(i) + "] is not finite or does not increase");
      }
    }
  }
  if (auto ok = check_calibration(what, frames.mm_per_px_x, frames.mm_per_px_y); !ok) return tl::unexpected(ok.error());

  std::vector<FrameView> views(static_cast<std::size_t>(frames.frame_count));
  for (int i = 0; i < frames.frame_count; ++i) {
    FrameView& view = views[static_cast<std::size_t>(i)];
    view.data = frames.frame_data != nullptr
                    ? frames.frame_data[i]
                    : static_cast<const std::uint8_t*>(frames.data) + frame_stride * static_cast<std::size_t>(i);
    if (view.data == nullptr) {
      return make_error(ErrorCode::invalid_argument, "frames: frame_data[" + std::to_string(i) + "] is NULL");
    }
    view.width = frames.width;
    view.height = frames.height;
    view.format = *format;
    view.row_stride_bytes = *stride;
  }
  auto cine = cine_from_frames(views.data(), frames.frame_count, frames.frame_times_ms, frames.fps,
                               caller_calibration(frames.mm_per_px_x, frames.mm_per_px_y, frames.calibration_trusted),
                               read, *bits);
  if (cine) cine->metadata.source_kind = "raw";
  return cine;
}

// --- model paths ------------------------------------------------------------------------------------------

// <prefix>/share/echoanalyzer/models beside the <prefix>/lib*/libechoanalyzer.so that runs this code, so
// that an installed (and relocated) library finds its own reference models. Empty when not installed.
fs::path installed_models_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&echo_version), &info) == 0 || info.dli_fname == nullptr) return {};
  std::error_code ec;
  const fs::path library = fs::weakly_canonical(fs::path(info.dli_fname), ec);
  if (ec) return {};
  const fs::path models = library.parent_path().parent_path() / "share" / "echoanalyzer" / "models";
  return fs::is_directory(models, ec) ? models : fs::path();
}

// The default file a C++ default path names, found in the installed models dir instead when the library is
// installed and the caller did not point ECHO_MODEL_DIR elsewhere. `tail_components` of the default path
// (the file, or vlm/vlm.json) are kept.
std::string resolve_default(const std::string& cpp_default, int tail_components) {
  if (std::getenv("ECHO_MODEL_DIR") != nullptr) return cpp_default;
  const fs::path installed = installed_models_dir();
  if (installed.empty()) return cpp_default;
  std::vector<fs::path> parts;
  for (const auto& part : fs::path(cpp_default)) parts.push_back(part);
  if (static_cast<int>(parts.size()) < tail_components) return cpp_default;
  fs::path candidate = installed;
  for (std::size_t i = parts.size() - static_cast<std::size_t>(tail_components); i < parts.size(); ++i) candidate /= parts[i];
  std::error_code ec;
  return fs::exists(candidate, ec) ? candidate.string() : cpp_default;
}

Expected<AnalyzerOptions> to_analyzer_options(const echo_model_options& in) {
  AnalyzerOptions options;
  auto device = to_device(in.device);
  if (!device) return tl::unexpected(device.error());
  auto precision = to_precision(in.precision);
  if (!precision) return tl::unexpected(precision.error());
  auto sex = to_sex(in.sex);
  if (!sex) return tl::unexpected(sex.error());
  if (in.threads < 0 || in.threads > 1024) {
    return make_error(ErrorCode::invalid_argument, "options->threads " + std::to_string(in.threads) + " is not in 0..1024");
  }
  if (in.batch_size < 0 || in.batch_size > 1024) {
    return make_error(ErrorCode::invalid_argument,
                      "options->batch_size " + std::to_string(in.batch_size) + " is not in 0..1024");
  }
  if (in.decode_threads < 0 || in.decode_threads > 1024) {
    return make_error(ErrorCode::invalid_argument,
                      "options->decode_threads " + std::to_string(in.decode_threads) + " is not in 0..1024");
  }
  if (in.vlm_language != ECHO_LANGUAGE_EN && in.vlm_language != ECHO_LANGUAGE_ZH) {
    return make_error(ErrorCode::invalid_argument,
                      "options->vlm_language " + std::to_string(in.vlm_language) + " is not an echo_language");
  }
  if (!std::isfinite(in.vlm_tolerance_points) || in.vlm_tolerance_points < 0.0) {
    return make_error(ErrorCode::invalid_argument, "options->vlm_tolerance_points must be finite and >= 0");
  }
  if (in.max_total_pixels == 0) {
    return make_error(ErrorCode::invalid_argument, "options->max_total_pixels is 0 (nothing could be read)");
  }
  options.engine.device = *device;
  options.engine.precision = *precision;
  options.engine.threads = in.threads;
  if (in.batch_size > 0) options.engine.max_batch = in.batch_size;
  options.sex = *sex;
  const Precision wanted = *precision == Precision::auto_select ? Precision::int8 : *precision;
  options.model_path = in.model_path != nullptr ? std::string(in.model_path) : resolve_default(default_model_path(wanted), 1);
  options.enable_vlm = in.enable_vlm != 0;
  options.vlm_model_path =
      in.vlm_model_path != nullptr ? std::string(in.vlm_model_path) : resolve_default(default_vlm_model_path(), 2);
  options.vlm.language = in.vlm_language == ECHO_LANGUAGE_EN ? AnswerLanguage::en : AnswerLanguage::zh;
  options.vlm.threads = in.threads;
  options.vlm.int8 = *precision != Precision::fp32 && *precision != Precision::fp16;
  options.vlm_tolerance_points = in.vlm_tolerance_points;
  options.lead_with_vlm = in.lead_with_vlm != 0;
  options.read.decode_threads = in.decode_threads;
  options.read.max_total_pixels = in.max_total_pixels;
  return options;
}

echo_status load_model(const char* function, const AnalyzerOptions& options, echo_model** out_model) {
  auto analyzer = EchoAnalyzer::create(options);
  if (!analyzer) return fail(analyzer.error());
  auto model = std::make_unique<echo_model>();
  model->analyzer = std::shared_ptr<const EchoAnalyzer>(std::move(*analyzer));
  model->info = model->analyzer->model_info();
  model->vlm_loaded = options.enable_vlm;
  *out_model = model.release();
  return ECHO_OK;
}

// A private scratch folder that is removed with everything in it when this object goes.
class ScratchDir {
 public:
  Expected<fs::path> create() {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string pattern = (base / "echoanalyzer-model-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return make_error(ErrorCode::io_failed, "echo_model_load_from_memory: cannot create a private folder in " +
                                                  base.string());
    }
    path_ = pattern;
    return path_;
  }
  ~ScratchDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }

 private:
  fs::path path_;
};

Expected<void> write_file(const fs::path& path, const void* data, std::size_t size) {
  // All or nothing, and a file-size limit fails the call instead of killing the host (echo/file_io.hpp).
  auto written = write_file_atomically(path.string(), data, size);
  if (!written) return make_error(written.error().code, "echo_model_load_from_memory: " + written.error().message);
  return {};
}

ReadOptions to_read_options(const echo_read_options& in) {
  ReadOptions read;
  read.decode_threads = in.decode_threads;
  read.max_total_pixels = in.max_total_pixels;
  read.max_color_frames = in.max_color_frames;
  return read;
}

Expected<void> check_read_options(const echo_read_options& in) {
  if (in.decode_threads < 0 || in.decode_threads > 1024) {
    return make_error(ErrorCode::invalid_argument, "options->decode_threads " + std::to_string(in.decode_threads) +
                                                       " is not in 0..1024");
  }
  if (in.max_color_frames < -1) {
    return make_error(ErrorCode::invalid_argument, "options->max_color_frames " + std::to_string(in.max_color_frames) +
                                                       " (-1 all, 0 none, or a count)");
  }
  if (in.max_total_pixels == 0) return make_error(ErrorCode::invalid_argument, "options->max_total_pixels is 0");
  return {};
}

echo_status store_cine(Expected<Cine> cine, echo_cine** out_cine) {
  if (!cine) return fail(cine.error());
  auto handle = std::make_unique<echo_cine>();
  handle->cine = std::move(*cine);
  *out_cine = handle.release();
  return ECHO_OK;
}

using Clock = std::chrono::steady_clock;

// Every analysis of the C ABI reads the cine itself (so that the result can keep the keyframes for its
// overlays) and then runs the same EchoAnalyzer::analyze as the C++ API.
echo_status analyze_and_store(const echo_model* model, const Cine& cine, double decode_ms, echo_result** out_result) {
  auto analysis = model->analyzer->analyze(cine);
  if (!analysis) return fail(analysis.error());
  analysis->timings.decode_ms = decode_ms;
  analysis->timings.total_ms += decode_ms;
  *out_result = make_result(std::move(*analysis), cine).release();
  return ECHO_OK;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

echo_status check_model_and_out(const char* function, const echo_model* model, echo_result** out_result) {
  if (model == nullptr) return null_argument(function, "model");
  if (out_result == nullptr) return null_argument(function, "out_result");
  return ECHO_OK;
}

// --- sessions ----------------------------------------------------------------------------------------------

void deliver_beat(echo_session& session, const BeatEvent& event, int64_t closing_frame) {
  echo_beat_event c_event{};
  c_event.struct_size = sizeof c_event;
  c_event.beat_index = event.beat_index;
  c_event.running_ef_mean = event.running_ef_mean;
  c_event.closing_frame_index = closing_frame;
  if (session.callback != nullptr) {
    const echo_beat c_beat = to_c_beat(event.beat);
    session.callback(&c_event, &c_beat, session.user_data);
    return;
  }
  if (session.options.max_queued_beats == 0) {
    ++session.dropped_beats;
    return;
  }
  while (session.queue.size() >= session.options.max_queued_beats) {
    session.queue.pop_front();
    ++session.dropped_beats;
  }
  session.queue.push_back(QueuedBeat{c_event, event.beat});
}

}  // namespace
}  // namespace echo::capi

using namespace echo::capi;

extern "C" {

// --- model -----------------------------------------------------------------------------------------------

ECHO_API echo_status echo_model_load(const echo_model_options* options, echo_model** out_model) {
  return guarded("echo_model_load", [&]() -> echo_status {
    if (out_model == nullptr) return null_argument("echo_model_load", "out_model");
    echo_model_options c_options{};
    if (auto s = read_input("echo_model_load", "options", options, default_model_options(), c_options); s != ECHO_OK) {
      return s;
    }
    auto analyzer_options = to_analyzer_options(c_options);
    if (!analyzer_options) {
      return fail(ECHO_INVALID_ARGUMENT, "echo_model_load: " + analyzer_options.error().message);
    }
    return load_model("echo_model_load", *analyzer_options, out_model);
  });
}

ECHO_API echo_status echo_model_load_from_memory(const void* model_data, size_t model_size, const void* manifest_data,
                                                 size_t manifest_size, const echo_model_options* options,
                                                 echo_model** out_model) {
  const char* function = "echo_model_load_from_memory";
  return guarded(function, [&]() -> echo_status {
    if (out_model == nullptr) return null_argument(function, "out_model");
    if (model_data == nullptr || model_size == 0) return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": the model buffer is NULL or empty");
    if (manifest_data == nullptr || manifest_size == 0) {
      return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": the manifest buffer is NULL or empty");
    }
    echo_model_options c_options{};
    if (auto s = read_input(function, "options", options, default_model_options(), c_options); s != ECHO_OK) return s;
    auto analyzer_options = to_analyzer_options(c_options);
    if (!analyzer_options) return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": " + analyzer_options.error().message);
    // LibTorch loads TorchScript from a path, and the engine checks the file's SHA-256 against the manifest
    // beside it: both go to a private folder (mode 0700) that is removed as soon as the model is loaded.
    ScratchDir scratch;
    auto dir = scratch.create();
    if (!dir) return fail(dir.error());
    const fs::path model_path = *dir / "model.pt";
    if (auto ok = write_file(model_path, model_data, model_size); !ok) return fail(ok.error());
    if (auto ok = write_file(*dir / "model.json", manifest_data, manifest_size); !ok) return fail(ok.error());
    analyzer_options->model_path = model_path.string();
    return load_model(function, *analyzer_options, out_model);
  });
}

ECHO_API void echo_model_destroy(echo_model* model) {
  guarded_void([&] { delete model; });
}

ECHO_API echo_status echo_model_get_info(const echo_model* model, echo_model_info* out_info) {
  const char* function = "echo_model_get_info";
  return guarded(function, [&]() -> echo_status {
    if (model == nullptr) return null_argument(function, "model");
    if (auto s = check_output(function, "out_info", out_info); s != ECHO_OK) return s;
    echo_model_info info{};
    info.struct_size = sizeof info;
    info.vlm_loaded = model->vlm_loaded ? 1 : 0;
    info.name = model->info.name.c_str();
    info.version = model->info.version.c_str();
    info.weights_sha256 = model->info.weights_sha256.c_str();
    info.precision = model->info.precision.c_str();
    info.device = model->info.device.c_str();
    info.validated_on_real_patients = model->info.validated_on_real_patients ? 1 : 0;
    write_output(out_info, info);
    return ECHO_OK;
  });
}

// --- cines -------------------------------------------------------------------------------------------------

ECHO_API echo_status echo_cine_load_file(const char* path, const echo_read_options* options, echo_cine** out_cine) {
  const char* function = "echo_cine_load_file";
  return guarded(function, [&]() -> echo_status {
    if (path == nullptr) return null_argument(function, "path");
    if (out_cine == nullptr) return null_argument(function, "out_cine");
    echo_read_options c_options{};
    if (auto s = read_input(function, "options", options, default_read_options(), c_options); s != ECHO_OK) return s;
    if (auto ok = check_read_options(c_options); !ok) return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": " + ok.error().message);
    return store_cine(echo::read_file(path, to_read_options(c_options)), out_cine);
  });
}

ECHO_API echo_status echo_cine_load_buffer(const void* data, size_t size, const echo_read_options* options,
                                           echo_cine** out_cine) {
  const char* function = "echo_cine_load_buffer";
  return guarded(function, [&]() -> echo_status {
    if (data == nullptr) return null_argument(function, "data");
    if (out_cine == nullptr) return null_argument(function, "out_cine");
    echo_read_options c_options{};
    if (auto s = read_input(function, "options", options, default_read_options(), c_options); s != ECHO_OK) return s;
    if (auto ok = check_read_options(c_options); !ok) return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": " + ok.error().message);
    return store_cine(echo::read_dicom_buffer(data, size, to_read_options(c_options)), out_cine);
  });
}

ECHO_API echo_status echo_cine_from_frames(const echo_frames* frames, echo_cine** out_cine) {
  const char* function = "echo_cine_from_frames";
  return guarded(function, [&]() -> echo_status {
    if (frames == nullptr) return null_argument(function, "frames");
    if (out_cine == nullptr) return null_argument(function, "out_cine");
    echo_frames c_frames{};
    if (auto s = read_input(function, "frames", frames, default_frames(), c_frames); s != ECHO_OK) return s;
    auto cine = cine_from_c_frames(c_frames, echo::ReadOptions{});
    if (!cine) return fail(to_status(cine.error().code), std::string(function) + ": " + cine.error().message);
    return store_cine(std::move(cine), out_cine);
  });
}

ECHO_API void echo_cine_destroy(echo_cine* cine) {
  guarded_void([&] { delete cine; });
}

ECHO_API echo_status echo_cine_get_info(const echo_cine* cine, echo_cine_info* out_info) {
  const char* function = "echo_cine_get_info";
  return guarded(function, [&]() -> echo_status {
    if (cine == nullptr) return null_argument(function, "cine");
    if (auto s = check_output(function, "out_info", out_info); s != ECHO_OK) return s;
    const echo::Cine& c = cine->cine;
    echo_cine_info info{};
    info.struct_size = sizeof info;
    info.rows = c.rows;
    info.cols = c.cols;
    info.frame_count = c.frame_count();
    info.fps = c.fps();
    info.duration_ms = c.duration_ms();
    info.mm_per_px_x = c.calibration.mm_per_px_x;
    info.mm_per_px_y = c.calibration.mm_per_px_y;
    info.calibration_trusted = c.calibration.trusted ? 1 : 0;
    info.calibration_source = static_cast<int32_t>(c.calibration.source);
    info.heart_rate_bpm = c.metadata.heart_rate_bpm;
    info.bits_stored = c.metadata.bits_stored;
    info.color_frame_count = static_cast<int32_t>(c.color.size());
    info.source_kind = c.metadata.source_kind.c_str();
    info.transfer_syntax = c.metadata.transfer_syntax.c_str();
    info.photometric = c.metadata.photometric.c_str();
    info.manufacturer = c.metadata.manufacturer.c_str();
    info.model_name = c.metadata.model_name.c_str();
    info.timing_source = c.metadata.timing_source.c_str();
    info.view_hint = c.metadata.view_hint.c_str();
    write_output(out_info, info);
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_cine_frame_times(const echo_cine* cine, double* out_times, size_t capacity,
                                           size_t* out_count) {
  const char* function = "echo_cine_frame_times";
  return guarded(function, [&]() -> echo_status {
    if (cine == nullptr) return null_argument(function, "cine");
    const auto& times = cine->cine.frame_times_ms;
    return copy_out(function, times.data(), times.size(), out_times, capacity, out_count);
  });
}

ECHO_API echo_status echo_cine_frame_gray8(const echo_cine* cine, int32_t index, uint8_t* out_pixels, size_t capacity,
                                           size_t* out_size) {
  const char* function = "echo_cine_frame_gray8";
  return guarded(function, [&]() -> echo_status {
    if (cine == nullptr) return null_argument(function, "cine");
    const echo::Cine& c = cine->cine;
    if (index < 0 || index >= c.frame_count()) {
      return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": frame " + std::to_string(index) + " is not in 0.." +
                                             std::to_string(c.frame_count() - 1));
    }
    return copy_out(function, c.frame(index), c.frame_bytes(), out_pixels, capacity, out_size);
  });
}

// --- analysis ----------------------------------------------------------------------------------------------

ECHO_API echo_status echo_analyze_file(const echo_model* model, const char* path, echo_result** out_result) {
  const char* function = "echo_analyze_file";
  return guarded(function, [&]() -> echo_status {
    if (auto s = check_model_and_out(function, model, out_result); s != ECHO_OK) return s;
    if (path == nullptr) return null_argument(function, "path");
    const auto start = Clock::now();
    auto cine = echo::read_file(path, model->analyzer->options().read);
    if (!cine) return fail(cine.error());
    return analyze_and_store(model, *cine, ms_since(start), out_result);
  });
}

ECHO_API echo_status echo_analyze_buffer(const echo_model* model, const void* data, size_t size,
                                         echo_result** out_result) {
  const char* function = "echo_analyze_buffer";
  return guarded(function, [&]() -> echo_status {
    if (auto s = check_model_and_out(function, model, out_result); s != ECHO_OK) return s;
    if (data == nullptr) return null_argument(function, "data");
    const auto start = Clock::now();
    auto cine = echo::read_dicom_buffer(data, size, model->analyzer->options().read);
    if (!cine) return fail(cine.error());
    return analyze_and_store(model, *cine, ms_since(start), out_result);
  });
}

ECHO_API echo_status echo_analyze_frames(const echo_model* model, const echo_frames* frames, echo_result** out_result) {
  const char* function = "echo_analyze_frames";
  return guarded(function, [&]() -> echo_status {
    if (auto s = check_model_and_out(function, model, out_result); s != ECHO_OK) return s;
    if (frames == nullptr) return null_argument(function, "frames");
    echo_frames c_frames{};
    if (auto s = read_input(function, "frames", frames, default_frames(), c_frames); s != ECHO_OK) return s;
    const auto start = Clock::now();
    auto cine = cine_from_c_frames(c_frames, model->analyzer->options().read);
    if (!cine) return fail(to_status(cine.error().code), std::string(function) + ": " + cine.error().message);
    return analyze_and_store(model, *cine, ms_since(start), out_result);
  });
}

ECHO_API echo_status echo_analyze_cine(const echo_model* model, const echo_cine* cine, echo_result** out_result) {
  const char* function = "echo_analyze_cine";
  return guarded(function, [&]() -> echo_status {
    if (auto s = check_model_and_out(function, model, out_result); s != ECHO_OK) return s;
    if (cine == nullptr) return null_argument(function, "cine");
    return analyze_and_store(model, cine->cine, 0.0, out_result);
  });
}

ECHO_API echo_status echo_analyze_biplane(const echo_model* model, const echo_cine* a4c, const echo_cine* a2c,
                                          echo_result** out_result) {
  const char* function = "echo_analyze_biplane";
  return guarded(function, [&]() -> echo_status {
    if (auto s = check_model_and_out(function, model, out_result); s != ECHO_OK) return s;
    if (a4c == nullptr) return null_argument(function, "a4c");
    if (a2c == nullptr) return null_argument(function, "a2c");
    auto analysis = model->analyzer->analyze_biplane(a4c->cine, a2c->cine);
    if (!analysis) return fail(analysis.error());
    *out_result = make_result(std::move(*analysis), a4c->cine).release();
    return ECHO_OK;
  });
}

// --- sessions ----------------------------------------------------------------------------------------------

ECHO_API echo_status echo_session_create(const echo_model* model, const echo_session_options* options,
                                         echo_session** out_session) {
  const char* function = "echo_session_create";
  return guarded(function, [&]() -> echo_status {
    if (model == nullptr) return null_argument(function, "model");
    if (out_session == nullptr) return null_argument(function, "out_session");
    echo_session_options c_options{};
    if (auto s = read_input(function, "options", options, default_session_options(), c_options); s != ECHO_OK) return s;
    if (c_options.window_frames < 0 || c_options.window_frames > 1'000'000) {
      return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": options->window_frames " +
                                             std::to_string(c_options.window_frames) + " is not in 0..1000000");
    }
    if (auto ok = check_calibration("options", c_options.mm_per_px_x, c_options.mm_per_px_y); !ok) {
      return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": " + ok.error().message);
    }
    if (auto bits = checked_bits_stored("options", echo::PixelFormat::gray16, c_options.gray16_bits_stored); !bits) {
      return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": " + bits.error().message);
    }
    echo::SessionOptions session_options;
    session_options.calibration =
        caller_calibration(c_options.mm_per_px_x, c_options.mm_per_px_y, c_options.calibration_trusted);
    session_options.window_frames = c_options.window_frames;
    auto session = model->analyzer->create_session(session_options);
    if (!session) return fail(session.error());
    auto handle = std::make_unique<echo_session>();
    handle->analyzer = model->analyzer;
    handle->session = std::move(*session);
    handle->options = c_options;
    *out_session = handle.release();
    return ECHO_OK;
  });
}

ECHO_API void echo_session_destroy(echo_session* session) {
  guarded_void([&] { delete session; });
}

ECHO_API echo_status echo_session_set_beat_callback(echo_session* session, echo_beat_callback callback,
                                                    void* user_data) {
  const char* function = "echo_session_set_beat_callback";
  return guarded(function, [&]() -> echo_status {
    if (session == nullptr) return null_argument(function, "session");
    session->callback = callback;
    session->user_data = user_data;
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_session_push_frame(echo_session* session, const echo_frame* frame, double time_ms,
                                             echo_frame_result* out_frame_result) {
  const char* function = "echo_session_push_frame";
  return guarded(function, [&]() -> echo_status {
    if (session == nullptr) return null_argument(function, "session");
    if (frame == nullptr) return null_argument(function, "frame");
    if (out_frame_result != nullptr) {
      if (auto s = check_output(function, "out_frame_result", out_frame_result); s != ECHO_OK) return s;
    }
    echo_frame c_frame{};
    if (auto s = read_input(function, "frame", frame, default_frame(), c_frame); s != ECHO_OK) return s;
    auto format = to_pixel_format(c_frame.format, "frame");
    if (!format) return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": " + format.error().message);
    auto stride = checked_row_stride("frame", *format, c_frame.width, c_frame.height, c_frame.row_stride_bytes);
    if (!stride) return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": " + stride.error().message);
    if (c_frame.data == nullptr) return null_argument(function, "frame->data");
    if (!std::isfinite(time_ms)) return fail(ECHO_INVALID_ARGUMENT, std::string(function) + ": time_ms is not finite");

    echo::FrameView view;
    view.data = c_frame.data;
    view.width = c_frame.width;
    view.height = c_frame.height;
    view.format = *format;
    view.row_stride_bytes = *stride;
    // GRAY16 with fewer significant bits is scaled here, where the session's bits_stored is known.
    echo::Image8 gray16_as_gray8;
    if (*format == echo::PixelFormat::gray16) {
      const int bits = session->options.gray16_bits_stored == 0 ? 16 : session->options.gray16_bits_stored;
      auto gray = echo::frame_to_gray8(view, bits);
      if (!gray) return fail(gray.error());
      gray16_as_gray8 = std::move(*gray);
      view.data = gray16_as_gray8.pixels.data();
      view.format = echo::PixelFormat::gray8;
      view.row_stride_bytes = static_cast<std::size_t>(gray16_as_gray8.width);
    }
    auto frame_result = session->session->push_frame(view, time_ms);
    if (!frame_result) return fail(frame_result.error());
    session->last_contour = frame_result->lv_contour_px;
    if (out_frame_result != nullptr) {
      echo_frame_result out{};
      out.struct_size = sizeof out;
      out.frame_index = frame_result->frame_index;
      out.time_ms = frame_result->time_ms;
      out.lv_area_mm2 = frame_result->lv_area_mm2;
      out.quality_score = frame_result->quality_score;
      out.beat_completed = frame_result->beat_completed ? 1 : 0;
      out.contour_point_count = static_cast<uint64_t>(frame_result->lv_contour_px.size());
      write_output(out_frame_result, out);
    }
    for (const echo::BeatEvent& event : session->session->take_beats()) {
      deliver_beat(*session, event, frame_result->frame_index);
    }
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_session_poll_beat(echo_session* session, echo_beat_event* out_event, echo_beat* out_beat) {
  const char* function = "echo_session_poll_beat";
  return guarded(function, [&]() -> echo_status {
    if (session == nullptr) return null_argument(function, "session");
    if (auto s = check_output(function, "out_event", out_event); s != ECHO_OK) return s;
    if (auto s = check_output(function, "out_beat", out_beat); s != ECHO_OK) return s;
    if (session->queue.empty()) return fail(ECHO_NO_RESULT, std::string(function) + ": no beat event is waiting");
    QueuedBeat queued = std::move(session->queue.front());
    session->queue.pop_front();
    session->polled_exclusion_reason = queued.beat.exclusion_reason;
    queued.beat.exclusion_reason.clear();
    echo_beat beat = to_c_beat(queued.beat);
    beat.exclusion_reason = session->polled_exclusion_reason.c_str();
    write_output(out_event, queued.event);
    write_output(out_beat, beat);
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_session_last_contour(const echo_session* session, double* out_xy, size_t capacity,
                                               size_t* out_point_count) {
  const char* function = "echo_session_last_contour";
  return guarded(function, [&]() -> echo_status {
    if (session == nullptr) return null_argument(function, "session");
    static_assert(sizeof(echo::Point2) == 2 * sizeof(double), "Point2 is two packed doubles");
    const auto& contour = session->last_contour;
    if (out_point_count == nullptr) return null_argument(function, "out_point_count");
    if (out_xy != nullptr && capacity / 2 < contour.size()) {
      *out_point_count = contour.size();
      return fail(ECHO_BUFFER_TOO_SMALL, std::string(function) + ": the buffer holds " + std::to_string(capacity) +
                                             " doubles, " + std::to_string(2 * contour.size()) + " are needed");
    }
    if (out_xy != nullptr) {
      for (std::size_t i = 0; i < contour.size(); ++i) {
        out_xy[2 * i] = contour[i].x;
        out_xy[2 * i + 1] = contour[i].y;
      }
    }
    *out_point_count = contour.size();
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_session_frames_pushed(const echo_session* session, int64_t* out_count) {
  const char* function = "echo_session_frames_pushed";
  return guarded(function, [&]() -> echo_status {
    if (session == nullptr) return null_argument(function, "session");
    if (out_count == nullptr) return null_argument(function, "out_count");
    *out_count = session->session->frames_pushed();
    return ECHO_OK;
  });
}

ECHO_API echo_status echo_session_dropped_beats(const echo_session* session, uint64_t* out_count) {
  const char* function = "echo_session_dropped_beats";
  return guarded(function, [&]() -> echo_status {
    if (session == nullptr) return null_argument(function, "session");
    if (out_count == nullptr) return null_argument(function, "out_count");
    *out_count = session->dropped_beats;
    return ECHO_OK;
  });
}

}  // extern "C"
